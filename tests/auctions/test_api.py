"""The integrator API: asks, the marketplace list and detail, bids, the bid log."""

from decimal import Decimal as D

import pytest
from rest_framework.test import APIClient

from accounts.services import api_key_create
from auctions.choices import BidSource
from auctions.models import Ask
from auctions.services.auctions import auction_close, bid_place
from tests.api_errors import api_error, error_fields
from tests.auctions.conftest import seconds
from tests.auctions.factories import funded_buyer, make_auction, make_vertical
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.auctions.urls")]


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(user=user, name='t').secret}")
    return client


# ---------------------------------------------------------------- asks


def test_a_seller_creates_lists_edits_and_deletes_their_asks(seller, vertical):
    api = client_for(seller)
    created = api.post(
        "/api/v1/asks/",
        {
            "vertical": vertical.slug,
            "states": ["CA", "NV"],
            "reserve_price": "12.5",
            "buy_now_multiplier": "1.5",
            "duration_seconds": 90,
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["states"] == ["CA", "NV"] and body["reserve_price"] == "12.500000" and body["auto_list"] is True
    ask_id = body["id"]
    assert [a["id"] for a in api.get("/api/v1/asks/").json()["results"]] == [ask_id]

    patched = api.patch(f"/api/v1/asks/{ask_id}/", {"auto_list": False, "reserve_price": "15"}, format="json")
    assert patched.status_code == 200, patched.json()
    assert patched.json()["auto_list"] is False and patched.json()["states"] == ["CA", "NV"]
    assert api.delete(f"/api/v1/asks/{ask_id}/").status_code == 204
    assert not Ask.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"states": ["ZZ"]}, "states"),
        ({"duration_seconds": 10}, "duration_seconds"),
        ({"reserve_price": "1.1234567"}, "reserve_price"),
        ({"reserve_price": "abc"}, "reserve_price"),
        ({"states": ["ca"]}, "states"),
        ({"buy_now_price": "5", "reserve_price": "6"}, "buy_now_price"),
        ({"buy_now_price": "12", "buy_now_multiplier": "1.5"}, "buy_now_price"),
        ({"buy_now_multiplier": "0.5"}, "buy_now_multiplier"),
        ({"active": "yes"}, "active"),
        ({"vertical": "no/such"}, "vertical"),
    ],
)
def test_invalid_asks_get_field_level_400s(seller, vertical, payload, field):
    response = client_for(seller).post("/api/v1/asks/", {"vertical": vertical.slug, **payload}, format="json")
    assert response.status_code == 400 and field in error_fields(response), response.json()


@pytest.mark.parametrize(
    ("payload", "status", "code", "param"),
    [
        ({"vertical": "no-such-vertical"}, 404, "resource_missing", "vertical"),
        ({"buy_now_price": "5"}, 409, "below_reserve", "buy_now_price"),  # the vertical's reserve is 10
    ],
)
def test_asks_against_what_is_stored_are_404_or_409(seller, vertical, payload, status, code, param):
    response = client_for(seller).post("/api/v1/asks/", {"vertical": vertical.slug, **payload}, format="json")
    assert response.status_code == status
    error = api_error(response)
    assert (error["code"], error["param"]) == (code, param)


def test_a_duplicate_active_ask_is_a_409_on_states(seller, vertical):
    api = client_for(seller)
    assert api.post("/api/v1/asks/", {"vertical": vertical.slug}, format="json").status_code == 201
    response = api.post("/api/v1/asks/", {"vertical": vertical.slug, "states": []}, format="json")
    assert response.status_code == 409
    assert api_error(response)["code"] == "ask_exists" and api_error(response)["param"] == "states"


def test_sellers_see_and_touch_only_their_own_asks(seller, vertical):
    other = UserFactory(is_seller=True)
    theirs = Ask.objects.create(seller=other, vertical=vertical)
    api = client_for(seller)
    assert api.get("/api/v1/asks/").json()["results"] == []
    assert api.get(f"/api/v1/asks/{theirs.pk}/").status_code == 404
    assert api.patch(f"/api/v1/asks/{theirs.pk}/", {"active": False}, format="json").status_code == 404
    assert api.delete(f"/api/v1/asks/{theirs.pk}/").status_code == 404
    assert client_for(UserFactory(is_buyer=True)).get("/api/v1/asks/").status_code == 403
    assert APIClient().get("/api/v1/asks/").status_code in (401, 403)


# ---------------------------------------------------------------- auctions


def test_the_marketplace_lists_open_and_recent_auctions_with_filters(t0, django_assert_max_num_queries):
    solar, roofing = make_vertical(slug="solar-x"), make_vertical(slug="roofing-x")
    ca = make_auction(vertical=solar, state="CA", score=80, now=t0)
    tx = make_auction(vertical=solar, state="TX", score=50, now=t0)
    roof = make_auction(vertical=roofing, state="CA", score=90)
    api = client_for(funded_buyer())
    with django_assert_max_num_queries(4):  # key + user, page, (no per-row queries)
        body = api.get("/api/v1/auctions/").json()
    assert [a["id"] for a in body["results"]] == [roof.pk, tx.pk, ca.pk]
    first = body["results"][2]
    assert first["state"] == "CA" and first["zip3"] == "941" and first["quality_score"] == 80
    assert first["price"] is None and first["reserve_met"] is False and first["reserve_price"] == "10.000000"

    def ids(**params):
        response = api.get("/api/v1/auctions/", params)
        assert response.status_code == 200, response.json()
        return {a["id"] for a in response.json()["results"]}

    assert ids(vertical="solar-x") == {ca.pk, tx.pk}
    assert ids(state="CA") == {ca.pk, roof.pk}
    assert ids(min_score=75) == {ca.pk, roof.pk}
    assert ids(closing_within=3600) == {ca.pk, tx.pk, roof.pk}
    assert ids(closing_within=30) == set()  # each closes about 60 s from now
    auction_close(auction_id=ca.pk, now=seconds(t0, 61))
    assert ids(status="closed") == {ca.pk}
    assert api.get("/api/v1/auctions/", {"min_score": "x"}).status_code == 400
    assert api.get("/api/v1/auctions/", {"state": "ZZ"}).status_code == 400


def test_the_list_is_cursor_paginated(t0):
    vertical = make_vertical()
    made = [make_auction(vertical=vertical).pk for _ in range(5)]
    api = client_for(funded_buyer())
    page = api.get("/api/v1/auctions/", {"page_size": 2}).json()
    seen = [a["id"] for a in page["results"]]
    while page["next"]:
        page = api.get(page["next"]).json()
        seen += [a["id"] for a in page["results"]]
    assert seen == sorted(made, reverse=True)


def test_the_detail_shows_price_my_maximum_and_standing(auction, t0):
    leader, other = funded_buyer(), funded_buyer()
    bid_place(auction_id=auction.pk, buyer=leader, max_amount=D("40"), source=BidSource.API, now=seconds(t0, 1))
    bid_place(auction_id=auction.pk, buyer=other, max_amount=D("20"), source=BidSource.API, now=seconds(t0, 2))
    body = client_for(leader).get(f"/api/v1/auctions/{auction.pk}/").json()
    assert (body["price"], body["reserve_met"], body["my_max"], body["my_status"], body["bid_count"]) == (
        "20.500000",
        True,
        "40.000000",
        "leading",
        2,
    )
    assert body["my_ref"].startswith("b-") and body["deadline"] and "time_left" in body
    assert client_for(other).get(f"/api/v1/auctions/{auction.pk}/").json()["my_status"] == "outbid"
    stranger = client_for(funded_buyer()).get(f"/api/v1/auctions/{auction.pk}/").json()
    assert (stranger["my_status"], stranger["my_max"], stranger["minimum_bid"]) == ("none", None, "21.000000")
    assert client_for(leader).get("/api/v1/auctions/999999/").status_code == 404


def test_posting_a_bid_returns_201_with_the_new_state(auction):
    api = client_for(funded_buyer())
    response = api.post(f"/api/v1/auctions/{auction.pk}/bids/", {"max_amount": "12.50"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["price"], body["my_max"], body["my_status"], body["bid"]["sequence"]) == (
        "10.000000",
        "12.500000",
        "leading",
        1,
    )


@pytest.mark.parametrize("amount", ["1.1234567", "", "-3", "0", 12, "1e3", " 12"])
def test_malformed_bids_are_400s_on_max_amount(auction, amount):
    response = client_for(funded_buyer()).post(
        f"/api/v1/auctions/{auction.pk}/bids/", {"max_amount": amount}, format="json"
    )
    assert response.status_code == 400 and "max_amount" in error_fields(response), response.json()


@pytest.mark.parametrize(("amount", "code"), [("9", "below_reserve"), ("5000", "insufficient_funds")])
def test_bids_the_auction_or_balance_cannot_take_are_409s_on_max_amount(auction, amount, code):
    response = client_for(funded_buyer()).post(
        f"/api/v1/auctions/{auction.pk}/bids/", {"max_amount": amount}, format="json"
    )
    assert response.status_code == 409, response.json()
    assert api_error(response)["code"] == code and api_error(response)["param"] == "max_amount"


def test_forbidden_bids_are_403s_and_late_bids_409s(auction, seller, t0):
    own = client_for(seller).post(f"/api/v1/auctions/{auction.pk}/bids/", {"max_amount": "20"}, format="json")
    assert own.status_code == 403 and api_error(own)["code"] == "not_a_buyer"
    seller.is_buyer = True
    seller.save(update_fields=["is_buyer"])
    own = client_for(seller).post(f"/api/v1/auctions/{auction.pk}/bids/", {"max_amount": "20"}, format="json")
    assert own.status_code == 403 and api_error(own)["code"] == "own_lead"
    auction_close(auction_id=auction.pk, now=seconds(t0, 60))
    late = client_for(funded_buyer()).post(f"/api/v1/auctions/{auction.pk}/bids/", {"max_amount": "20"}, format="json")
    assert late.status_code == 409 and api_error(late)["code"] == "closed" and api_error(late)["param"] is None
    assert (
        client_for(funded_buyer())
        .post("/api/v1/auctions/999999/bids/", {"max_amount": "20"}, format="json")
        .status_code
        == 404
    )


def test_the_bid_log_is_for_participants_the_seller_and_staff_and_published_at_close(auction, seller, t0):
    a, b = funded_buyer(), funded_buyer()
    bid_place(auction_id=auction.pk, buyer=a, max_amount=D("40"), source=BidSource.API, now=seconds(t0, 1))
    bid_place(auction_id=auction.pk, buyer=b, max_amount=D("20"), source=BidSource.API, now=seconds(t0, 2))
    url = f"/api/v1/auctions/{auction.pk}/bid-log/"
    assert client_for(funded_buyer()).get(url).status_code == 404
    while_open = client_for(b).get(url).json()
    assert while_open["published"] is False and while_open["entries"] is None and while_open["length"] == 2
    staff = UserFactory(is_staff=True)
    assert len(client_for(staff).get(url).json()["entries"]) == 2

    closed = auction_close(auction_id=auction.pk, now=seconds(t0, 60))
    for user in (a, b, seller):
        body = client_for(user).get(url).json()
        assert body["published"] and len(body["entries"]) == 2
        assert body["head"] == body["sale_digest"] == closed.log_head == body["entries"][-1]["hash"]
