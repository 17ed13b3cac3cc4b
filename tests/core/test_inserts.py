"""core.inserts.insert_together: rows of several tables in one statement, keys learned."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.inserts import insert_together, next_id_sql
from leads.models import Lead, LeadStatusChange
from tests.factories import UserFactory
from tests.leads.conftest import solar  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


def _lead(vertical, **extra) -> Lead:
    from django.utils import timezone

    now = timezone.now()
    return Lead(
        vertical=vertical,
        seller=UserFactory(is_seller=True),
        source="api",
        country="US",
        state="CA",
        zip="94105",
        consent_text="yes",
        consent_at=now,
        consent_ip="203.0.113.7",
        created_at=now,
        **extra,
    )


def _draw_id() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + next_id_sql(Lead))
        return cursor.fetchone()[0]


def test_a_parent_and_its_children_go_in_one_statement_and_learn_their_keys(solar):  # noqa: F811
    lead = _lead(solar, id=_draw_id())
    first = LeadStatusChange(lead=lead, to_status="received", reason="one")
    second = LeadStatusChange(lead=lead, to_status="scored", reason="two")
    with CaptureQueriesContext(connection) as queries:
        insert_together(lead, first, second)
    assert len(queries.captured_queries) == 1
    assert first.pk and second.pk and first.pk != second.pk
    assert not lead._state.adding
    stored = Lead.objects.get(pk=lead.pk)
    assert stored.updated_at is not None  # auto_now applied as save() would
    assert list(stored.history.order_by("pk").values_list("pk", "reason")) == [
        (first.pk, "one"),
        (second.pk, "two"),
    ]
