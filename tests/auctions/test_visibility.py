"""One visibility rule (issue #10 §3): an exclusive vertical's auctions and buy-now listings exist
only for its listed buyers, the lead's seller and staff (auctions.selectors.auctions.auction_visible_q) —
on the REST lists and details, bids, the marketplace, the auction room, buy-now pages and API and
the polling endpoint. Everyone else gets what a missing id gets. The socket and autobid:
test_visibility_live.py, test_autobid.py."""

import pytest
from rest_framework.test import APIClient

from accounts.services import api_key_create
from auctions.models import Auction, BuyNowListing
from auctions.services.auctions import auction_close
from tests.api_errors import api_error
from tests.auctions.factories import funded_buyer, make_auction, make_vertical
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def without_request_id(body: dict) -> dict:
    return {k: v for k, v in body.items() if k != "request_id"}


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(user=user, name='t').secret}")
    return client


@pytest.fixture
def people(db):
    """The exclusive vertical's cast: a listed buyer, an outsider buyer, the lead's seller (not
    listed) and a staff member (not listed)."""
    staff = funded_buyer()
    staff.is_staff = True
    staff.save()
    return {
        "insider": funded_buyer(),
        "outsider": funded_buyer(),
        "seller": UserFactory(is_seller=True),
        "staff": staff,
    }


@pytest.fixture
def private(people):
    vertical = make_vertical(slug="vip-legal")
    vertical.exclusive_buyers.add(people["insider"])
    return vertical


@pytest.fixture
def hidden(private, people) -> Auction:
    return make_auction(vertical=private, seller=people["seller"])


@pytest.fixture
def public() -> Auction:
    return make_auction(vertical=make_vertical(slug="open-solar"))


def closed_unsold(auction: Auction) -> BuyNowListing:
    auction_close(auction_id=auction.pk, now=auction.deadline)
    return BuyNowListing.objects.get(auction=auction)


SEES = ("insider", "seller", "staff")


# ---------------------------------------------------------------- REST


@pytest.mark.parametrize("who", ["insider", "outsider", "seller", "staff"])
def test_the_rest_list_shows_an_exclusive_auction_only_to_its_listed_buyers_seller_and_staff(
    people, hidden, public, who
):
    ids = [row["id"] for row in client_for(people[who]).get("/api/v1/auctions/").json()["results"]]
    assert public.pk in ids
    assert (hidden.pk in ids) == (who in SEES)
    filtered = client_for(people[who]).get("/api/v1/auctions/?vertical=vip-legal").json()["results"]
    assert [row["id"] for row in filtered] == ([hidden.pk] if who in SEES else [])


@pytest.mark.parametrize("who", ["insider", "outsider", "seller", "staff"])
def test_the_rest_detail_is_a_404_to_outsiders_like_a_missing_id(people, hidden, who):
    api = client_for(people[who])
    response = api.get(f"/api/v1/auctions/{hidden.pk}/")
    if who in SEES:
        assert response.status_code == 200 and response.json()["id"] == hidden.pk
    else:
        missing = api.get(f"/api/v1/auctions/{10**12}/")
        assert response.status_code == missing.status_code == 404
        assert without_request_id(response.json()) == without_request_id(missing.json())
        assert b"vip-legal" not in response.content and b"941" not in response.content


def test_an_outsiders_bid_is_a_404_and_places_nothing(people, hidden):
    api = client_for(people["outsider"])
    response = api.post(f"/api/v1/auctions/{hidden.pk}/bids/", {"max_amount": "50"}, format="json")
    assert response.status_code == 404
    assert api_error(response)["code"] == "not_found"
    assert not hidden.bids.exists()
    # Staff see it but may not bid unless listed; the seller may not bid on its own lead.
    staff = client_for(people["staff"]).post(f"/api/v1/auctions/{hidden.pk}/bids/", {"max_amount": "50"}, format="json")
    assert (staff.status_code, api_error(staff)["code"]) == (403, "exclusive_vertical")
    insider = client_for(people["insider"]).post(
        f"/api/v1/auctions/{hidden.pk}/bids/", {"max_amount": "50"}, format="json"
    )
    assert insider.status_code == 201


def test_the_bid_log_and_autobid_trace_stay_closed_to_outsiders(people, hidden):
    api = client_for(people["outsider"])
    assert api.get(f"/api/v1/auctions/{hidden.pk}/bid-log/").status_code == 404
    assert api.get(f"/api/v1/auctions/{hidden.pk}/autobid-trace/").status_code == 404
    assert client_for(people["insider"]).get(f"/api/v1/auctions/{hidden.pk}/autobid-trace/").status_code == 200
    assert client_for(people["seller"]).get(f"/api/v1/auctions/{hidden.pk}/bid-log/").status_code == 200


def test_the_rest_list_costs_the_same_queries_with_exclusive_verticals_and_more_rows(
    people, private, django_assert_num_queries
):
    api = client_for(people["outsider"])
    make_auction(vertical=make_vertical())
    api.get("/api/v1/auctions/")  # the key's first use records last_used_at
    with django_assert_num_queries(1) as few:  # the page (visibility inside it); the API key is memoised
        api.get("/api/v1/auctions/")
    for _ in range(3):
        make_auction(vertical=private)
        make_auction(vertical=make_vertical())
    with django_assert_num_queries(len(few.captured_queries)):
        rows = api.get("/api/v1/auctions/").json()["results"]
    assert len(rows) == 4 and all(row["vertical"] != "vip-legal" for row in rows)


# ---------------------------------------------------------------- pages


@pytest.mark.parametrize("who", ["insider", "outsider", "seller", "staff"])
def test_the_auction_room_is_a_404_to_outsiders(client, people, hidden, who):
    client.force_login(people[who])
    response = client.get(f"/auctions/{hidden.pk}/")
    assert response.status_code == (200 if who in SEES else 404)
    if who not in SEES:
        assert client.post(f"/auctions/{hidden.pk}/", {"max_amount": "50"}).status_code == 404
        assert not hidden.bids.exists()


def test_the_marketplace_and_its_polling_show_the_auction_to_insiders_only(client, people, hidden, public):
    client.force_login(people["outsider"])
    rows = [a.pk for a in client.get("/marketplace/").context["auctions"]]
    assert public.pk in rows and hidden.pk not in rows
    state = client.get(f"/marketplace/state.json?ids={hidden.pk},{public.pk}").json()["auctions"]
    assert [a["id"] for a in state] == [public.pk]
    client.force_login(people["insider"])
    assert hidden.pk in [a.pk for a in client.get("/marketplace/").context["auctions"]]


def test_the_seller_polls_its_own_exclusive_auction_in_the_room(client, people, hidden):
    """The socket does not carry an exclusive vertical to an unlisted seller; the room polls."""
    client.force_login(people["seller"])
    state = client.get(f"/marketplace/state.json?ids={hidden.pk}").json()["auctions"]
    assert [a["id"] for a in state] == [hidden.pk]
    assert hidden.vertical not in client.get("/marketplace/").context["verticals"]


# ---------------------------------------------------------------- buy now


@pytest.mark.parametrize("who", ["insider", "outsider", "seller", "staff"])
def test_buy_now_lists_pages_and_api_show_the_listing_only_to_those_who_see_its_auction(client, people, hidden, who):
    listing = closed_unsold(hidden)
    user = people[who]
    api_ids = [row["listing_id"] for row in client_for(user).get("/api/v1/buy-now/").json()["results"]]
    client.force_login(user)
    page_ids = [p["listing_id"] for p in client.get("/buy-now/").context["previews"]]
    confirm = client.get(f"/buy-now/{listing.pk}/buy/")
    if who in SEES:
        assert api_ids == page_ids == [listing.pk] and confirm.status_code == 200
    else:
        assert api_ids == page_ids == [] and confirm.status_code == 404
        missing = client.get(f"/buy-now/{10**12}/buy/")
        assert missing.status_code == 404


def test_an_outsiders_buy_now_purchase_is_a_404_on_the_page_and_the_api(client, people, hidden):
    listing = closed_unsold(hidden)
    response = client_for(people["outsider"]).post(
        f"/api/v1/buy-now/{listing.pk}/purchase/", HTTP_IDEMPOTENCY_KEY="outsider-1"
    )
    assert (response.status_code, api_error(response)["code"]) == (404, "not_found")
    missing = client_for(people["outsider"]).post(
        f"/api/v1/buy-now/{10**12}/purchase/", HTTP_IDEMPOTENCY_KEY="outsider-2"
    )
    assert without_request_id(response.json()) == without_request_id(missing.json())
    client.force_login(people["outsider"])
    assert client.post(f"/buy-now/{listing.pk}/buy/").status_code == 404
    listing.refresh_from_db()
    assert listing.status == "open" and listing.buyer_id is None


def test_buy_now_list_queries_do_not_grow_with_exclusive_listings(people, private, django_assert_num_queries):
    api = client_for(people["outsider"])
    closed_unsold(make_auction(vertical=make_vertical()))
    api.get("/api/v1/buy-now/")
    # The page, then the verticals' schemas (two queries however many verticals; the API key is memoised).
    with django_assert_num_queries(3) as few:
        api.get("/api/v1/buy-now/")
    for _ in range(2):
        closed_unsold(make_auction(vertical=private))
    with django_assert_num_queries(len(few.captured_queries)):
        rows = api.get("/api/v1/buy-now/").json()["results"]
    assert len(rows) == 1


# ---------------------------------------------------------------- the rule itself


def test_an_unlisted_user_loses_sight_when_a_vertical_becomes_exclusive(people, public):
    from auctions.selectors.auctions import auction_is_visible, auction_list_live

    outsider = people["outsider"]
    assert auction_is_visible(auction=public, user=outsider)
    public.vertical.exclusive_buyers.add(people["insider"])
    assert not auction_is_visible(auction=public, user=outsider)
    assert public.pk not in [a.pk for a in auction_list_live(user=outsider)]
    assert auction_is_visible(auction=public, user=people["insider"])
