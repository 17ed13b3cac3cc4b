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
        wait_for(lambda: Auction.objects.get(pk=overdue.pk).status == AuctionStatus.CLOSED, timeout=20,
                 message="the sweeper thread to close the auction")
    finally:
        stop.set()
