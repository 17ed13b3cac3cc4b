"""Lead Engine's own Prometheus metrics (django-prometheus keeps the default registry).

/metrics serves both. Several processes (daphne workers, Celery pool processes) aggregate
through prometheus_client's multiprocess mode: set PROMETHEUS_MULTIPROC_DIR to an empty,
writable directory shared by the processes of one machine (the Procfile does), and /metrics
reports the sum over every process, workers included.
"""

import glob
import os

from prometheus_client import REGISTRY as DEFAULT_REGISTRY
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

REGISTRY = CollectorRegistry(auto_describe=True)
# Collectors read at scrape time (queue depths, backlogs, replica lag): apps above core register
# them here from their AppConfig.ready(). They run in the process serving /metrics, in either mode
# (multiprocess mode merges only the processes' files, so they could not live in REGISTRY).
SCRAPE_REGISTRY = CollectorRegistry(auto_describe=False)

TASK_DURATION = Histogram(
    "leadengine_task_duration_seconds",
    "Pipeline task run time",
    ["task", "outcome"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
DEAD_LETTERS = Counter("leadengine_dead_letters_total", "Tasks dead-lettered", ["task"], registry=REGISTRY)
RATE_LIMITED = Counter(
    "leadengine_rate_limited_total", "Requests refused by a rate limit", ["scope"], registry=REGISTRY
)
WEBSOCKETS = Gauge(
    "leadengine_websocket_connections", "Open live sockets", registry=REGISTRY, multiprocess_mode="livesum"
)
LIVE_DROPPED = Counter(
    "leadengine_live_dropped_total", "Live messages dropped for a socket that fell too far behind", registry=REGISTRY
)
API_KEY_AUTH = Counter("leadengine_api_key_auth_total", "API key authentications", ["outcome"], registry=REGISTRY)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class _Collector(multiprocess.MultiProcessCollector):
    """prometheus_client's merge of the processes' files, skipping empty ones: a process creates its
    file before sizing it, and a scrape in that instant (or after a worker killed in it) would fail
    whole on the 0-byte file (prometheus/client_python#1199, open upstream)."""

    def collect(self):
        return self.merge([f for f in glob.glob(os.path.join(self._path, "*.db")) if _size(f) > 0], accumulate=True)


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:  # the process exited and its live gauges' file went meanwhile
        return 0


def exposition(directory: str | None = None) -> bytes:
    """The text served at /metrics: every process's metrics in multiprocess mode, else ours; then
    the scrape-time collectors'."""
    directory = directory or multiprocess_dir()
    if directory:
        registry = CollectorRegistry()
        _Collector(registry, path=directory)
        return generate_latest(registry) + generate_latest(SCRAPE_REGISTRY)
    return generate_latest(DEFAULT_REGISTRY) + generate_latest(REGISTRY) + generate_latest(SCRAPE_REGISTRY)


def process_exited(pid: int) -> None:
    if multiprocess_dir():
        multiprocess.mark_process_dead(pid)
