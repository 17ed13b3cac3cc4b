"""Lead Engine's own Prometheus registry (django-prometheus keeps the default one).

/metrics serves both. Celery workers are separate processes: their task metrics are
exported by each worker's own registry when PROMETHEUS_WORKER_PORT is set.
"""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

TASK_DURATION = Histogram(
    "leadengine_task_duration_seconds", "Pipeline task run time", ["task", "outcome"], registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
DEAD_LETTERS = Counter("leadengine_dead_letters_total", "Tasks dead-lettered", ["task"], registry=REGISTRY)
RATE_LIMITED = Counter("leadengine_rate_limited_total", "Requests refused by a rate limit", ["scope"], registry=REGISTRY)
WEBSOCKETS = Gauge("leadengine_websocket_connections", "Open live sockets in this process", registry=REGISTRY)
API_KEY_AUTH = Counter("leadengine_api_key_auth_total", "API key authentications", ["outcome"], registry=REGISTRY)
