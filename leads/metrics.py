from prometheus_client import Counter, Histogram

from core.metrics import REGISTRY

SCORING_SECONDS = Histogram(
    "leadengine_lead_scoring_seconds",
    "Time to score one lead",
    registry=REGISTRY,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
LEADS_INGESTED = Counter(
    "leadengine_leads_ingested_total", "Lead submissions by outcome", ["source", "outcome"], registry=REGISTRY
)
