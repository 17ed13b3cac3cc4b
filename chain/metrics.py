from prometheus_client import Gauge

from core.metrics import REGISTRY

PENDING_TRANSACTIONS = Gauge(
    "leadengine_chain_pending_transactions",
    "Chain transactions not yet final (pending or sent), per signer",
    ["signer"],
    registry=REGISTRY,
)
