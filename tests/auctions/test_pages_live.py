"""The buyer's live pages: the marketplace, the polling endpoint, my bids and my wins."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from auctions.choices import BidSource
from auctions.services.auctions import auction_close, bid_place
from tests.auctions.conftest import seconds
from tests.auctions.factories import funded_buyer, make_auction, make_vertical
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _rows(response) -> list[int]:
    return [a.pk for a in response.context["auctions"]]


@pytest.mark.parametrize("path", ["/marketplace/", "/my/bids/", "/my/wins/", "/marketplace/state.json?ids=1"])
def test_anonymous_visitors_are_sent_to_log_in(client, path):
    response = client.get(path)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_my_pages_are_for_buyers(client):
    client.force_login(UserFactory(is_buyer=False))
    assert client.get("/my/bids/").status_code == 403
    assert client.get("/my/wins/").status_code == 403


def test_the_marketplace_shows_open_auctions_with_their_live_hooks(client, auction):
    buyer = funded_buyer()
    bid_place(auction_id=auction.pk, buyer=buyer, max_amount=D("30"), source=BidSource.WEB)
    client.force_login(buyer)
    response = client.get("/marketplace/")
    assert response.status_code == 200 and _rows(response) == [auction.pk]
    page = response.content.decode()
    assert f'data-auction-id="{auction.pk}"' in page and f"/auctions/{auction.pk}/" in page
    assert 'data-deadline="' in page and 'data-server-now="' in page and "js/live.js" in page
    assert ">10.00 USDC<" in page and ">met<" in page and auction.lead.zip[:3] in page
    assert 'data-testid="live-indicator"' in page


def test_the_marketplace_filters_by_vertical_state_and_score(client):
    solar, roofing = make_vertical(slug="solar", name="Solar"), make_vertical(slug="roofing", name="Roofing")
    ca_solar = make_auction(vertical=solar, state="CA", score=80)
    tx_solar = make_auction(vertical=solar, state="TX", zip="75001", score=40)
    ca_roof = make_auction(vertical=roofing, state="CA", score=90)
    closed = make_auction(vertical=solar, now=timezone.now() - timedelta(minutes=5))
    auction_close(auction_id=closed.pk)
    client.force_login(funded_buyer())

    assert set(_rows(client.get("/marketplace/"))) == {ca_solar.pk, tx_solar.pk, ca_roof.pk}
    response = client.get("/marketplace/?vertical=solar")
    assert set(_rows(response)) == {ca_solar.pk, tx_solar.pk}
    assert 'value="solar" checked' in response.content.decode()  # the choice is remembered
    assert set(_rows(client.get("/marketplace/?vertical=solar&vertical=roofing&state=ca"))) == {ca_solar.pk, ca_roof.pk}
    assert _rows(client.get("/marketplace/?min_score=85")) == [ca_roof.pk]
    assert _rows(client.get("/marketplace/?vertical=solar&min_score=50")) == [ca_solar.pk]
    # Nonsense filters are ignored rather than failing the page.
    assert len(_rows(client.get("/marketplace/?state=XX&min_score=abc&vertical=nope"))) == 3


def test_an_exclusive_vertical_stays_hidden_from_buyers_it_does_not_list(client):
    private = make_vertical(slug="vip")
    insider = funded_buyer()
    private.exclusive_buyers.add(insider)
    hidden = make_auction(vertical=private)
    client.force_login(funded_buyer())
    assert _rows(client.get("/marketplace/?vertical=vip")) == []
    assert client.get(f"/marketplace/state.json?ids={hidden.pk}").json()["auctions"] == []
    client.force_login(insider)
    assert _rows(client.get("/marketplace/?vertical=vip")) == [hidden.pk]


def test_the_marketplace_pages_with_a_cursor_and_queries_do_not_grow(client, vertical, django_assert_max_num_queries):
    t = timezone.now()
    made = [make_auction(vertical=vertical, now=t + timedelta(milliseconds=i)) for i in range(30)]
    client.force_login(funded_buyer())
    with django_assert_max_num_queries(8):
        first = client.get("/marketplace/")
    assert _rows(first) == [a.pk for a in reversed(made)][:25]
    next_url = first.context["next_url"]
    assert next_url
    with django_assert_max_num_queries(8):
        second = client.get(f"/marketplace/{next_url}")
    assert _rows(second) == [a.pk for a in reversed(made)][25:]
    assert second.context["next_url"] == ""
    assert client.get("/marketplace/?cursor=garbage").status_code == 200  # a bad cursor is the first page


def test_the_state_endpoint_gives_price_deadline_and_my_standing(client, auction, django_assert_max_num_queries):
    alice, bob = funded_buyer(), funded_buyer()
    bid_place(auction_id=auction.pk, buyer=alice, max_amount=D("40"), source=BidSource.WEB)
    bid_place(auction_id=auction.pk, buyer=bob, max_amount=D("20"), source=BidSource.WEB)
    client.force_login(bob)
    with django_assert_max_num_queries(5):
        body = client.get(f"/marketplace/state.json?ids={auction.pk},abc,999999").json()
    assert body["now"] and len(body["auctions"]) == 1
    state = body["auctions"][0]
    assert state["id"] == auction.pk and state["price"] == "20.500000" and state["reserve_met"] is True
    assert state["my_max"] == "20.000000" and state["my_status"] == "outbid" and state["bid_count"] == 2
    assert state["status"] == "open" and state["deadline"]
    client.force_login(alice)
    state = client.get(f"/marketplace/state.json?ids={auction.pk}").json()["auctions"][0]
    assert state["my_status"] == "leading" and state["my_max"] == "40.000000"  # never another buyer's maximum


def test_my_bids_shows_each_auction_with_my_maximum_and_status(client, vertical, t0, django_assert_max_num_queries):
    me, rival = funded_buyer(), funded_buyer()
    leading = make_auction(vertical=vertical, now=t0)
    outbid = make_auction(vertical=vertical, now=t0)
    won = make_auction(vertical=vertical, now=t0)
    lost = make_auction(vertical=vertical, now=t0)
    untouched = make_auction(vertical=vertical, now=t0)
    at = seconds(t0, 1)
    bid_place(auction_id=leading.pk, buyer=me, max_amount=D("30"), now=at)
    bid_place(auction_id=outbid.pk, buyer=me, max_amount=D("15"), now=at)
    bid_place(auction_id=outbid.pk, buyer=rival, max_amount=D("25"), now=at)
    bid_place(auction_id=won.pk, buyer=me, max_amount=D("50"), now=at)
    bid_place(auction_id=won.pk, buyer=rival, max_amount=D("20"), now=at)
    bid_place(auction_id=lost.pk, buyer=rival, max_amount=D("60"), now=at)
    bid_place(auction_id=lost.pk, buyer=me, max_amount=D("45"), now=at)
    bid_place(auction_id=untouched.pk, buyer=rival, max_amount=D("99"), now=at)
    auction_close(auction_id=won.pk, now=seconds(t0, 61))
    auction_close(auction_id=lost.pk, now=seconds(t0, 61))

    client.force_login(me)
    with django_assert_max_num_queries(6):
        response = client.get("/my/bids/")
    assert response.status_code == 200
    statuses = {row.auction.pk: (row.status, row.my_max) for row in response.context["rows"]}
    assert statuses == {
        leading.pk: ("leading", D("30")),
        outbid.pk: ("outbid", D("15")),
        won.pk: ("won", D("50")),
        lost.pk: ("lost", D("45")),
    }
    page = response.content.decode()
    assert f"#{untouched.pk}<" not in page and "99.00" not in page  # never another buyer's bids
    assert "60.00" not in page  # the rival's maximum is not shown; only the clearing price is

    with django_assert_max_num_queries(6):
        wins = client.get("/my/wins/")
    sales = wins.context["sales"]
    assert [s.auction_id for s in sales] == [won.pk]
    assert sales[0].price == D("20.50") and sales[0].my_max == D("50")
    assert "20.50" in wins.content.decode()

    client.force_login(rival)
    rival_rows = {row.auction.pk: row.status for row in client.get("/my/bids/").context["rows"]}
    assert rival_rows == {outbid.pk: "leading", won.pk: "lost", lost.pk: "won", untouched.pk: "leading"}
    assert [s.auction_id for s in client.get("/my/wins/").context["sales"]] == [lost.pk]


def test_my_bids_pages_with_a_cursor(client, vertical, t0):
    me = funded_buyer()
    made = [make_auction(vertical=vertical, now=t0) for _ in range(27)]
    for a in made:
        bid_place(auction_id=a.pk, buyer=me, max_amount=D("10"), now=seconds(t0, 1))
    client.force_login(me)
    first = client.get("/my/bids/")
    assert [r.auction.pk for r in first.context["rows"]] == [a.pk for a in reversed(made)][:25]
    second = client.get(f"/my/bids/{first.context['next_url']}")
    assert [r.auction.pk for r in second.context["rows"]] == [a.pk for a in reversed(made)][25:]
    assert second.context["next_url"] == ""


def test_the_room_embeds_server_time_the_live_feed_and_my_standing(client, auction):
    buyer = funded_buyer()
    client.force_login(buyer)
    assert client.post(f"/auctions/{auction.pk}/", {"max_amount": "25"}).status_code == 302
    page = client.get(f"/auctions/{auction.pk}/").content.decode()
    assert 'data-server-now="' in page and f'data-deadline="{auction.deadline.isoformat()}"' in page
    assert 'data-testid="live-feed"' in page and "js/live.js" in page and 'data-my-ref="' in page
    assert 'data-field="my_status" data-value="leading">Leading<' in page and "25.00 USDC" in page
