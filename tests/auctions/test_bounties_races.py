"""Bounty payouts racing each other, withdrawals and top-ups: real threads against PostgreSQL. The
pool's row lock, not luck, keeps payouts within the pool and the books balanced."""

from datetime import timedelta
from decimal import Decimal as D

import pytest

from auctions.choices import AuctionStatus, BidSource, BountyStatus
from auctions.models import Auction, Bounty, BountyAward, Sale
from auctions.selectors.bounties import bounty_pool_balance
from auctions.services.auctions import auction_close, bid_place
from auctions.services.bounties import bounty_create, bounty_fund, bounty_withdraw
from ledger.models import LedgerAccount
from ledger.selectors import balance_for, ledger_check
from tests.auctions.factories import funded_buyer, make_auction, make_vertical
from tests.auctions.factories_bounties import make_bounty
from tests.concurrency import run_threads

pytestmark = pytest.mark.django_db(transaction=True)


def open_auctions_with_a_bid(*, t0, vertical, count: int, owner=None, owner_every: int = 0) -> list[Auction]:
    """`count` auctions of matching leads, each with one bid of 10 (every `owner_every`-th by the
    bounty's owner, whose accounts the close then locks before the pool)."""
    auctions = []
    for i in range(count):
        auction = make_auction(now=t0, vertical=vertical)
        bidder = owner if owner_every and i % owner_every == 0 else funded_buyer(D("100"))
        bid_place(
            auction_id=auction.pk, buyer=bidder, max_amount=D("10"), source=BidSource.API, now=t0 + timedelta(seconds=5)
        )
        auctions.append(auction)
    return auctions


def close_all(auctions, t0):
    return run_threads(
        len(auctions), lambda i: auction_close(auction_id=auctions[i].pk, now=t0 + timedelta(seconds=60))
    )


def test_twelve_auctions_closing_at_once_pay_exactly_as_many_bounties_as_the_pool_covers(t0):
    vertical = make_vertical()
    owner = funded_buyer(D("500"))
    bounty = make_bounty(vertical=vertical, buyer=owner, amount_per_lead=D("5"), fund=D("20"))  # 4 payouts
    auctions = open_auctions_with_a_bid(t0=t0, vertical=vertical, count=12, owner=owner, owner_every=3)

    results = close_all(auctions, t0)
    assert all(isinstance(r, Auction) and r.status == AuctionStatus.CLOSED for r in results), results
    assert Sale.objects.count() == 12
    awards = list(BountyAward.objects.filter(bounty=bounty))
    assert len(awards) == 4 and all(a.amount == D("5") for a in awards)
    assert len({a.sale_id for a in awards}) == 4
    assert bounty_pool_balance(bounty_id=bounty.pk) == D("0")
    for award in awards:  # each paid sale's escrow holds price + bounty
        sale = award.sale
        assert LedgerAccount.objects.get(pk=sale.escrow_account_id).balance == sale.price + D("5")
    assert not LedgerAccount.objects.filter(balance__lt=0).exclude(kind="external").exists()
    report = ledger_check()
    assert report.ok, report.lines()


def test_a_pool_with_a_remainder_pays_four_full_awards_and_one_partial_under_the_race(t0):
    vertical = make_vertical()
    bounty = make_bounty(vertical=vertical, amount_per_lead=D("5"), fund=D("22"))
    auctions = open_auctions_with_a_bid(t0=t0, vertical=vertical, count=10)
    close_all(auctions, t0)
    amounts = sorted(BountyAward.objects.filter(bounty=bounty).values_list("amount", flat=True))
    assert amounts == [D("2"), D("5"), D("5"), D("5"), D("5")]
    assert bounty_pool_balance(bounty_id=bounty.pk) == D("0")
    assert ledger_check().ok


def test_a_withdrawal_racing_payouts_returns_exactly_what_was_not_paid(t0):
    vertical = make_vertical()
    owner = funded_buyer(D("500"))
    bounty = make_bounty(vertical=vertical, buyer=owner, amount_per_lead=D("5"), fund=D("50"))
    auctions = open_auctions_with_a_bid(t0=t0, vertical=vertical, count=8, owner=owner, owner_every=2)
    available_before = balance_for(user=owner)["available"]

    def act(i: int):
        if i == len(auctions):
            return bounty_withdraw(bounty=bounty, idempotency_key="withdraw-all")
        return auction_close(auction_id=auctions[i].pk, now=t0 + timedelta(seconds=60))

    results = run_threads(len(auctions) + 1, act)
    assert not [r for r in results if isinstance(r, Exception)], results
    paid = sum(BountyAward.objects.filter(bounty=bounty).values_list("amount", flat=True), D(0))
    assert bounty_pool_balance(bounty_id=bounty.pk) == D("0")
    assert Bounty.objects.get(pk=bounty.pk).status == BountyStatus.CLOSED
    won_by_owner = sum(Sale.objects.filter(buyer=owner).values_list("price", flat=True), D(0))
    # Whatever the pool did not pay came back to the owner's available balance.
    assert balance_for(user=owner)["available"] == available_before + (D("50") - paid) + (
        4 * D("10") - won_by_owner
    )  # the owner's four holds of 10: captured if won, released if not
    assert ledger_check().ok


def test_top_ups_racing_payouts_never_lose_or_double_money(t0):
    vertical = make_vertical()
    owner = funded_buyer(D("500"))
    bounty = make_bounty(vertical=vertical, buyer=owner, amount_per_lead=D("5"), fund=D("10"))
    auctions = open_auctions_with_a_bid(t0=t0, vertical=vertical, count=8, owner=owner, owner_every=4)

    def act(i: int):
        if i >= len(auctions):
            return bounty_fund(bounty=bounty, amount=D("5"), idempotency_key=f"top-up-{i % 2}")  # two keys, twice each
        return auction_close(auction_id=auctions[i].pk, now=t0 + timedelta(seconds=60))

    results = run_threads(len(auctions) + 4, act)
    assert not [r for r in results if isinstance(r, Exception)], results
    paid = sum(BountyAward.objects.filter(bounty=bounty).values_list("amount", flat=True), D(0))
    assert paid + bounty_pool_balance(bounty_id=bounty.pk) == D("20")  # 10 + two distinct top-ups of 5
    assert ledger_check().ok


def test_the_same_create_request_sent_twice_at_once_creates_one_bounty():
    vertical = make_vertical()
    buyer = funded_buyer(D("100"))
    results = run_threads(
        4,
        lambda i: bounty_create(
            buyer=buyer, vertical=vertical, name="x", amount_per_lead=D("1"), amount=D("10"), idempotency_key="same"
        ),
    )
    assert all(isinstance(r, Bounty) for r in results), results
    assert len({r.pk for r in results}) == 1 and Bounty.objects.count() == 1
    assert balance_for(user=buyer)["available"] == D("90")
