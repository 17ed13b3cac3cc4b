"""Server-rendered pages (asks, the auction room) and the admin."""

from decimal import Decimal as D

import pytest

from auctions.choices import BidSource
from auctions.models import Ask, AuctionBidder
from auctions.services.auctions import auction_close, bid_place
from tests.auctions.conftest import seconds
from tests.auctions.factories import funded_buyer
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.auctions.urls")]


def test_a_seller_manages_asks_through_the_pages(client, seller, vertical):
    client.force_login(seller)
    assert client.get("/seller/asks/").status_code == 200
    assert client.get("/seller/asks/new/").status_code == 200
    response = client.post(
        "/seller/asks/new/",
        {"vertical": vertical.pk, "states": "ca, nv", "reserve_price": "15", "auto_list": "on", "active": "on"},
    )
    assert response.status_code == 302
    ask = Ask.objects.get(seller=seller)
    assert ask.states == ["CA", "NV"] and ask.reserve_price == D("15") and ask.auto_list
    page = client.get("/seller/asks/").content.decode()
    assert "CA, NV" in page and f"/seller/asks/{ask.pk}/edit/" in page

    assert client.get(f"/seller/asks/{ask.pk}/edit/").status_code == 200
    response = client.post(
        f"/seller/asks/{ask.pk}/edit/",
        {"vertical": vertical.pk, "states": "CA", "duration_seconds": "120", "active": "on"},
    )
    assert response.status_code == 302
    ask.refresh_from_db()
    assert (ask.states, ask.duration_seconds, ask.auto_list) == (["CA"], 120, False)
    assert client.post(f"/seller/asks/{ask.pk}/delete/").status_code == 302
    assert not Ask.objects.exists()


def test_the_ask_form_shows_field_errors(client, seller, vertical):
    client.force_login(seller)
    response = client.post("/seller/asks/new/", {"vertical": vertical.pk, "duration_seconds": "5"})
    assert response.status_code == 200 and "duration_seconds" in response.context["form"].errors
    response = client.post("/seller/asks/new/", {"vertical": vertical.pk, "states": "CA, XX"})  # the service's check
    assert response.status_code == 200 and "XX" in response.context["form"].errors["states"][0]
    assert not Ask.objects.exists()


def test_ask_pages_are_for_sellers_and_their_own_asks(client, vertical):
    assert client.get("/seller/asks/").status_code == 302  # log in first
    theirs = Ask.objects.create(seller=UserFactory(is_seller=True), vertical=vertical)
    client.force_login(UserFactory(is_seller=True))
    assert client.get(f"/seller/asks/{theirs.pk}/edit/").status_code == 404
    assert client.post(f"/seller/asks/{theirs.pk}/delete/").status_code == 404
    client.force_login(UserFactory(is_buyer=True))
    assert client.get("/seller/asks/").status_code == 403


def test_a_buyer_bids_in_the_auction_room(client, auction):
    buyer = funded_buyer()
    client.force_login(buyer)
    page = client.get(f"/auctions/{auction.pk}/")
    assert page.status_code == 200 and b'data-testid="bid-form"' in page.content
    response = client.post(f"/auctions/{auction.pk}/", {"max_amount": "22.5"})
    assert response.status_code == 302
    assert AuctionBidder.objects.get(buyer=buyer).max_amount == D("22.5")
    page = client.get(f"/auctions/{auction.pk}/").content.decode()
    assert "leading" in page and "bid-log-link" in page


def test_a_refused_bid_shows_the_reason_in_the_room(client, auction):
    client.force_login(funded_buyer())
    response = client.post(f"/auctions/{auction.pk}/", {"max_amount": "5"})
    assert response.status_code == 400 and "Below the reserve" in response.content.decode()
    client.force_login(UserFactory(is_buyer=False))
    assert client.post(f"/auctions/{auction.pk}/", {"max_amount": "50"}).status_code == 403
    assert client.get("/auctions/999999/").status_code == 404


def test_participants_download_the_bid_log_after_close(client, auction, seller, t0):
    buyer = funded_buyer()
    bid_place(auction_id=auction.pk, buyer=buyer, max_amount=D("30"), source=BidSource.WEB, now=seconds(t0, 1))
    auction_close(auction_id=auction.pk, now=seconds(t0, 60))
    for user in (buyer, seller):
        client.force_login(user)
        response = client.get(f"/auctions/{auction.pk}/bid-log.json")
        assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
        assert response.json()["entries"][0]["max_amount"] == "30.000000"
    client.force_login(funded_buyer())
    assert client.get(f"/auctions/{auction.pk}/bid-log.json").status_code == 404
    room = client.get(f"/auctions/{auction.pk}/").content.decode()
    assert "bid-form" not in room and "Sold" in room


def test_the_admin_pages_load(client, auction, t0):
    buyer = funded_buyer()
    bid_place(auction_id=auction.pk, buyer=buyer, max_amount=D("30"), source=BidSource.API, now=seconds(t0, 1))
    Ask.objects.create(seller=auction.seller, vertical=auction.vertical, states=["CA"])
    auction_close(auction_id=auction.pk, now=seconds(t0, 60))
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    for model in ("ask", "auction", "bid", "sale"):
        assert client.get(f"/admin/auctions/{model}/").status_code == 200, model
    from auctions.models import Bid, Sale

    for path in (
        f"/admin/auctions/ask/{Ask.objects.get().pk}/change/",
        "/admin/auctions/ask/add/",
        f"/admin/auctions/auction/{auction.pk}/change/",
        f"/admin/auctions/bid/{Bid.objects.get().pk}/change/",
        f"/admin/auctions/sale/{Sale.objects.get().pk}/change/",
    ):
        assert client.get(path).status_code == 200, path


def test_the_admin_action_closes_overdue_auctions(client, vertical, seller):
    from datetime import timedelta

    from django.utils import timezone

    from tests.auctions.factories import make_auction

    overdue = make_auction(vertical=vertical, seller=seller, now=timezone.now() - timedelta(minutes=5))
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.post("/admin/auctions/auction/", {"action": "close_overdue", "_selected_action": [overdue.pk]})
    assert response.status_code == 302
    overdue.refresh_from_db()
    assert overdue.status == "closed" and overdue.result == "unsold"


def test_the_admin_refuses_an_invalid_ask(client, seller, vertical):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.post(
        "/admin/auctions/ask/add/",
        {"seller": seller.pk, "vertical": vertical.pk, "states": '["XX"]', "auto_list": "on", "active": "on"},
    )
    assert response.status_code == 200 and "Unknown US state" in response.content.decode()
    assert not Ask.objects.exists()
