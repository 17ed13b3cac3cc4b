"""Seller reputation on every listing buyers see (docs/scoring.md, "Seller reputation per
vertical"): the marketplace, the auction room, buy-now (list and confirmation) and the API
(auctions list, detail and bid answer; buy-now list), brought along in the lists' own queries and
never naming the seller."""

from decimal import Decimal as D

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import api_key_create
from auctions.models import BuyNowListing
from auctions.services.auctions import auction_close
from leads.choices import LeadStatus
from leads.models import Lead
from leads.seller_reputation import NEUTRAL_SCORE, seller_reputation_move
from leads.services import seller_reputation_dispute_decided
from tests.auctions.conftest import seconds
from tests.auctions.factories import funded_buyer, make_auction, make_vertical
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.auctions.urls")]

KEYS = {"score", "level", "label", "sales", "return_rate", "dispositions", "contact_rate"}
NEW = {
    "score": NEUTRAL_SCORE,
    "level": "new",
    "label": "New seller",
    "sales": 0,
    "return_rate": None,
    "dispositions": 0,
    "contact_rate": None,
}


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(user=user, name='t').secret}")
    return client


def established(seller, vertical, *, sales: int = 40, full_refunds: int = 2) -> dict:
    """A seller with a record in the vertical; the reputation as the API shows it."""
    seller_reputation_move(seller_id=seller.pk, vertical_id=vertical.pk, sales=sales)
    for _ in range(full_refunds):
        seller_reputation_dispute_decided(
            seller_id=seller.pk, vertical_id=vertical.pk, outcome="refund_full", refund_share=D(1)
        )
    from leads.models import SellerVerticalReputation

    row = SellerVerticalReputation.objects.get(seller=seller, vertical=vertical)
    rate = f"{D(full_refunds) / sales:.4f}"
    return {
        "score": row.score,
        "level": row.level,
        "label": row.get_level_display(),
        "sales": sales,
        "return_rate": rate,
        "dispositions": 0,
        "contact_rate": None,
    }


def closed_unsold(*, t0, **kwargs) -> BuyNowListing:
    auction = make_auction(now=t0, **kwargs)
    auction_close(auction_id=auction.pk, now=seconds(t0, 60))
    return BuyNowListing.objects.get(auction=auction)


# ---------------------------------------------------------------- API


def test_the_auction_list_and_detail_show_each_sellers_reputation_in_the_vertical(
    t0, vertical, django_assert_max_num_queries
):
    known, newcomer = UserFactory(is_seller=True), UserFactory(is_seller=True)
    shown = established(known, vertical)
    elsewhere = make_vertical(slug="elsewhere")
    established(newcomer, elsewhere)  # a record in another vertical does not count here
    ours = [make_auction(seller=known, vertical=vertical, now=t0) for _ in range(3)]
    theirs = make_auction(seller=newcomer, vertical=vertical, now=t0)
    api = client_for(funded_buyer())
    with django_assert_max_num_queries(4):  # the pin of the list without reputation: no per-row query
        body = api.get("/api/v1/auctions/").json()
    by_id = {a["id"]: a["seller_reputation"] for a in body["results"]}
    assert all(by_id[a.pk] == shown for a in ours) and by_id[theirs.pk] == NEW
    assert shown["level"] == "good" and shown["label"] == "Good" and shown["return_rate"] == "0.0500"
    for row in body["results"]:
        assert "seller" not in row and "seller_id" not in row and set(row["seller_reputation"]) == KEYS
    detail = api.get(f"/api/v1/auctions/{ours[0].pk}/").json()
    assert detail["seller_reputation"] == shown


def test_the_bid_answer_carries_the_reputation_too(t0, vertical):
    seller = UserFactory(is_seller=True)
    shown = established(seller, vertical)
    auction = make_auction(seller=seller, vertical=vertical)
    response = client_for(funded_buyer()).post(
        f"/api/v1/auctions/{auction.pk}/bids/", {"max_amount": "12.00"}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["seller_reputation"] == shown


def test_the_buy_now_list_shows_the_reputation_without_more_queries(t0, vertical, django_assert_max_num_queries):
    seller = UserFactory(is_seller=True)
    shown = established(seller, vertical)
    for _ in range(5):
        closed_unsold(t0=t0, vertical=vertical, seller=seller)
    for _ in range(5):
        closed_unsold(t0=t0, vertical=vertical)
    api = client_for(funded_buyer())
    with django_assert_max_num_queries(12):  # the existing pin
        response = api.get("/api/v1/buy-now/")
    results = response.json()["results"]
    assert len(results) == 10
    assert sorted(r["seller_reputation"]["sales"] for r in results) == [0] * 5 + [40] * 5
    assert [r["seller_reputation"] for r in results if r["seller_reputation"]["sales"]] == [shown] * 5


def test_a_sale_moves_the_reputation_buyers_see(t0, vertical):
    seller = UserFactory(is_seller=True)
    sold = make_auction(seller=seller, vertical=vertical, now=t0)
    buyer = funded_buyer()
    client_for(buyer).post(f"/api/v1/auctions/{sold.pk}/bids/", {"max_amount": "15.00"}, format="json")
    auction_close(auction_id=sold.pk, now=seconds(t0, 61))
    assert Lead.objects.get(pk=sold.lead_id).status == LeadStatus.SOLD
    listed = make_auction(seller=seller, vertical=vertical)
    shown = client_for(funded_buyer()).get(f"/api/v1/auctions/{listed.pk}/").json()["seller_reputation"]
    assert shown["sales"] == 1 and shown["return_rate"] == "0.0000" and shown["label"] == "New seller"


# ---------------------------------------------------------------- pages


def _reputations(response) -> list[str]:
    html = response.content.decode()
    return [part.split('"', 1)[0] for part in html.split('data-testid="seller-reputation" data-score="')[1:]]


def test_the_marketplace_shows_the_reputation_per_row_and_queries_do_not_grow(
    client, vertical, django_assert_max_num_queries
):
    seller = UserFactory(is_seller=True)
    shown = established(seller, vertical)
    t = timezone.now()
    for i in range(12):
        make_auction(vertical=vertical, seller=seller if i % 2 else None, now=t)
    client.force_login(funded_buyer())
    with django_assert_max_num_queries(8):  # the existing pin
        response = client.get("/marketplace/")
    assert response.status_code == 200
    assert sorted(_reputations(response)) == sorted([str(NEUTRAL_SCORE)] * 6 + [str(shown["score"])] * 6)
    html = response.content.decode()
    assert "New seller" in html and "Good" in html and "40 sales, 5 % returned" in html
    assert seller.email not in html


def test_the_auction_room_shows_the_sellers_reputation(client, vertical):
    seller = UserFactory(is_seller=True)
    shown = established(seller, vertical)
    auction = make_auction(seller=seller, vertical=vertical)
    client.force_login(funded_buyer())
    response = client.get(f"/auctions/{auction.pk}/")
    assert _reputations(response) == [str(shown["score"])]
    assert response.context["seller_reputation"].label == "Good"
    assert seller.email not in response.content.decode()


def test_buy_now_list_and_confirmation_show_the_sellers_reputation(client, t0, vertical):
    seller = UserFactory(is_seller=True)
    shown = established(seller, vertical)
    listing = closed_unsold(t0=t0, vertical=vertical, seller=seller)
    client.force_login(funded_buyer())
    page = client.get("/buy-now/")
    assert _reputations(page) == [str(shown["score"])]
    assert page.context["previews"][0]["seller_reputation"] == shown
    confirm = client.get(f"/buy-now/{listing.pk}/buy/")
    assert _reputations(confirm) == [str(shown["score"])] and "Good" in confirm.content.decode()
    assert seller.email not in page.content.decode() + confirm.content.decode()
