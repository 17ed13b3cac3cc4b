"""Odd query strings and bodies on the auction, buy-now and wallet endpoints: 4xx or ignored, never 500."""

import pytest
from rest_framework.test import APIClient

from accounts.services import api_key_create
from tests.auctions.factories import funded_buyer, make_auction

pytestmark = pytest.mark.django_db

HUGE = "9" * 30
GETS = [
    "/marketplace/state.json?ids=%C2%B2",
    f"/marketplace/state.json?ids={HUGE}",
    "/marketplace/state.json?ids=-1,x,",
    f"/marketplace/?min_score={HUGE}",
    "/marketplace/?min_score=%C2%B2&state=zz&verticals=%00",
    "/api/v1/buy-now/?max_price=1e999999",
    "/api/v1/buy-now/?max_price=NaN",
    f"/api/v1/buy-now/?min_score={HUGE}",
    "/api/v1/auctions/?min_score=abc",
    f"/api/v1/auctions/?closing_within={HUGE}",
    "/api/v1/auctions/?closing_within=1e400",
    "/api/v1/auctions/?cursor=garbage",
    f"/api/v1/auctions/{HUGE}/",
    f"/api/v1/buy-now/{HUGE}/purchase/",
    "/wallet/?cursor=garbage",
    "/api/v1/ledger/?cursor=garbage",
    "/my/bids/?cursor=garbage",
    "/my/wins/?cursor=zz",
    f"/auctions/{HUGE}/",
    f"/api/v1/auctions/{HUGE}/bid-log/",
]


@pytest.fixture
def buyer_clients(client):
    buyer = funded_buyer()
    client.force_login(buyer)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(user=buyer, name='probe').secret}")
    return client, api


@pytest.mark.parametrize("url", GETS)
def test_odd_query_strings_never_reach_a_500(buyer_clients, url):
    client, api = buyer_clients
    response = (api if url.startswith("/api/") else client).get(url)
    assert response.status_code < 500, (url, response.status_code)


@pytest.mark.parametrize(
    "body",
    [
        {"max_amount": "1e999999"},
        {"max_amount": "NaN"},
        {"max_amount": "-1"},
        {"max_amount": []},
        {"max_amount": {}},
        {"max_amount": "0.0000001"},
        {"max_amount": HUGE},
        {},
        [],
        "x",
    ],
)
def test_odd_bids_get_a_4xx(buyer_clients, body):
    _, api = buyer_clients
    auction = make_auction()
    response = api.post(f"/api/v1/auctions/{auction.pk}/bids/", body, format="json")
    assert 400 <= response.status_code < 500, (body, response.status_code)


def test_a_purchase_of_a_huge_listing_id_is_404(buyer_clients):
    _, api = buyer_clients
    assert api.post(f"/api/v1/buy-now/{HUGE}/purchase/", HTTP_IDEMPOTENCY_KEY="k").status_code == 404


SELLER_GETS = [
    f"/seller/leads/?score_min={HUGE}",
    "/seller/leads/?score_min=%C2%B2",
    "/seller/leads/?created_from=0001-01-01",
    "/seller/leads/?cursor=garbage&sort=-nope",
    f"/api/v1/leads/?page_size={HUGE}",
    "/api/v1/leads/?created_to=99999-1-1",
    f"/seller/leads/{HUGE}/",
    f"/seller/imports/{HUGE}/",
    f"/api/v1/asks/{HUGE}/",
    "/seller/asks/?x=%C2%B2",
    "/seller/leads/export.csv?score_max=1e999",
]


@pytest.mark.parametrize("url", SELLER_GETS)
def test_odd_seller_query_strings_never_reach_a_500(client, url):
    from tests.factories import UserFactory

    seller = UserFactory(is_seller=True)
    client.force_login(seller)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(user=seller, name='probe').secret}")
    response = (api if url.startswith("/api/") else client).get(url)
    assert response.status_code < 500, (url, response.status_code)
