"""A returned lead offered again (docs/disputes.md) is shown as returned on every listing: the
marketplace, the auction room, buy-now (list and confirmation) and the API."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import api_key_create
from auctions.models import BuyNowListing
from auctions.services.auctions import auction_close
from leads.models import Lead
from tests.auctions.conftest import seconds
from tests.auctions.factories import funded_buyer, make_auction

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.auctions.urls")]
BADGE = 'data-testid="returned-badge"'


def _returned(auction):
    Lead.objects.filter(pk=auction.lead_id).update(returned_at=timezone.now())
    return auction


def test_the_marketplace_room_and_api_mark_a_returned_lead(client, vertical):
    returned = _returned(make_auction(vertical=vertical))
    plain = make_auction(vertical=vertical)
    buyer = funded_buyer()
    client.force_login(buyer)
    assert client.get("/marketplace/").content.decode().count(BADGE) == 1
    assert BADGE in client.get(f"/auctions/{returned.pk}/").content.decode()
    assert BADGE not in client.get(f"/auctions/{plain.pk}/").content.decode()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(user=buyer, name='t').secret}")
    rows = {row["id"]: row["returned"] for row in api.get("/api/v1/auctions/").json()["results"]}
    assert rows == {returned.pk: True, plain.pk: False}
    assert api.get(f"/api/v1/auctions/{returned.pk}/").json()["returned"] is True


def test_buy_now_marks_a_returned_lead(client, t0, vertical):
    auction = _returned(make_auction(now=t0, vertical=vertical))
    auction_close(auction_id=auction.pk, now=seconds(t0, 60))
    listing = BuyNowListing.objects.get(auction=auction)
    buyer = funded_buyer()
    client.force_login(buyer)
    assert BADGE in client.get("/buy-now/").content.decode()
    assert BADGE in client.get(f"/buy-now/{listing.pk}/buy/").content.decode()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(user=buyer, name='t').secret}")
    assert [row["returned"] for row in api.get("/api/v1/buy-now/").json()["results"]] == [True]
