"""Autobid budgets trued up at close: the winner's rule keeps the price, losers get everything back,
exactly once, and closes racing opens never deadlock or overspend (real threads, PostgreSQL)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from django.db import connection

from auctions.choices import AuctionStatus, BidSource
from auctions.models import Auction, AutobidTrace, AutobidUsage
from auctions.services.auctions import auction_close, bid_place
from auctions.services.autobid import autobid_run_for_auction, autobid_settle_for_auction
from ledger.selectors import ledger_check
from tests.auctions.factories import funded_buyer, make_auction, make_vertical
from tests.auctions.test_autobid import rule_for
from tests.concurrency import run_threads

pytestmark = pytest.mark.django_db

# Noon UTC = 08:00 in New York: every step below falls on the same buyer-local day.
T = datetime(2031, 3, 5, 12, 0, tzinfo=UTC)
DAY = T.date()


def at(seconds: float) -> datetime:
    return T + timedelta(seconds=seconds)


def usage(rule) -> tuple[D, int]:
    row = AutobidUsage.objects.filter(rule=rule).first()
    return (row.spent, row.leads) if row else (D("0"), 0)


def nyc_buyer(amount=D("1000")):
    return funded_buyer(amount, time_zone="America/New_York")


@pytest.fixture
def two_rules_on_one_auction():
    """An auction (reserve 10) opened at T; rules of 40 and 30 bid at open: 40 leads at 30.50."""
    auction = make_auction(vertical=make_vertical(), now=T)
    high = rule_for(nyc_buyer(), name="high", max_bid=D("40"), daily_budget=D("100"), daily_lead_cap=5)
    low = rule_for(nyc_buyer(), name="low", max_bid=D("30"), daily_budget=D("100"), daily_lead_cap=5)
    autobid_run_for_auction(auction_id=auction.pk, now=at(1))
    auction.refresh_from_db()
    assert auction.leader_id == high.buyer_id and auction.price == D("30.50")
    return auction, high, low


def test_placing_records_the_buyer_local_day_and_charges_the_maximum_until_close(two_rules_on_one_auction):
    auction, high, low = two_rules_on_one_auction
    traces = AutobidTrace.objects.filter(auction=auction)
    assert {t.budget_day for t in traces} == {DAY} and all(t.settled_at is None for t in traces)
    assert usage(high) == (D("40"), 1) and usage(low) == (D("30"), 1)


def test_close_gives_the_winner_max_minus_price_and_the_loser_everything_back(two_rules_on_one_auction):
    auction, high, low = two_rules_on_one_auction
    auction_close(auction_id=auction.pk, now=auction.deadline)
    assert usage(high) == (D("30.50"), 1)  # the day now counts what was paid
    assert usage(low) == (D("0"), 0)  # a lost auction is not a lead bought
    won, lost = AutobidTrace.objects.get(rule=high), AutobidTrace.objects.get(rule=low)
    assert won.settled_at == auction.deadline and lost.settled_at == auction.deadline
    assert won.reasons[-1] == "settled: won at 30.500000; 9.500000 of the maximum given back to the budget"
    assert lost.reasons[-1].startswith("settled: not won; the maximum 30.000000 and the lead given back")


def test_closing_twice_or_settling_again_gives_nothing_back_twice(two_rules_on_one_auction):
    auction, high, low = two_rules_on_one_auction
    auction_close(auction_id=auction.pk, now=auction.deadline)
    auction_close(auction_id=auction.pk, now=auction.deadline + timedelta(seconds=5))
    locked = Auction.objects.get(pk=auction.pk)
    assert (
        autobid_settle_for_auction(
            auction=locked, winner_buyer_id=high.buyer_id, price=D("30.50"), now=auction.deadline
        )
        == 0
    )
    assert usage(high) == (D("30.50"), 1) and usage(low) == (D("0"), 0)


def test_the_freed_budget_lets_the_rule_bid_again_the_same_day():
    rule = rule_for(nyc_buyer(), max_bid=D("25"), daily_budget=D("40"), daily_lead_cap=5)
    vertical = make_vertical()
    first, second = (make_auction(vertical=vertical, now=T) for _ in range(2))
    autobid_run_for_auction(auction_id=first.pk, now=at(1))
    refused = autobid_run_for_auction(auction_id=second.pk, now=at(2))[0]
    assert refused.bid_id is None and "daily budget exhausted" in refused.reasons[-1]
    auction_close(auction_id=first.pk, now=at(60))  # won alone at the reserve: 15 of 25 given back
    assert usage(rule) == (D("10"), 1)
    third = make_auction(vertical=vertical, now=at(61))
    assert autobid_run_for_auction(auction_id=third.pk, now=at(62))[0].bid_id is not None  # 10 + 25 <= 40
    assert usage(rule) == (D("35"), 2)


def test_a_buyer_who_outbids_manually_and_wins_above_the_rule_max_is_not_refunded_below_zero():
    auction = make_auction(vertical=make_vertical(), now=T)
    mine = rule_for(nyc_buyer(), max_bid=D("20"))
    rival = nyc_buyer()
    autobid_run_for_auction(auction_id=auction.pk, now=at(1))
    bid_place(auction_id=auction.pk, buyer=rival, max_amount=D("30"), source=BidSource.API, now=at(2))
    bid_place(auction_id=auction.pk, buyer=mine.buyer, max_amount=D("50"), source=BidSource.API, now=at(3))
    closed = auction_close(auction_id=auction.pk, now=auction.deadline)
    assert closed.leader_id == mine.buyer_id and closed.price == D("30.50")
    assert usage(mine) == (D("20"), 1)  # nothing to give back: the price is above what the rule committed


def test_settlement_uses_the_bids_maximum_even_if_the_rule_changed_since():
    auction = make_auction(vertical=make_vertical(), now=T)
    rule = rule_for(nyc_buyer(), max_bid=D("20"), daily_budget=D("100"))
    loser_rule = rule_for(nyc_buyer(), max_bid=D("15"), daily_budget=D("100"))
    autobid_run_for_auction(auction_id=auction.pk, now=at(1))
    rule.max_bid, loser_rule.max_bid = D("90"), D("80")
    rule.save()
    loser_rule.save()
    auction_close(auction_id=auction.pk, now=auction.deadline)
    assert usage(rule) == (D("15.50"), 1)  # 20 committed, 4.50 back
    assert usage(loser_rule) == (D("0"), 0)


def test_the_refund_goes_to_the_day_that_was_charged_not_the_day_of_the_close():
    buyer = funded_buyer(time_zone="UTC")
    rule = rule_for(buyer, max_bid=D("20"), daily_budget=D("100"))
    rival = rule_for(funded_buyer(time_zone="UTC"), max_bid=D("30"), daily_budget=D("100"))
    late = datetime(2031, 3, 5, 23, 59, 30, tzinfo=UTC)
    auction = make_auction(vertical=make_vertical(), now=late)
    autobid_run_for_auction(auction_id=auction.pk, now=late + timedelta(seconds=1))
    auction_close(auction_id=auction.pk, now=auction.deadline)  # after midnight
    assert auction.deadline.date() == DAY + timedelta(days=1)
    assert AutobidUsage.objects.get(rule=rule, day=DAY).spent == D("0")
    assert AutobidUsage.objects.get(rule=rival, day=DAY).spent == D("20.50")
    assert not AutobidUsage.objects.filter(day=DAY + timedelta(days=1)).exists()


def test_only_traces_with_a_bid_are_settled():
    auction = make_auction(vertical=make_vertical(), state="CA", now=T)
    bidding = rule_for(nyc_buyer(), max_bid=D("20"))
    elsewhere = rule_for(nyc_buyer(), states=["TX"])
    autobid_run_for_auction(auction_id=auction.pk, now=at(1))
    auction_close(auction_id=auction.pk, now=auction.deadline)
    assert AutobidTrace.objects.get(rule=bidding).settled_at is not None
    assert AutobidTrace.objects.get(rule=elsewhere).settled_at is None
    assert not AutobidUsage.objects.filter(rule=elsewhere).exists()


# ---------------------------------------------------------------- concurrency


def expected_usage(rule) -> tuple[D, int]:
    """What the rule's day must hold: open bids at their maximum, won ones at their price."""
    spent, leads = D("0"), 0
    for trace in AutobidTrace.objects.filter(rule=rule, bid__isnull=False).select_related("bid", "auction"):
        if trace.settled_at is None:
            spent, leads = spent + trace.bid.max_amount, leads + 1
        elif trace.auction.leader_id == rule.buyer_id and trace.auction.result == "sold":
            spent, leads = spent + trace.auction.price, leads + 1
    return spent, leads


@pytest.mark.django_db(transaction=True)
def test_two_closers_racing_settle_each_trace_exactly_once():
    auction = make_auction(vertical=make_vertical(), now=T)  # no rules yet: nothing bids at open
    high = rule_for(nyc_buyer(), max_bid=D("40"), daily_budget=D("100"))
    low = rule_for(nyc_buyer(), max_bid=D("30"), daily_budget=D("100"))
    autobid_run_for_auction(auction_id=auction.pk, now=at(1))
    results = run_threads(2, lambda i: auction_close(auction_id=auction.pk, now=at(60 + i)))
    assert all(isinstance(r, Auction) and r.status == AuctionStatus.CLOSED for r in results), results
    assert usage(high) == (D("30.50"), 1) and usage(low) == (D("0"), 0)
    assert AutobidTrace.objects.filter(auction=auction, settled_at__isnull=True).count() == 0
    connection.close()


@pytest.mark.django_db(transaction=True)
def test_closes_racing_opens_and_late_autobids_never_deadlock_or_overspend():
    vertical = make_vertical()
    # Auctions first, rules after: nothing bids at open; the test drives every run with its own clock.
    old = [make_auction(vertical=vertical, now=T) for _ in range(8)]  # deadline T+60
    new = [make_auction(vertical=vertical, now=at(70)) for _ in range(8)]
    rules = [
        rule_for(
            nyc_buyer(D("2000")),
            name=f"r{i}",
            max_bid=D(20 + 2 * i),
            daily_budget=D("100"),
            daily_lead_cap=6,
            priority=-i,
        )
        for i in range(4)
    ]  # cheapest first: all bid
    for auction in old[:4]:
        autobid_run_for_auction(auction_id=auction.pk, now=at(1))
    for rule in rules:
        spent, leads = usage(rule)
        assert D("0") <= spent <= rule.daily_budget and leads <= rule.daily_lead_cap

    jobs = (
        [lambda a=a: auction_close(auction_id=a.pk, now=at(60)) for a in old]
        + [lambda a=a: autobid_run_for_auction(auction_id=a.pk, now=at(45)) for a in old[4:]]  # before soft close
        + [lambda a=a: autobid_run_for_auction(auction_id=a.pk, now=at(71)) for a in new]
    )
    results = run_threads(len(jobs), lambda i: jobs[i]())
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors

    assert all(a.status == AuctionStatus.CLOSED for a in Auction.objects.filter(pk__in=[a.pk for a in old]))
    assert not AutobidTrace.objects.filter(auction__in=old, bid__isnull=False, settled_at__isnull=True).exists()
    for rule in rules:
        spent, leads = usage(rule)
        assert D("0") <= spent <= rule.daily_budget and 0 <= leads <= rule.daily_lead_cap, (rule.name, spent, leads)
        assert (spent, leads) == expected_usage(rule), rule.name
    assert AutobidTrace.objects.filter(auction__in=new, bid__isnull=False).exists()
    assert ledger_check().ok
    connection.close()


@pytest.mark.django_db(transaction=True)
def test_an_autobid_waiting_for_the_auction_holds_no_usage_row_lock():
    """Lock order auction → usage: while a close holds the auction, an autobid run for it must wait
    without holding the rule's usage row (else close-then-usage and usage-then-auction deadlock)."""
    import threading

    from django.db import DatabaseError, transaction

    from tests.conftest import wait_for

    auction = make_auction(vertical=make_vertical(), now=T)
    rule = rule_for(nyc_buyer(), max_bid=D("20"))
    AutobidUsage.objects.create(rule=rule, day=DAY)
    locked, checked = threading.Event(), threading.Event()
    outcome: dict = {}

    def holder():
        try:
            with transaction.atomic():
                Auction.objects.select_for_update().get(pk=auction.pk)
                locked.set()
                checked.wait(timeout=60)
        finally:
            connection.close()

    def bidder():
        try:
            locked.wait(timeout=60)
            outcome["traces"] = autobid_run_for_auction(auction_id=auction.pk, now=at(1))
        except Exception as exc:  # noqa: BLE001 - inspected below
            outcome["traces"] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=holder), threading.Thread(target=bidder)]
    for thread in threads:
        thread.start()
    try:
        locked.wait(timeout=60)

        def bidder_waits_on_a_lock() -> bool:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"
                )
                return cursor.fetchone()[0] >= 1

        wait_for(bidder_waits_on_a_lock, message="the autobid run to wait for the auction's lock")
        try:
            with transaction.atomic():
                list(AutobidUsage.objects.select_for_update(nowait=True).filter(rule=rule))
            outcome["usage_free"] = True
        except DatabaseError:
            outcome["usage_free"] = False
    finally:
        checked.set()
        for thread in threads:
            thread.join(timeout=60)
    assert outcome["usage_free"], "the autobid run held the usage row while waiting for the auction"
    assert [t.bid_id is not None for t in outcome["traces"]] == [True]
    assert usage(rule) == (D("20"), 1)
    connection.close()
