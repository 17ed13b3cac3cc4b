"""core.localcache: process-local memo emptied everywhere on change (the shared generation is in
the real Redis cache; two LocalCache objects with one name stand for two processes)."""

import pytest

from core.localcache import LocalCache


@pytest.fixture
def two_processes():
    here, there = LocalCache("tests.two", recheck=0.0), LocalCache("tests.two", recheck=0.0)
    yield here, there
    here.clear_local()
    there.clear_local()


def test_a_value_is_loaded_once_then_served_from_memory(two_processes):
    here, _ = two_processes
    loads = []
    assert here.get("k", lambda: loads.append(1) or "v1") == "v1"
    assert here.get("k", lambda: loads.append(1) or "v2") == "v1"
    assert loads == [1]


def test_an_invalidation_in_one_process_empties_the_other(two_processes):
    here, there = two_processes
    assert there.get("k", lambda: "old") == "old"
    here.invalidate()
    assert there.get("k", lambda: "new") == "new"


def test_a_missing_row_is_not_memoised(two_processes):
    here, _ = two_processes
    assert here.get("k", lambda: None) is None
    assert here.get("k", lambda: "now there") == "now there"


def test_the_other_process_rechecks_only_after_its_interval():
    here, slow = LocalCache("tests.slow"), LocalCache("tests.slow", recheck=3600.0)
    try:
        assert slow.get("k", lambda: "old") == "old"
        here.invalidate()
        assert slow.get("k", lambda: "new") == "old"  # within its recheck interval
        slow._checked_at = float("-inf")  # the interval has passed
        assert slow.get("k", lambda: "new") == "new"
    finally:
        here.clear_local()
        slow.clear_local()


@pytest.mark.django_db
def test_inside_a_transaction_the_other_processes_are_told_again_on_commit(
    two_processes, django_capture_on_commit_callbacks
):
    here, there = two_processes
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        here.invalidate()
        # Another process reads the old row (not yet committed) and memoises it...
        assert there.get("k", lambda: "old row") == "old row"
    # ...the commit empties it again.
    assert len(callbacks) == 1
    assert there.get("k", lambda: "new row") == "new row"
