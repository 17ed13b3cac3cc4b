"""core.inserts.copy_insert: rows through PostgreSQL's COPY, prepared as Django prepares an INSERT."""

import pytest
from django.contrib.auth.models import Group
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from core.inserts import copy_insert

pytestmark = pytest.mark.django_db


def test_rows_with_and_without_primary_keys_are_stored_and_counted():
    with CaptureQueriesContext(connection) as queries:
        copy_insert([Group(name="first"), Group(name="a \\ tab\tand 'quote' and\nnewline")])
        copy_insert([Group(pk=900_001, name="with id")])
        copy_insert([])
    assert len([q for q in queries.captured_queries if q["sql"].startswith("COPY")]) == 2
    assert set(Group.objects.values_list("name", flat=True)) == {
        "first",
        "a \\ tab\tand 'quote' and\nnewline",
        "with id",
    }
    assert Group.objects.get(pk=900_001).name == "with id"


def test_a_constraint_violation_is_djangos_integrity_error_and_stores_nothing():
    Group.objects.create(name="taken")
    with pytest.raises(IntegrityError), transaction.atomic():
        copy_insert([Group(name="fresh"), Group(name="taken")])
    assert not Group.objects.filter(name="fresh").exists()
