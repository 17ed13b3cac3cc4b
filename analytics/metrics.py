"""Metrics read at scrape time from the systems that hold them, for the alert rules
(analytics/monitoring/prometheus/rules.yml) and the Grafana dashboard:

- ``leadengine_queue_depth{queue}``: messages waiting in each Celery queue (the broker's Redis lists);
- ``leadengine_dead_letters_waiting{queue}``: dead letters neither replayed nor discarded;
- ``leadengine_chain_oldest_pending_transaction_seconds{signer}``: age of each signer's oldest
  transaction not yet final (pending or sent), 0 when it has none;
- ``leadengine_replica_lag_seconds{alias}``: how far each read replica's replay is behind;
- ``leadengine_task_queue_info{task,queue}``: the routing table, to chart task durations per queue;
- ``leadengine_metrics_source_up{source}``: 1 when a source above was read, 0 when it failed.

Each source is read in its own guard: one that fails (Redis down, replica unreachable) is left
out and reported 0 in ``leadengine_metrics_source_up``; /metrics itself never fails for it. A
scrape costs one Redis round trip and a few indexed queries (grouped counts over the backlog only).
"""

import logging
import threading
import time
from collections.abc import Callable, Iterable

import redis
from django.conf import settings
from django.db import connections
from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric

from chain.models import ChainTransaction, Signer
from config import db_router
from config.queues import CELERY_TASK_QUEUES, TASK_ROUTES
from core.choices import DeadLetterStatus
from core.metrics import SCRAPE_REGISTRY
from core.models import DeadLetter

logger = logging.getLogger(__name__)

QUEUES = tuple(queue.name for queue in CELERY_TASK_QUEUES)
# kombu's Redis transport keeps a queue's messages in one list per priority step: the queue's
# name for priority 0, "<queue>\x06\x16<step>" for the others (kombu.transport.redis).
_PRIORITY_SEP = "\x06\x16"
_PRIORITY_STEPS = (0, 3, 6, 9)
LIVE_TRANSACTIONS = (ChainTransaction.Status.PENDING, ChainTransaction.Status.SENT)
# A scrape must answer within Prometheus's scrape timeout even when Redis does not.
_REDIS_TIMEOUT_SECONDS = 1.0

# The replica's replay delay: how old the last replayed commit is, but 0 when the replica has
# replayed all it received (an idle primary sends nothing, and its last commit ages without lag).
_REPLICA_LAG_SQL = """
SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN 0
    WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
    ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)
END
"""

_clients: dict[str, redis.Redis] = {}
_clients_lock = threading.Lock()


def _broker_client(url: str) -> redis.Redis:
    """One client (and connection pool) per broker URL per process, with short timeouts."""
    with _clients_lock:
        client = _clients.get(url)
        if client is None:
            client = redis.Redis.from_url(
                url, socket_timeout=_REDIS_TIMEOUT_SECONDS, socket_connect_timeout=_REDIS_TIMEOUT_SECONDS
            )
            _clients[url] = client
        return client


def redis_broker_url() -> str | None:
    """The broker URL when it is Redis (the first of a failover list); None for other brokers."""
    url = (settings.CELERY_BROKER_URL or "").split(";")[0].strip()
    return url if url.startswith(("redis://", "rediss://", "unix://")) else None


def queue_depths() -> dict[str, int]:
    """Messages waiting in each Celery queue on the Redis broker (every priority list summed);
    messages a worker has taken (reserved, or held for an ETA) are not counted."""
    url = redis_broker_url()
    prefix = (getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None) or {}).get("global_keyprefix", "")
    with _broker_client(url).pipeline(transaction=False) as pipe:
        for queue in QUEUES:
            for step in _PRIORITY_STEPS:
                pipe.llen(f"{prefix}{queue}{_PRIORITY_SEP}{step}" if step else f"{prefix}{queue}")
        lengths = pipe.execute()
    steps = len(_PRIORITY_STEPS)
    return {queue: sum(lengths[i * steps : (i + 1) * steps]) for i, queue in enumerate(QUEUES)}


def dead_letters_waiting() -> dict[str, int]:
    """Dead letters per queue still waiting for staff (pending), every known queue included."""
    with db_router.primary():
        rows = (
            DeadLetter.objects.filter(status=DeadLetterStatus.PENDING)
            .values_list("queue")
            .annotate(n=Count("id"))
            .order_by()
        )
        return {**dict.fromkeys(QUEUES, 0), **dict(rows)}


def chain_oldest_pending_seconds() -> dict[str, float]:
    """Per signer, the age in seconds of its oldest transaction not yet final; 0 for an active
    signer with none."""
    now = timezone.now()
    with db_router.primary():
        ages = dict.fromkeys(Signer.objects.filter(active=True).values_list("address", flat=True), 0.0)
        oldest = (
            ChainTransaction.objects.filter(status__in=LIVE_TRANSACTIONS)
            .values_list("signer__address")
            .annotate(oldest=Min("created_at"))
            .order_by()
        )
        for address, created_at in oldest:
            ages[address or "none"] = max((now - created_at).total_seconds(), 0.0)
    return ages


def replica_lag_seconds(alias: str) -> float:
    with connections[alias].cursor() as cursor:
        cursor.execute(_REPLICA_LAG_SQL)
        return float(cursor.fetchone()[0])


class ScrapeTimeCollector:
    """The collector registered on core.metrics.SCRAPE_REGISTRY (see the module docstring)."""

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily(
            "leadengine_metrics_source_up", "Whether a scrape-time metrics source could be read", labels=["source"]
        )
        for source, read in self._sources():
            started = time.perf_counter()
            try:
                family = read()
            except Exception:  # noqa: BLE001 - any failure of one source must leave the others and /metrics
                logger.warning(
                    "metrics source failed",
                    extra={"source": source, "seconds": round(time.perf_counter() - started, 3)},
                    exc_info=True,
                )
                up.add_metric([source], 0)
                continue
            up.add_metric([source], 1)
            yield family
        yield self._task_queues()
        yield up

    def _sources(self) -> list[tuple[str, Callable[[], Metric]]]:
        sources: list[tuple[str, Callable[[], Metric]]] = []
        if redis_broker_url():  # the embedded profile's in-memory broker has nothing to read
            sources.append(("broker", self._queue_depth))
        sources.append(("dead_letters", self._dead_letters))
        sources.append(("chain_transactions", self._chain_transactions))
        for alias in settings.DATABASE_READ_REPLICAS:
            sources.append((f"database:{alias}", lambda alias=alias: self._replica_lag(alias)))
        return sources

    @staticmethod
    def _queue_depth() -> Metric:
        family = GaugeMetricFamily(
            "leadengine_queue_depth", "Messages waiting in a Celery queue on the broker", labels=["queue"]
        )
        for queue, depth in queue_depths().items():
            family.add_metric([queue], depth)
        return family

    @staticmethod
    def _dead_letters() -> Metric:
        family = GaugeMetricFamily(
            "leadengine_dead_letters_waiting", "Dead letters neither replayed nor discarded", labels=["queue"]
        )
        for queue, count in dead_letters_waiting().items():
            family.add_metric([queue], count)
        return family

    @staticmethod
    def _chain_transactions() -> Metric:
        family = GaugeMetricFamily(
            "leadengine_chain_oldest_pending_transaction_seconds",
            "Age of a signer's oldest chain transaction not yet final (pending or sent)",
            labels=["signer"],
        )
        for signer, age in chain_oldest_pending_seconds().items():
            family.add_metric([signer], age)
        return family

    @staticmethod
    def _replica_lag(alias: str) -> Metric:
        family = GaugeMetricFamily(
            "leadengine_replica_lag_seconds", "How far a read replica's replay is behind", labels=["alias"]
        )
        family.add_metric([alias], replica_lag_seconds(alias))
        return family

    @staticmethod
    def _task_queues() -> Metric:
        family = GaugeMetricFamily(
            "leadengine_task_queue_info", "The queue each task is routed to (always 1)", labels=["task", "queue"]
        )
        for task, queue in sorted(TASK_ROUTES.items()):
            family.add_metric([task, queue], 1)
        return family


_registered = False
_register_lock = threading.Lock()


def register() -> None:
    """Register the scrape-time collector once per process (AnalyticsConfig.ready)."""
    global _registered
    with _register_lock:
        if not _registered:
            SCRAPE_REGISTRY.register(ScrapeTimeCollector())
            _registered = True
