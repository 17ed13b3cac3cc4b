"""Closing: exactly once, at the deadline; capture, releases, sale, lead status, broadcasts."""

from decimal import Decimal as D
from unittest import mock

import pytest

from auctions.choices import AuctionResult, AuctionStatus, BidSource
from auctions.models import Auction, AuctionBidder, Sale
from auctions.services.auctions import auction_close, auction_close_due, bid_place
from auctions.tasks import close_auction, close_due
from config.queues import TASK_ROUTES
from leads.choices import LeadStatus
from ledger.choices import LedgerAccountKind
from ledger.models import LedgerAccount, LedgerTransaction
from ledger.selectors import balance_for, ledger_check
from tests.auctions.conftest import seconds
from tests.auctions.factories import make_auction

pytestmark = pytest.mark.django_db


def bid(auction, buyer, amount, t0, at=1):
    return bid_place(
        auction_id=auction.pk, buyer=buyer, max_amount=D(amount), source=BidSource.API, now=seconds(t0, at)
    )


def test_closing_before_the_deadline_does_nothing(auction, buyers, t0):
    bid(auction, buyers[0], "20", t0)
    auction_close(auction_id=auction.pk, now=seconds(t0, 59.9))
    auction.refresh_from_db()
    assert auction.status == AuctionStatus.OPEN and not Sale.objects.exists()
    assert balance_for(user=buyers[0])["held"] == D("20")


def test_the_winner_pays_the_clearing_price_into_escrow_and_every_other_hold_is_released(auction, buyers, t0):
    bid(auction, buyers[0], "40", t0, 1)
    bid(auction, buyers[1], "20", t0, 2)
    bid(auction, buyers[2], "25", t0, 3)  # price 25.50, buyer 0 leads
    closed = auction_close(auction_id=auction.pk, now=seconds(t0, 60))
    assert (closed.status, closed.result) == (AuctionStatus.CLOSED, AuctionResult.SOLD)

    sale = Sale.objects.get(auction=auction)
    assert (sale.buyer_id, sale.seller_id, sale.lead_id, sale.price) == (
        buyers[0].pk,
        auction.seller_id,
        auction.lead_id,
        D("25.50"),
    )
    assert sale.bid_log_digest == closed.log_head and sale.bid_log_length == 3
    escrow = LedgerAccount.objects.get(kind=LedgerAccountKind.ESCROW, reference=f"sale:{auction.pk}")
    assert sale.escrow_account == escrow and escrow.balance == D("25.50")
    assert balance_for(user=buyers[0]) == {
        "available": D("974.50"),
        "held": D("0"),
        "exiting": D("0"),
        "total": D("974.50"),
    }
    for loser in buyers[1:]:
        assert balance_for(user=loser) == {
            "available": D("1000"),
            "held": D("0"),
            "exiting": D("0"),
            "total": D("1000"),
        }
    assert LedgerTransaction.objects.filter(idempotency_key=f"sale:{auction.pk}", kind="capture").count() == 1
    assert (
        LedgerTransaction.objects.filter(kind="release", idempotency_key__startswith=f"release:{auction.pk}:").count()
        == 3
    )
    assert set(AuctionBidder.objects.values_list("held_amount", flat=True)) == {D("0")}

    lead = closed.lead
    lead.refresh_from_db()
    assert (lead.status, lead.price) == (LeadStatus.SOLD, D("25.50"))
    assert ledger_check().ok


def test_a_winner_who_pays_their_whole_maximum_has_nothing_left_to_release(auction, buyers, t0):
    bid(auction, buyers[0], "10", t0)  # single bidder at the reserve
    auction_close(auction_id=auction.pk, now=seconds(t0, 61))
    assert Sale.objects.get().price == D("10")
    assert not LedgerTransaction.objects.filter(kind="release").exists()
    assert balance_for(user=buyers[0])["total"] == D("990")


def test_without_bids_the_lead_goes_unsold(auction, t0):
    closed = auction_close(auction_id=auction.pk, now=seconds(t0, 60))
    assert (closed.status, closed.result) == (AuctionStatus.CLOSED, AuctionResult.UNSOLD)
    closed.lead.refresh_from_db()
    assert closed.lead.status == LeadStatus.UNSOLD and not Sale.objects.exists()


def test_closing_twice_closes_once(auction, buyers, t0):
    bid(auction, buyers[0], "40", t0, 1)
    bid(auction, buyers[1], "20", t0, 2)
    auction_close(auction_id=auction.pk, now=seconds(t0, 60))
    transactions = LedgerTransaction.objects.count()
    again = auction_close(auction_id=auction.pk, now=seconds(t0, 120))
    assert again.closed_at == seconds(t0, 60)
    assert LedgerTransaction.objects.count() == transactions and Sale.objects.count() == 1
    assert close_auction.apply(kwargs={"auction_id": auction.pk}).get() == AuctionStatus.CLOSED
    assert auction_close(auction_id=10**9) is None


def test_the_sweep_closes_only_overdue_auctions(vertical, seller, buyers, t0):
    early = make_auction(vertical=vertical, seller=seller, now=t0)
    late = make_auction(vertical=vertical, seller=seller, now=seconds(t0, 30))
    bid(early, buyers[0], "15", t0)
    assert auction_close_due(now=seconds(t0, 61)) == 1
    assert Auction.objects.get(pk=early.pk).status == AuctionStatus.CLOSED
    assert Auction.objects.get(pk=late.pk).status == AuctionStatus.OPEN
    assert auction_close_due(now=seconds(t0, 61)) == 0
    assert close_due.apply().get() == 0  # the real clock: `late` closes 90 s after t0


def test_side_effects_are_broadcast_on_commit_only(auction, buyers, t0, django_capture_on_commit_callbacks):
    bid(auction, buyers[0], "40", t0, 1)
    bid(auction, buyers[1], "20", t0, 2)
    with mock.patch("core.broadcast.group_send_now") as send:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            auction_close(auction_id=auction.pk, now=seconds(t0, 60))
        assert not send.called
        for callback in callbacks:
            callback()
    sent = {(c.kwargs["group"], c.kwargs["payload"]["type"]) for c in send.call_args_list}
    assert sent >= {
        (f"vertical.{auction.vertical.slug}", "auction.closed"),
        (f"user.{buyers[0].pk}", "won"),
        (f"user.{buyers[1].pk}", "lost"),
    }


def test_an_outbid_leader_is_told_and_the_price_is_broadcast(auction, buyers, t0, django_capture_on_commit_callbacks):
    bid(auction, buyers[0], "20", t0, 1)
    with mock.patch("core.broadcast.group_send_now") as send:
        with django_capture_on_commit_callbacks(execute=True):
            bid(auction, buyers[1], "40", t0, 2)
    sent = {(c.kwargs["group"], c.kwargs["payload"]["type"]) for c in send.call_args_list}
    assert sent == {
        (f"vertical.{auction.vertical.slug}", "auction.price"),
        (f"user.{buyers[0].pk}", "outbid"),
        (f"user.{buyers[0].pk}", "notification.new"),  # the notification (notifications.services.notify)
    }


def test_every_auction_task_has_a_route_to_its_stage_queue():
    assert TASK_ROUTES["auctions.open_auction"] == "auctions.open"
    assert TASK_ROUTES["auctions.close_auction"] == "auctions.close"
    assert TASK_ROUTES["auctions.close_due"] == "auctions.clock"  # not behind the closes it backs up


def test_the_sweep_runs_every_five_seconds_in_beat():
    from django.conf import settings

    entries = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "auctions.close_due"]
    assert len(entries) == 1 and entries[0]["schedule"] == 5.0


def test_a_committed_close_records_its_lateness_and_result_in_metrics(django_capture_on_commit_callbacks):
    from datetime import timedelta

    from auctions.services.auctions import auction_close
    from core.metrics import REGISTRY
    from tests.auctions.factories import make_auction

    auction = make_auction()

    def sample(name, labels=None):
        return REGISTRY.get_sample_value(name, labels or {}) or 0.0

    count, total = (
        sample("leadengine_auction_close_lateness_seconds_count"),
        sample("leadengine_auction_close_lateness_seconds_sum"),
    )
    unsold = sample("leadengine_auctions_closed_total", {"result": "unsold"})
    with django_capture_on_commit_callbacks(execute=True):
        auction_close(auction_id=auction.pk, now=auction.deadline + timedelta(seconds=2))
    assert sample("leadengine_auction_close_lateness_seconds_count") == count + 1
    assert sample("leadengine_auction_close_lateness_seconds_sum") == pytest.approx(total + 2)
    assert sample("leadengine_auctions_closed_total", {"result": "unsold"}) == unsold + 1
