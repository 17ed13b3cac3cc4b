"""Real threads against PostgreSQL: the auction's row lock, not luck, keeps bids and money straight."""

from decimal import Decimal as D

import pytest

from auctions.bidlog import bid_log_verify
from auctions.choices import AuctionResult, AuctionStatus, BidSource
from auctions.models import Auction, AuctionBidder, Bid, Sale
from auctions.pricing import proxy_price
from auctions.selectors.auctions import auction_held_total, bid_log_entries
from auctions.services.auctions import BidRejected, auction_close, bid_place
from ledger.models import LedgerTransaction
from ledger.selectors import balance_for, ledger_check
from tests.auctions.conftest import seconds
from tests.auctions.factories import funded_buyer, make_auction
from tests.concurrency import run_threads

pytestmark = pytest.mark.django_db(transaction=True)


def ranked_maxima(auction) -> list[D]:
    return list(
        AuctionBidder.objects.filter(auction=auction)
        .order_by("-max_amount", "max_sequence")
        .values_list("max_amount", flat=True)
    )


def test_fifty_buyers_bidding_at_once_leave_one_leader_the_proxy_price_and_exact_holds(t0):
    auction = make_auction(now=t0)
    buyers = [funded_buyer(D("500")) for _ in range(50)]
    # Distinct and tied maxima, some below what will be the price by the time they land.
    amounts = [D(10) + D(i % 37) * D("2.75") for i in range(50)]

    def place(i: int):
        return bid_place(
            auction_id=auction.pk, buyer=buyers[i], max_amount=amounts[i], source=BidSource.API, now=seconds(t0, 5)
        )

    results = run_threads(50, place)
    unexpected = [r for r in results if not isinstance(r, (Bid, BidRejected))]
    assert not unexpected, unexpected
    accepted = [r for r in results if isinstance(r, Bid)]
    refused = [r for r in results if isinstance(r, BidRejected)]
    assert len(accepted) >= 2 and all(r.code == "too_low" for r in refused)

    auction = Auction.objects.get(pk=auction.pk)
    bidders = list(AuctionBidder.objects.filter(auction=auction).order_by("-max_amount", "max_sequence"))
    assert len(bidders) == len(accepted) == auction.bid_count == auction.bidder_count
    assert auction.leader_id == bidders[0].buyer_id  # exactly one leader: the best, earliest maximum
    assert sorted(b.sequence for b in accepted) == list(range(1, len(accepted) + 1))
    assert auction.price == proxy_price(reserve=auction.reserve_price, maxima=ranked_maxima(auction))
    assert auction.price <= bidders[0].max_amount

    # Held amounts == the sum of standing maxima, on the ledger and per buyer.
    standing = sum((b.max_amount for b in bidders), D(0))
    assert auction_held_total(auction=auction) == standing
    assert sum((balance_for(user=b)["held"] for b in buyers), D(0)) == standing
    for b in bidders:
        assert balance_for(user=b.buyer) == {
            "available": D("500") - b.max_amount,
            "held": b.max_amount,
            "exiting": D("0"),
            "total": D("500"),
        }
    assert LedgerTransaction.objects.filter(kind="hold").count() == len(accepted)
    assert bid_log_verify(bid_log_entries(auction=auction), expected_head=auction.log_head).ok
    assert ledger_check().ok


def test_two_closers_racing_close_once_with_one_sale_and_holds_released_once(t0):
    auction = make_auction(now=t0)
    buyers = [funded_buyer(D("100")) for _ in range(4)]
    for i, amount in enumerate(("20", "25", "30", "45")):
        bid_place(
            auction_id=auction.pk, buyer=buyers[i], max_amount=D(amount), source=BidSource.API, now=seconds(t0, i + 1)
        )

    results = run_threads(2, lambda i: auction_close(auction_id=auction.pk, now=seconds(t0, 60 + i)))
    assert all(isinstance(r, Auction) and r.status == AuctionStatus.CLOSED for r in results), results
    assert len({r.closed_at for r in results}) == 1

    assert Sale.objects.filter(auction=auction).count() == 1
    sale = Sale.objects.get(auction=auction)
    assert (sale.buyer_id, sale.price) == (buyers[3].pk, D("30.50"))
    assert LedgerTransaction.objects.filter(kind="capture").count() == 1
    assert LedgerTransaction.objects.filter(kind="release").count() == 4  # the winner's rest + three losers
    assert [balance_for(user=b)["total"] for b in buyers] == [D("100"), D("100"), D("100"), D("69.50")]
    assert all(balance_for(user=b)["held"] == 0 for b in buyers)
    assert Auction.objects.get(pk=auction.pk).result == AuctionResult.SOLD
    assert ledger_check().ok


def test_bids_racing_the_close_are_either_in_before_it_or_refused(t0):
    auction = make_auction(now=t0)
    buyers = [funded_buyer(D("200")) for _ in range(10)]
    deadline = Auction.objects.get(pk=auction.pk).deadline

    def act(i: int):
        if i == 0:
            return auction_close(auction_id=auction.pk, now=seconds(t0, 60))
        # Bidders whose clocks still say 45 s (the close's says 60): the row lock orders them.
        return bid_place(
            auction_id=auction.pk, buyer=buyers[i], max_amount=D(10 + 5 * i), source=BidSource.API, now=seconds(t0, 45)
        )

    results = run_threads(10, act)
    closed = Auction.objects.get(pk=auction.pk)
    accepted = [r for r in results[1:] if isinstance(r, Bid)]
    refused = [r for r in results[1:] if isinstance(r, BidRejected)]
    assert len(accepted) + len(refused) == 9, results
    assert closed.status == AuctionStatus.CLOSED and closed.deadline == deadline
    # Nothing stays held for this auction, whoever won the race, and every accepted bid is in the log.
    assert closed.bid_count == len(accepted) == Bid.objects.filter(auction=auction).count()
    assert all(balance_for(user=b)["held"] == 0 for b in buyers)
    assert not any(isinstance(r, BidRejected) and r.code != "closed" and r.code != "too_low" for r in refused)
    if accepted:
        assert Sale.objects.filter(auction=auction).count() == 1
    else:
        assert not Sale.objects.filter(auction=auction).exists()
    assert ledger_check().ok


def test_scheduled_closes_racing_the_sweep_over_many_auctions_close_each_once(t0):
    """The eta closes (one per auction, two processes' worth of threads, in opposite orders) and
    the sweep (skip_locked) over the same overdue auctions: each closes once, every hold is
    captured or released once, and shared bidders' accounts never deadlock."""
    from auctions.services.auctions import auction_close_due

    buyers = [funded_buyer(D("1000")) for _ in range(4)]
    auctions = [make_auction(now=t0) for _ in range(12)]
    for i, auction in enumerate(auctions):
        for j, amount in ((i % 4, "20"), ((i + 1) % 4, "30")):
            bid_place(
                auction_id=auction.pk, buyer=buyers[j], max_amount=D(amount), source=BidSource.API, now=seconds(t0, 5)
            )
    ids = [a.pk for a in auctions]
    later = seconds(t0, 3600)

    def act(i: int):
        if i == 0:
            return auction_close_due(now=later)
        order = ids if i % 2 else list(reversed(ids))
        return [auction_close(auction_id=pk, now=later) for pk in order]

    results = run_threads(5, act)
    assert not any(isinstance(r, Exception) for r in results), results
    assert Auction.objects.filter(pk__in=ids, status=AuctionStatus.CLOSED).count() == 12
    assert Sale.objects.filter(auction_id__in=ids).count() == 12
    keys = list(
        LedgerTransaction.objects.filter(idempotency_key__regex=r"^(sale|release):").values_list(
            "idempotency_key", flat=True
        )
    )
    assert len(keys) == len(set(keys)) == 12 + 24  # a capture each, and the winner's rest + the loser's hold
    assert all(balance_for(user=b)["held"] == 0 for b in buyers)
    assert sum(balance_for(user=b)["total"] for b in buyers) == D("4000") - 12 * D("20.50")
    assert ledger_check().ok
