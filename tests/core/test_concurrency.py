import threading

import pytest
from django.test import override_settings

from core.concurrency import VerticalBusy, slot_acquire, slot_release, slots_in_use, vertical_slot
from core.pipeline import TransientError


def test_at_most_limit_holders_under_a_real_race():
    tokens = []
    barrier = threading.Barrier(12)

    def take():
        barrier.wait()
        tokens.append(slot_acquire(stage="leads.score", vertical_id=1, limit=3))

    threads = [threading.Thread(target=take) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    held = [t for t in tokens if t]
    assert len(held) == 3
    assert slots_in_use(stage="leads.score", vertical_id=1) == 3


def test_verticals_do_not_share_slots_and_release_frees_one():
    a = slot_acquire(stage="leads.score", vertical_id="hot", limit=1)
    assert a and slot_acquire(stage="leads.score", vertical_id="hot", limit=1) is None
    assert slot_acquire(stage="leads.score", vertical_id="cold", limit=1)  # another vertical is unaffected
    slot_release(stage="leads.score", vertical_id="hot", token=a)
    assert slot_acquire(stage="leads.score", vertical_id="hot", limit=1)


def test_a_dead_holders_slot_frees_itself_when_its_lease_ends():
    assert slot_acquire(stage="chain.mint", vertical_id=9, limit=1, lease_seconds=0)  # expires at once
    assert slot_acquire(stage="chain.mint", vertical_id=9, limit=1)


def test_busy_vertical_raises_a_transient_error_so_the_task_retries():
    with vertical_slot(stage="auctions.open", vertical_id=5, limit=1):
        with pytest.raises(VerticalBusy) as info:
            with vertical_slot(stage="auctions.open", vertical_id=5, limit=1):
                pass
        assert isinstance(info.value, TransientError)
    assert slots_in_use(stage="auctions.open", vertical_id=5) == 0


def test_embedded_profile_limits_in_process():
    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}):
        a = slot_acquire(stage="s", vertical_id=1, limit=1)
        assert a and slot_acquire(stage="s", vertical_id=1, limit=1) is None
        slot_release(stage="s", vertical_id=1, token=a)
        assert slots_in_use(stage="s", vertical_id=1) == 0
