from prometheus_client import Gauge

from core.metrics import REGISTRY

PENDING_TRANSACTIONS = Gauge(
    "leadengine_chain_pending_transactions",
    "Chain transactions not yet final (pending or sent), per signer",
    ["signer"],
    registry=REGISTRY,
    # Set by whichever worker process ran the last poll/reconcile: the latest value is the truth
    # (the default, one series per process, kept an old process's figure next to the new one).
    multiprocess_mode="mostrecent",
)
