"""Models that move between apps keep their tables and rows: the dead letters and idempotency keys
the marketplace app held are read back through the core app after migrating, and staff
permissions on them (their content types) follow."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("core", None)]  # marketplace 0004 depends on core 0001: both are unapplied


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    return executor.migrate(targets).apps


def test_dead_letters_and_idempotency_keys_keep_their_rows_when_they_move_to_core():
    old = _migrate(BEFORE)
    DeadLetter = old.get_model("marketplace", "DeadLetter")
    IdempotencyKey = old.get_model("marketplace", "IdempotencyKey")
    ContentType = old.get_model("contenttypes", "ContentType")
    letter = DeadLetter.objects.create(
        task_name="leads.score_lead",
        task_id="t-1",
        queue="leads.score",
        args=[],
        kwargs={"lead_id": 7},
        exception_type="builtins.ValueError",
        error="boom",
        correlation_id="cid-1",
    )
    IdempotencyKey.objects.create(scope="buy_now:3", key="k-1", result={"sale_id": 9, "listing_id": 4})
    assert ContentType.objects.filter(app_label="marketplace", model="deadletter").exists()

    executor = MigrationExecutor(connection)
    _migrate(executor.loader.graph.leaf_nodes())

    from django.contrib.contenttypes.models import ContentType as CurrentContentType

    from core.models import DeadLetter as Moved
    from core.models import IdempotencyKey as MovedKey

    moved = Moved.objects.get(pk=letter.pk)
    assert (moved.task_name, moved.kwargs, moved.correlation_id, moved.status) == (
        "leads.score_lead",
        {"lead_id": 7},
        "cid-1",
        "pending",
    )
    assert MovedKey.objects.get(scope="buy_now:3", key="k-1").result == {"sale_id": 9, "listing_id": 4}
    CurrentContentType.objects.clear_cache()
    assert CurrentContentType.objects.get_for_model(Moved).app_label == "core"
    assert not CurrentContentType.objects.filter(app_label="marketplace", model="deadletter").exists()
