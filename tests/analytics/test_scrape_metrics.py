"""The metrics read at scrape time (analytics/metrics.py), against the real broker Redis,
PostgreSQL and the streaming replica."""

from datetime import timedelta

import pytest
import redis as redis_lib
from django.db import connections

from analytics import metrics as scrape_metrics
from chain.models import ChainTransaction
from config.queues import TASK_ROUTES
from core.choices import DeadLetterStatus
from core.metrics import exposition
from tests.analytics.conftest import chain_tx, dead_letter, sample, scrape, signer
from tests.conftest import wait_for

pytestmark = pytest.mark.django_db

# kombu's Redis transport: priority 0 in the queue's own list, the others in "<queue>\x06\x16<n>".
PRIORITY_SEP = "\x06\x16"


@pytest.fixture
def spare_broker(settings):
    """The suite's spare Redis database as the broker: no worker reads it."""
    settings.CELERY_BROKER_URL = settings.TEST_SPARE_REDIS_URL
    client = redis_lib.Redis.from_url(settings.TEST_SPARE_REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()


def test_messages_waiting_in_a_broker_queue_show_as_its_depth(client, spare_broker):
    spare_broker.rpush("leads.score", "m1", "m2", "m3")
    spare_broker.rpush(f"leads.score{PRIORITY_SEP}6", "urgent")  # a message published with priority 6
    spare_broker.rpush("auctions.close", "m")

    samples = scrape(client)

    assert sample(samples, "leadengine_queue_depth", queue="leads.score") == 4
    assert sample(samples, "leadengine_queue_depth", queue="auctions.close") == 1
    assert sample(samples, "leadengine_queue_depth", queue="chain.tx") == 0
    assert sample(samples, "leadengine_metrics_source_up", source="broker") == 1


def test_a_queue_drained_by_a_worker_shows_depth_zero_again(client, spare_broker):
    spare_broker.rpush("notify", "m1", "m2")
    assert sample(scrape(client), "leadengine_queue_depth", queue="notify") == 2
    spare_broker.lpop("notify", 2)
    assert sample(scrape(client), "leadengine_queue_depth", queue="notify") == 0


def test_dead_letters_waiting_count_pending_ones_per_queue(client):
    dead_letter(queue="chain.tx")
    dead_letter(queue="chain.tx")
    dead_letter(queue="chain.tx", status=DeadLetterStatus.REPLAYED)
    dead_letter(queue="notify", status=DeadLetterStatus.DISCARDED)

    samples = scrape(client)

    assert sample(samples, "leadengine_dead_letters_waiting", queue="chain.tx") == 2
    # Every queue is reported, with none waiting too: a first dead letter is growth from 0.
    assert sample(samples, "leadengine_dead_letters_waiting", queue="notify") == 0
    assert sample(samples, "leadengine_dead_letters_waiting", queue="leads.score") == 0


def test_oldest_pending_chain_transaction_age_per_signer(client):
    busy, idle = signer("0x" + "aa" * 20), signer("0x" + "bb" * 20)
    chain_tx(signer=busy, status=ChainTransaction.Status.SENT, age=timedelta(minutes=20))
    chain_tx(signer=busy, status=ChainTransaction.Status.PENDING, age=timedelta(minutes=1))
    chain_tx(signer=busy, status=ChainTransaction.Status.CONFIRMED, age=timedelta(hours=5))  # final: not counted
    chain_tx(signer=idle, status=ChainTransaction.Status.FAILED, age=timedelta(hours=1))

    samples = scrape(client)

    age = sample(samples, "leadengine_chain_oldest_pending_transaction_seconds", signer=busy.address)
    assert 20 * 60 <= age < 5 * 3600
    assert sample(samples, "leadengine_chain_oldest_pending_transaction_seconds", signer=idle.address) == 0


def test_every_routed_task_is_reported_with_its_queue(client):
    samples = scrape(client)
    for task, queue in TASK_ROUTES.items():
        assert sample(samples, "leadengine_task_queue_info", task=task, queue=queue) == 1


def test_no_replica_configured_reports_no_lag(client, settings):
    settings.DATABASE_READ_REPLICAS = []
    samples = scrape(client)
    assert not [key for key in samples if key[0] == "leadengine_replica_lag_seconds"]


@pytest.mark.replica
@pytest.mark.django_db(databases=["default", "replica"])
def test_a_replica_in_step_reports_its_lag_in_seconds(client, settings):
    settings.DATABASE_READ_REPLICAS = ["replica"]
    assert _replica_sql("select pg_is_in_recovery()") is True  # the real streaming replica

    samples = scrape(client)

    assert sample(samples, "leadengine_metrics_source_up", source="database:replica") == 1
    assert sample(samples, "leadengine_replica_lag_seconds", alias="replica") >= 0


@pytest.mark.replica
@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
def test_a_replica_that_stopped_replaying_reports_lag(client, settings):
    settings.DATABASE_READ_REPLICAS = ["replica"]
    _replica_sql("select pg_wal_replay_pause()")
    try:
        wait_for(lambda: _replica_sql("select pg_get_wal_replay_pause_state()") == "paused", timeout=10)
        dead_letter(queue="notify")  # a commit on the primary the replica receives but does not replay
        wait_for(
            lambda: _replica_sql("select pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn()"),
            timeout=30,
            message="the replica to receive WAL it has not replayed",
        )
        assert sample(scrape(client), "leadengine_replica_lag_seconds", alias="replica") > 0
    finally:
        _replica_sql("select pg_wal_replay_resume()")


def test_a_source_that_fails_is_reported_and_the_others_still_served(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    settings.DATABASE_READ_REPLICAS = ["no-such-alias"]
    dead_letter(queue="notify")

    samples = scrape(client)

    assert sample(samples, "leadengine_metrics_source_up", source="broker") == 0
    assert sample(samples, "leadengine_metrics_source_up", source="database:no-such-alias") == 0
    assert not [key for key in samples if key[0] == "leadengine_queue_depth"]
    assert sample(samples, "leadengine_dead_letters_waiting", queue="notify") == 1
    assert sample(samples, "leadengine_metrics_source_up", source="dead_letters") == 1
    assert "django_http_requests_total_by_method_total" in {name for name, _ in samples}


def test_the_collector_is_registered_once(client):
    scrape_metrics.register()  # a second AppConfig.ready() (a test runner reloading apps)
    body = client.get("/metrics").content.decode()
    assert body.count("# TYPE leadengine_queue_depth gauge") == 1


def test_multiprocess_exposition_serves_the_scrape_time_metrics_too(tmp_path):
    """Production merges the processes' files; the collector runs in the serving process."""
    dead_letter(queue="leads.score")
    body = exposition(str(tmp_path)).decode()
    assert 'leadengine_dead_letters_waiting{queue="leads.score"} 1.0' in body


def _replica_sql(sql: str):
    with connections["replica"].cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0] if cursor.description else None
