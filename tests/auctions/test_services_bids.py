"""Proxy bidding: who may bid, the visible price, holds, soft close."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.test import override_settings

from auctions.choices import BidSource
from auctions.models import Auction, AuctionBidder, Bid
from auctions.selectors.auctions import auction_held_total
from auctions.services.auctions import BidRejected, auction_close, bid_place
from ledger.models import LedgerTransaction
from ledger.selectors import balance_for, ledger_check
from tests.auctions.conftest import seconds
from tests.auctions.factories import funded_buyer
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def bid(auction, buyer, amount, t0, at=1, source=BidSource.API):
    return bid_place(auction_id=auction.pk, buyer=buyer, max_amount=D(amount), source=source, now=seconds(t0, at))


def fresh(auction) -> Auction:
    return Auction.objects.get(pk=auction.pk)


def test_a_single_bidder_leads_at_the_reserve(auction, buyers, t0):
    placed = bid(auction, buyers[0], "40", t0)
    auction = fresh(auction)
    assert (auction.leader_id, auction.price, auction.bid_count) == (buyers[0].pk, D("10"), 1)
    assert placed.sequence == 1 and placed.price == D("10") and placed.hold_amount == D("40")


def test_the_second_bidder_sets_the_price_one_increment_above_their_maximum(auction, buyers, t0):
    bid(auction, buyers[0], "40", t0, 1)
    bid(auction, buyers[1], "20", t0, 2)
    auction = fresh(auction)
    assert (auction.leader_id, auction.price) == (buyers[0].pk, D("20.50"))


def test_a_higher_maximum_takes_the_lead_at_the_old_maximum_plus_increment(auction, buyers, t0):
    bid(auction, buyers[0], "20", t0, 1)
    bid(auction, buyers[1], "45", t0, 2)
    auction = fresh(auction)
    assert (auction.leader_id, auction.price) == (buyers[1].pk, D("20.50"))


def test_the_price_is_capped_at_the_leaders_maximum(auction, buyers, t0):
    bid(auction, buyers[0], "20.20", t0, 1)
    bid(auction, buyers[1], "20", t0, 2)  # ≥ price 10 + 0.50, but below the leader
    auction = fresh(auction)
    assert (auction.leader_id, auction.price) == (buyers[0].pk, D("20.20"))


def test_a_tie_goes_to_the_earlier_maximum(auction, buyers, t0):
    bid(auction, buyers[0], "30", t0, 1)
    bid(auction, buyers[1], "30", t0, 2)
    auction = fresh(auction)
    assert (auction.leader_id, auction.price) == (buyers[0].pk, D("30"))


def test_raising_a_maximum_makes_it_later_for_ties(auction, buyers, t0):
    bid(auction, buyers[0], "25", t0, 1)
    bid(auction, buyers[1], "30", t0, 2)
    bid(auction, buyers[0], "30", t0, 3)  # now ties with buyer 1, whose 30 came first
    auction = fresh(auction)
    assert (auction.leader_id, auction.price) == (buyers[1].pk, D("30"))


def test_a_bid_below_reserve_is_rejected_with_reason(auction, buyers, t0):
    with pytest.raises(BidRejected) as exc:
        bid(auction, buyers[0], "9.99", t0)
    assert (exc.value.code, exc.value.field, exc.value.kind) == ("below_reserve", "max_amount", "invalid")
    assert "10" in exc.value.message
    assert not Bid.objects.exists() and fresh(auction).price is None


def test_a_challenger_must_beat_the_price_by_one_increment(auction, buyers, t0):
    bid(auction, buyers[0], "40", t0, 1)
    bid(auction, buyers[1], "20", t0, 2)  # price 20.50
    with pytest.raises(BidRejected) as exc:
        bid(auction, buyers[2], "20.99", t0, 3)
    assert exc.value.code == "too_low" and "21" in exc.value.message
    bid(auction, buyers[2], "21", t0, 4)
    assert fresh(auction).price == D("21.50")


def test_a_new_maximum_must_exceed_your_own(auction, buyers, t0):
    bid(auction, buyers[0], "40", t0, 1)
    with pytest.raises(BidRejected) as exc:
        bid(auction, buyers[0], "40", t0, 2)
    assert exc.value.code == "not_higher"


def test_the_seller_cannot_bid_on_their_own_lead(auction, seller, t0):
    seller.is_buyer = True
    seller.save(update_fields=["is_buyer"])
    with pytest.raises(BidRejected) as exc:
        bid(auction, seller, "50", t0)
    assert (exc.value.code, exc.value.kind) == ("own_lead", "forbidden")
    assert not Bid.objects.exists()


def test_only_buyer_accounts_may_bid(auction, t0):
    with pytest.raises(BidRejected) as exc:
        bid(auction, UserFactory(is_buyer=False), "50", t0)
    assert (exc.value.code, exc.value.kind) == ("not_a_buyer", "forbidden")


def test_an_exclusive_vertical_admits_only_its_listed_buyers(auction, vertical, buyers, t0):
    vertical.exclusive_buyers.add(buyers[0])
    bid(auction, buyers[0], "20", t0, 1)
    with pytest.raises(BidRejected) as exc:  # to an outsider the auction does not exist
        bid(auction, buyers[1], "50", t0, 2)
    assert (exc.value.code, exc.value.kind) == ("not_found", "not_found")
    with pytest.raises(BidRejected) as exc:  # not even whether they may bid at all
        bid(auction, UserFactory(is_buyer=False), "50", t0, 2)
    assert (exc.value.code, exc.value.kind) == ("not_found", "not_found")
    buyers[1].is_staff = True
    buyers[1].save()
    with pytest.raises(BidRejected) as exc:  # staff see it but are not listed
        bid(auction, buyers[1], "50", t0, 2)
    assert (exc.value.code, exc.value.kind) == ("exclusive_vertical", "forbidden")
    assert fresh(auction).leader_id == buyers[0].pk


def test_insufficient_balance_is_refused_clearly_and_writes_nothing(auction, t0):
    poor = funded_buyer(D("15"))
    before = (LedgerTransaction.objects.count(), balance_for(user=poor))
    with pytest.raises(BidRejected) as exc:
        bid(auction, poor, "20", t0)
    assert exc.value.code == "insufficient_funds" and "15" in exc.value.message
    assert (LedgerTransaction.objects.count(), balance_for(user=poor)) == before
    assert not Bid.objects.exists() and not AuctionBidder.objects.exists()
    auction = fresh(auction)
    assert (auction.bid_count, auction.leader_id, auction.price, auction.bidder_count) == (0, None, None, 0)
    assert ledger_check().ok


def test_placing_a_maximum_holds_it_and_raising_holds_only_the_difference(auction, t0):
    buyer = funded_buyer(D("100"))
    first = bid(auction, buyer, "30", t0, 1)
    assert balance_for(user=buyer) == {"available": D("70"), "held": D("30"), "exiting": D("0"), "total": D("100")}
    second = bid(auction, buyer, "45.5", t0, 2)
    assert balance_for(user=buyer) == {"available": D("54.5"), "held": D("45.5"), "exiting": D("0"), "total": D("100")}
    holds = LedgerTransaction.objects.filter(kind="hold").order_by("pk")
    assert [t.idempotency_key for t in holds] == [f"bid:{first.pk}", f"bid:{second.pk}"]
    assert second.hold_amount == D("15.5")
    assert auction_held_total(auction=auction) == D("45.5")


def test_raising_beyond_the_balance_keeps_the_old_maximum(auction, t0):
    buyer = funded_buyer(D("50"))
    bid(auction, buyer, "30", t0, 1)
    with pytest.raises(BidRejected):
        bid(auction, buyer, "60", t0, 2)
    assert AuctionBidder.objects.get(buyer=buyer).max_amount == D("30")
    assert balance_for(user=buyer)["held"] == D("30")


@pytest.mark.parametrize("amount", ["12.1234567", "NaN", "-5", "0"])
def test_malformed_amounts_are_refused_on_the_amount_field(auction, buyers, t0, amount):
    with pytest.raises(BidRejected) as exc:
        bid(auction, buyers[0], amount, t0)
    assert exc.value.field == "max_amount"


def test_a_float_amount_is_refused(auction, buyers, t0):
    with pytest.raises(BidRejected):
        bid_place(auction_id=auction.pk, buyer=buyers[0], max_amount=12.5, source=BidSource.API, now=seconds(t0, 1))


def test_a_bid_in_the_last_ten_seconds_extends_the_close_by_ten(auction, buyers, t0):
    deadline = auction.deadline
    bid(auction, buyers[0], "20", t0, 49)  # 11 s left: no extension
    assert fresh(auction).deadline == deadline
    bid(auction, buyers[1], "30", t0, 50)  # 10 s left: extended
    auction = fresh(auction)
    assert (auction.deadline, auction.extensions) == (deadline + timedelta(seconds=10), 1)


def test_soft_close_extends_at_most_five_times(auction, buyers, t0):
    deadline = auction.deadline  # t0 + 60
    for n, at in enumerate((55, 65, 75, 85, 95), start=1):  # 5 s before each extended deadline
        bid(auction, buyers[n % 2], str(20 + 5 * n), t0, at)
        assert fresh(auction).extensions == n
    bid(auction, buyers[2], "100", t0, 105)  # 5 s left again, but the extensions are spent
    auction = fresh(auction)
    assert auction.extensions == 5 and auction.deadline == deadline + timedelta(seconds=50)
    with pytest.raises(BidRejected) as exc:
        bid(auction, buyers[0], "500", t0, 110)
    assert exc.value.code == "closed"


@override_settings(AUCTION_SOFT_CLOSE_SECONDS=30, AUCTION_SOFT_CLOSE_EXTENSION=15, AUCTION_MAX_EXTENSIONS=1)
def test_soft_close_is_configurable(auction, buyers, t0):
    deadline = auction.deadline
    bid(auction, buyers[0], "20", t0, 31)
    bid(auction, buyers[1], "30", t0, 40)
    assert (fresh(auction).deadline, fresh(auction).extensions) == (deadline + timedelta(seconds=15), 1)


def test_no_bid_is_accepted_at_or_after_the_deadline(auction, buyers, t0):
    with pytest.raises(BidRejected) as exc:
        bid(auction, buyers[0], "20", t0, 60)
    assert (exc.value.code, exc.value.kind) == ("closed", "closed")


def test_no_bid_is_accepted_after_close(auction, buyers, t0):
    bid(auction, buyers[0], "20", t0, 1)
    auction_close(auction_id=auction.pk, now=seconds(t0, 61))
    with pytest.raises(BidRejected) as exc:
        bid(auction, buyers[1], "30", t0, 30)  # even with a clock that claims to be early
    assert exc.value.code == "closed"
    assert Bid.objects.count() == 1


def test_a_missing_auction_is_not_found(buyers, t0):
    with pytest.raises(BidRejected) as exc:
        bid_place(auction_id=10**9, buyer=buyers[0], max_amount=D("20"), source=BidSource.API, now=t0)
    assert exc.value.kind == "not_found"
