"""Each wired event fires from the service where its fact happens (real services, no mocks).
The chain-settled ones (deposits, withdrawals, funding, release): test_events_chain.py."""

from datetime import timedelta
from decimal import Decimal

import pytest

from auctions.choices import BidSource
from auctions.services.auctions import auction_close, bid_place
from leads import imports
from notifications import services
from notifications.choices import NotificationEvent
from notifications.models import Notification
from tests.auctions.factories import funded_buyer, make_auction, make_vertical
from tests.factories import UserFactory
from tests.leads import conftest as leads_fixtures
from tests.leads.test_csv_import import csv_row, make_import

pytestmark = pytest.mark.django_db

D = Decimal
E = NotificationEvent
solar = leads_fixtures.solar  # the leads tests' vertical fixture (assigned: see tests/escrow/test_deposits.py)


def _events(user) -> list[str]:
    return list(Notification.objects.filter(user=user).order_by("id").values_list("event", flat=True))


@pytest.fixture
def auction():
    return make_auction(seller=UserFactory(is_seller=True), vertical=make_vertical())


def _bid(auction, buyer, amount, at):
    return bid_place(
        auction_id=auction.pk,
        buyer=buyer,
        max_amount=D(amount),
        source=BidSource.API,
        now=auction.opened_at + timedelta(seconds=at),
    )


def test_outbid_won_lost_lead_sold_and_purchase_ready_from_the_auction(auction):
    first, second = funded_buyer(), funded_buyer()
    _bid(auction, first, "20", 1)
    _bid(auction, second, "40", 2)
    assert _events(first) == [E.OUTBID]
    outbid = Notification.objects.get(user=first)
    assert f"auction {auction.pk}" in outbid.title and outbid.url == f"/auctions/{auction.pk}/"

    auction_close(auction_id=auction.pk, now=auction.deadline + timedelta(seconds=1))
    assert _events(first) == [E.OUTBID, E.LOST]
    # Settled in the ledger only (the test profile): the contact details are readable at the sale.
    assert sorted(_events(second)) == sorted([E.WON, E.PURCHASE_READY])
    assert _events(auction.seller) == [E.LEAD_SOLD]
    sold = Notification.objects.get(user=auction.seller)
    assert sold.email_status == "digest" and f"Lead {auction.lead_id} sold" in sold.title

    # Closing again tells nobody anything twice.
    auction_close(auction_id=auction.pk, now=auction.deadline + timedelta(seconds=2))
    assert Notification.objects.count() == 5


def test_notifications_carry_no_lead_pii(auction):
    buyer = funded_buyer()
    _bid(auction, buyer, "20", 1)
    auction_close(auction_id=auction.pk, now=auction.deadline + timedelta(seconds=1))
    lead = auction.lead
    texts = " ".join(f"{n.title} {n.body} {n.context}" for n in Notification.objects.all())
    for field in ("email", "phone", "first_name", "last_name", "address"):
        value = getattr(lead, field, None)
        assert not value or str(value) not in texts


def test_low_balance_fires_when_a_bid_takes_the_balance_below_the_threshold_once(auction):
    buyer = funded_buyer(D("100"))
    services.preferences_update(user=buyer, choices={}, low_balance_threshold=D("50"), threshold=True)
    _bid(auction, buyer, "30", 1)  # 70 left: above
    assert E.LOW_BALANCE not in _events(buyer)
    _bid(auction, buyer, "60", 2)  # 40 left: crossed
    assert _events(buyer).count(E.LOW_BALANCE) == 1
    _bid(auction, buyer, "70", 3)  # 30 left: still below, nothing more
    assert _events(buyer).count(E.LOW_BALANCE) == 1
    low = Notification.objects.get(user=buyer, event=E.LOW_BALANCE)
    assert low.url == "/wallet/" and "50.00 USDC" in low.title


def test_import_finished_tells_the_seller_with_counts_only(solar):
    seller = UserFactory(is_seller=True)
    rows = [csv_row(1), csv_row(2), csv_row(3, **{"Zip Code": "nope"})]
    csv_import = make_import(seller, solar, rows)
    imports.csv_import_start(csv_import=csv_import)
    imports.csv_import_run(csv_import_id=csv_import.pk)
    imports.csv_import_run(csv_import_id=csv_import.pk)  # again: nothing more
    [note] = Notification.objects.filter(user=seller, event=E.IMPORT_FINISHED)
    assert note.title == f"CSV import {csv_import.pk} finished"
    assert "imported" in note.body and "Given0001" not in note.body
    assert note.url == f"/seller/imports/{csv_import.pk}/"
