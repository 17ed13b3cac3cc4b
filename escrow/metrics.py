from prometheus_client import Counter, Gauge, Histogram

from core.metrics import REGISTRY

ESCROW_FUNDING_SECONDS = Histogram(
    "leadengine_escrow_funding_seconds",
    "Sale recorded to its escrow deal confirmed on chain",
    registry=REGISTRY,
    buckets=(1, 2, 5, 10, 20, 30, 60, 120, 300, 900, 3600),
)
MINT_CONFIRMATION_SECONDS = Histogram(
    "leadengine_mint_confirmation_seconds",
    "LeadNFT mint batch sent to confirmed",
    registry=REGISTRY,
    buckets=(1, 2, 5, 10, 20, 30, 60, 120, 300, 900),
)
MINT_GAS_PER_TOKEN = Histogram(
    "leadengine_mint_gas_per_token",
    "Gas used by a mint batch divided by its size",
    registry=REGISTRY,
    buckets=(20_000, 25_000, 30_000, 35_000, 40_000, 50_000, 60_000, 80_000, 120_000),
)
MINT_BATCH_SIZE = Histogram(
    "leadengine_mint_batch_size",
    "Sales per LeadNFT mint batch",
    registry=REGISTRY,
    buckets=(1, 2, 5, 10, 20, 30, 40, 50),
)
SETTLEMENTS = Counter(
    "leadengine_settlements_total", "Settlement state changes, by new state", ["state"], registry=REGISTRY
)
RECONCILIATION_DIFFERENCES = Gauge(
    "leadengine_reconciliation_open_differences",
    "Open differences between the books and the chain, by kind",
    ["kind"],
    registry=REGISTRY,
    # Set by whichever worker process ran the last poll/reconcile: the latest value is the truth
    # (the default, one series per process, kept an old process's figure next to the new one).
    multiprocess_mode="mostrecent",
)
DISPUTES_OPENED = Counter(
    "leadengine_disputes_opened_total", "Disputes opened, by reason", ["reason"], registry=REGISTRY
)
DISPUTES_DECIDED = Counter(
    "leadengine_disputes_decided_total",
    "Disputes decided, by outcome and decider",
    ["outcome", "decider"],
    registry=REGISTRY,
)
DISPUTE_DECISION_SECONDS = Histogram(
    "leadengine_dispute_decision_seconds",
    "Dispute opened to decided",
    registry=REGISTRY,
    buckets=(60, 600, 3600, 6 * 3600, 24 * 3600, 48 * 3600, 72 * 3600, 7 * 24 * 3600),
)
