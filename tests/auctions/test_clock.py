"""The embedded profile's sweeper thread closes overdue auctions on its own."""

from datetime import timedelta

import pytest
from django.utils import timezone

from auctions.choices import AuctionStatus
from auctions.clock import start_embedded_sweeper
from auctions.models import Auction
from tests.auctions.factories import make_auction
from tests.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_embedded_sweeper_closes_an_overdue_auction():
    overdue = make_auction(now=timezone.now() - timedelta(minutes=2))
    stop = start_embedded_sweeper(interval=0.05)
    try:
        assert start_embedded_sweeper(interval=0.05) is stop  # once per process
        wait_for(
            lambda: Auction.objects.get(pk=overdue.pk).status == AuctionStatus.CLOSED,
            timeout=20,
            message="the sweeper thread to close the auction",
        )
    finally:
        stop.set()


def test_the_sweep_leaves_an_auction_another_closer_holds_and_closes_the_rest():
    import threading

    from django.db import connection, transaction

    from auctions.services.auctions import auction_close_due

    t0 = timezone.now()  # open now (an overdue auction would be closed by its own eager close task)
    held, free = make_auction(now=t0), make_auction(now=t0)
    later = t0 + timedelta(minutes=2)
    locked, release = threading.Event(), threading.Event()

    def other_closer():
        try:
            with transaction.atomic():
                Auction.objects.select_for_update().get(pk=held.pk)
                locked.set()
                release.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=other_closer)
    thread.start()
    try:
        assert locked.wait(30)
        assert auction_close_due(now=later) == 1  # did not wait for the held row
        assert Auction.objects.get(pk=free.pk).status == AuctionStatus.CLOSED
        assert Auction.objects.get(pk=held.pk).status == AuctionStatus.OPEN
    finally:
        release.set()
        thread.join(30)
    assert auction_close_due(now=later) == 1
    closed = Auction.objects.get(pk=held.pk)
    assert closed.status == AuctionStatus.CLOSED and closed.closed_at >= closed.deadline


def test_sweeps_run_on_their_own_queue_and_process():
    from config.queues import TASK_ROUTES, WORKER_GROUPS

    assert TASK_ROUTES["auctions.close_due"] == TASK_ROUTES["auctions.expire_buy_now"] == "auctions.clock"
    assert WORKER_GROUPS["clock"] == ("auctions.clock",)
    assert not any("auctions.clock" in queues for name, queues in WORKER_GROUPS.items() if name != "clock")
