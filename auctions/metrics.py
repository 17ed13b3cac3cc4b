from prometheus_client import Counter, Histogram

from core.metrics import REGISTRY

CLOSE_LATENESS = Histogram(
    "leadengine_auction_close_lateness_seconds",
    "Actual close minus the deadline",
    registry=REGISTRY,
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)
AUCTIONS_CLOSED = Counter(
    "leadengine_auctions_closed_total", "Auctions closed, by result", ["result"], registry=REGISTRY
)
