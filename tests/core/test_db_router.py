"""The primary/replica router against the real streaming replica (port 5433)."""

import asyncio

import pytest
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from config import db_router
from config.db_router import PrimaryReplicaRouter
from core.middleware import pins_forget
from tests.conftest import wait_for
from tests.factories import UserFactory, VerticalFactory
from verticals.models import Vertical

pytestmark = [pytest.mark.replica, pytest.mark.django_db(transaction=True, databases=["default", "replica"])]


def _replica_sql(sql: str):
    with connections["replica"].cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0] if cursor.description else None


def _primary_lsn() -> str:
    with connections["default"].cursor() as cursor:
        cursor.execute("select pg_current_wal_lsn()::text")
        return cursor.fetchone()[0]


def _replica_caught_up() -> bool:
    lsn = _primary_lsn()
    with connections["replica"].cursor() as cursor:
        cursor.execute("select pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn])
        return cursor.fetchone()[0]


@pytest.fixture
def replica_reads(settings):
    settings.DATABASE_READ_REPLICAS = ["replica"]
    db_router.reset_context()
    assert _replica_sql("select pg_is_in_recovery()") is True
    yield
    if _replica_sql("select pg_is_wal_replay_paused()"):
        _replica_sql("select pg_wal_replay_resume()")
    db_router.reset_context()


@pytest.fixture
def paused_replica(replica_reads):
    wait_for(_replica_caught_up, timeout=30, message="the replica to catch up")
    _replica_sql("select pg_wal_replay_pause()")
    wait_for(
        lambda: _replica_sql("select pg_get_wal_replay_pause_state()") == "paused",
        timeout=10,
        message="replay to pause",
    )
    yield
    _replica_sql("select pg_wal_replay_resume()")


def test_unpinned_reads_go_to_the_replica_and_writes_to_the_primary(replica_reads):
    vertical = VerticalFactory(slug="routed")
    db_router.reset_context()  # a fresh context that has not written
    wait_for(_replica_caught_up, message="the replica to catch up")
    with (
        CaptureQueriesContext(connections["replica"]) as on_replica,
        CaptureQueriesContext(connections["default"]) as on_primary,
    ):
        assert Vertical.objects.get(slug="routed").pk == vertical.pk
    assert len(on_replica) == 1 and len(on_primary) == 0
    assert PrimaryReplicaRouter().db_for_write(Vertical) == "default"


def test_replica_lag_is_visible_to_unpinned_reads_only(paused_replica):
    VerticalFactory(slug="fresh")
    db_router.reset_context()
    assert not Vertical.objects.filter(slug="fresh").exists()  # the paused replica has not seen it
    with db_router.primary():
        assert Vertical.objects.filter(slug="fresh").exists()
    with transaction.atomic():  # services decide inside transactions: those read the primary
        assert Vertical.objects.filter(slug="fresh").exists()


def test_a_client_that_wrote_reads_its_writes_while_others_read_the_replica(paused_replica, client):
    from django.core.cache import cache
    from django.test import Client

    writer, bystander = UserFactory(), UserFactory()
    other = Client()
    client.force_login(writer)
    other.force_login(bystander)
    VerticalFactory(slug="new-vertical", name="New vertical")
    db_router.reset_context()
    detail = reverse("vertical-detail", args=["new-vertical"])
    assert client.get(detail).status_code == 404  # served from the lagging replica

    response = client.post(
        reverse("account"), {"form": "profile", "full_name": "Writer", "time_zone": "UTC", "is_buyer": "on"}
    )
    assert response.status_code == 302
    assert client.get(detail).status_code == 200  # pinned to the primary after its write
    assert other.get(detail).status_code == 404  # not pinned: still the replica

    cache.clear()  # the pin expires (DATABASE_PIN_SECONDS)...
    pins_forget()  # ...here too (this process remembers until when it recorded it)
    assert client.get(detail).status_code == 404

    _replica_sql("select pg_wal_replay_resume()")
    wait_for(_replica_caught_up, message="the replica to catch up")
    assert other.get(detail).status_code == 200


def test_api_key_clients_are_pinned_by_key(paused_replica):
    from rest_framework.test import APIClient

    from accounts.services import api_key_create

    issued = api_key_create(user=UserFactory(), name="pin")
    VerticalFactory(slug="api-fresh")
    db_router.reset_context()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {issued.secret}")
    url = "/api/v1/verticals/api-fresh/"
    assert api.get(url).status_code == 404  # the key and session lookups use the primary, the list the replica
    from django.core.cache import cache

    from core.middleware import client_pin_key

    class _Req:
        headers = {"Authorization": f"Api-Key {issued.secret}"}

    cache.set(client_pin_key(_Req, None), 1, timeout=5)  # as ReadYourWritesMiddleware does after a write
    assert api.get(url).status_code == 200


def test_pins_are_per_context_under_asyncio(replica_reads):
    seen = {}

    async def reader(name: str, pin: bool):
        if pin:
            db_router.pin_to_primary()
        await asyncio.sleep(0)
        seen[name] = PrimaryReplicaRouter().db_for_read(Vertical)

    async def main():
        await asyncio.gather(reader("pinned", True), reader("free", False))

    asyncio.run(main())
    assert seen == {"pinned": "default", "free": "replica"}


def test_migrations_run_on_the_primary_only(replica_reads):
    router = PrimaryReplicaRouter()
    assert router.allow_migrate("default", "verticals") is True
    assert router.allow_migrate("replica", "verticals") is False


def test_auth_tables_are_always_read_from_the_primary(replica_reads):
    from django.contrib.sessions.models import Session

    from accounts.models import ApiKey, User

    for model in (Session, User, ApiKey):
        assert PrimaryReplicaRouter().db_for_read(model) == "default"


@pytest.mark.django_db(transaction=True)
def test_without_replicas_a_write_records_no_pin(settings, client):
    """With every read on the primary there is nothing to pin: no pin in Redis, none remembered."""
    from django.core.cache import cache

    from core.middleware import _PINS_RECORDED

    settings.DATABASE_READ_REPLICAS = []
    pins_forget()
    cache.clear()
    client.force_login(UserFactory())
    response = client.post(
        reverse("account"), {"form": "profile", "full_name": "Writer", "time_zone": "UTC", "is_buyer": "on"}
    )
    assert response.status_code == 302
    assert _PINS_RECORDED == {}
    assert not [key for key in cache.keys("*") if key.startswith("dbpin:")]
    assert client.get(reverse("account")).status_code == 200
