"""The buy-now page (/buy-now/): filters narrow the list, keyset pages walk every listing once, the
query count does not grow with the rows, bad filters get a message in words (400, never a 500),
the empty states say what to do, and a purchase leads back to the list with a link to it."""

import html
import re
from decimal import Decimal as D

import pytest

from auctions.models import BuyNowListing, Sale
from auctions.services.auctions import auction_close
from tests.auctions.conftest import seconds
from tests.auctions.factories import funded_buyer, make_auction, make_vertical

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.auctions.urls")]


def listed(*, t0, **kwargs) -> BuyNowListing:
    auction = make_auction(now=t0, **kwargs)
    auction_close(auction_id=auction.pk, now=seconds(t0, 60))
    return BuyNowListing.objects.get(auction=auction)


def ids(response) -> list[int]:
    return [p["listing_id"] for p in response.context["previews"]]


@pytest.fixture
def buyer(client):
    user = funded_buyer(D("1000"))
    client.force_login(user)
    return user


@pytest.fixture
def market(t0):
    """Solar (with a residential sub-vertical) and roofing listings in CA and NV, scores 40-90,
    prices 12 (reserve 10 × 1.2) and 60 (reserve 50 × 1.2)."""
    solar = make_vertical(name="Solar", slug="solar")
    residential = make_vertical(name="Residential Solar", slug="solar-residential", parent=solar)
    roofing = make_vertical(name="Roofing", slug="roofing", reserve_price=D("50"))
    return {
        "solar_ca": listed(t0=t0, vertical=solar, state="CA", score=90),
        "residential_nv": listed(t0=t0, vertical=residential, state="NV", score=60),
        "roofing_ca": listed(t0=t0, vertical=roofing, state="CA", score=40),
    }


# ---------------------------------------------------------------- filters


def test_each_filter_narrows_the_list_and_a_parent_vertical_includes_its_sub_verticals(client, buyer, market):
    m = {name: listing.pk for name, listing in market.items()}
    assert sorted(ids(client.get("/buy-now/"))) == sorted(m.values())
    assert set(ids(client.get("/buy-now/?vertical=solar"))) == {m["solar_ca"], m["residential_nv"]}
    assert ids(client.get("/buy-now/?vertical=solar-residential")) == [m["residential_nv"]]
    assert set(ids(client.get("/buy-now/?state=ca"))) == {m["solar_ca"], m["roofing_ca"]}  # any case
    assert set(ids(client.get("/buy-now/?min_score=60"))) == {m["solar_ca"], m["residential_nv"]}
    assert set(ids(client.get("/buy-now/?max_price=12.00"))) == {m["solar_ca"], m["residential_nv"]}
    assert ids(client.get("/buy-now/?vertical=solar&state=CA&min_score=50&max_price=20")) == [m["solar_ca"]]


def test_the_form_keeps_the_chosen_filters_with_labels_and_units(client, buyer, market):
    page = html.unescape(client.get("/buy-now/?vertical=solar&state=NV&min_score=50&max_price=15").content.decode())
    assert '<option value="solar" selected>Solar</option>' in page
    assert '<option value="solar-residential">\u00a0\u00a0Residential Solar</option>' in page  # indented under Solar
    assert '<option value="NV" selected>NV</option>' in page
    assert 'name="min_score" min="0" max="100" step="1" inputmode="numeric" value="50"' in page
    assert 'value="15"' in page and "Maximum price <small" in page and "(USDC)" in page
    assert 'data-testid="clear-filters"' in page


def test_prices_show_as_usdc_with_two_decimals(client, buyer, market):
    page = client.get("/buy-now/").content.decode()
    prices = re.findall(r'data-testid="row-price">([^<]+)<', page)
    assert sorted(prices) == ["12.00 USDC", "12.00 USDC", "60.00 USDC"]


# ---------------------------------------------------------------- paging


def test_pages_walk_every_listing_once_newest_first_even_when_listed_at_the_same_instant(client, buyer, t0):
    vertical = make_vertical()
    listings = [listed(t0=t0, vertical=vertical) for _ in range(23)]
    assert len({listing.created_at for listing in listings}) == 1  # ties: the id breaks them
    seen, url, pages = [], "/buy-now/?page_size=10&state=CA", 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        seen += ids(response)
        pages += 1
        url = response.context["next_url"]
        if url:
            assert "page_size=10" in url and "state=CA" in url  # the filters follow the pages
    assert pages == 3 and seen == sorted((listing.pk for listing in listings), reverse=True)
    assert len(set(seen)) == 23


def test_a_bad_or_foreign_cursor_is_the_first_page(client, buyer, market):
    assert ids(client.get("/buy-now/?cursor=garbage")) == ids(client.get("/buy-now/"))


def test_the_page_size_defaults_to_25(client, buyer, t0):
    vertical = make_vertical()
    for _ in range(26):
        listed(t0=t0, vertical=vertical)
    response = client.get("/buy-now/")
    assert len(ids(response)) == 25 and response.context["next_url"]
    assert '<option value="25" selected>25</option>' in response.content.decode()


def test_the_query_count_does_not_grow_with_listings_or_verticals(client, buyer, t0, django_assert_num_queries):
    listed(t0=t0)
    client.get("/buy-now/")
    # Session, user, the verticals for the filter, the page of listings, the verticals' schemas (2).
    with django_assert_num_queries(6):
        few = client.get("/buy-now/?min_score=10")
    for _ in range(3):
        vertical = make_vertical()
        for _ in range(4):
            listed(t0=t0, vertical=vertical)
    with django_assert_num_queries(6):
        many = client.get("/buy-now/?min_score=10")
    assert (len(ids(few)), len(ids(many))) == (1, 13)


# ---------------------------------------------------------------- bad input, empty states


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("min_score=abc", "min_score", "Enter a whole number from 0 to 100."),
        ("min_score=101", "min_score", "Enter a whole number from 0 to 100."),
        ("min_score=-1", "min_score", "Enter a whole number from 0 to 100."),
        ("min_score=" + "9" * 30, "min_score", "Enter a whole number from 0 to 100."),
        ("min_score=%C2%B2", "min_score", "Enter a whole number from 0 to 100."),
        ("max_price=abc", "max_price", "Enter an amount in USDC, such as 15.00."),
        ("max_price=NaN", "max_price", "Enter an amount in USDC, such as 15.00."),
        ("max_price=1e999999", "max_price", "Enter an amount below 1,000,000,000,000 USDC."),
        ("max_price=-5", "max_price", "Enter an amount of 0 USDC or more."),
        ("max_price=1.1234567", "max_price", "USDC has at most 6 decimal places."),
        ("state=ZZ", "state", "Use a two-letter US state such as CA (not ZZ)."),
        ("vertical=nope", "vertical", "There is no vertical nope to buy from: pick one from the list."),
        ("page_size=7", "page_size", "Show 10, 25, 50 or 100 listings a page."),
    ],
)
def test_a_bad_filter_gets_a_message_in_words_not_a_500(client, buyer, market, query, field, message):
    response = client.get(f"/buy-now/?{query}")
    page = html.unescape(response.content.decode())
    assert response.status_code == 400
    assert message in page and 'data-testid="filter-errors"' in page
    assert f'id="f-{field}"' in page and f'aria-describedby="e-{field}"' in page  # the field says what is wrong
    assert response.context["previews"] == [] and 'data-testid="buy-now-list"' not in page


def test_the_error_summary_names_fields_in_words_not_parameter_names(client, buyer, market):
    page = client.get("/buy-now/?min_score=abc&max_price=x").content.decode()
    assert '<a href="#f-min_score">Minimum score</a>' in page and '<a href="#f-max_price">Maximum price</a>' in page


def test_an_empty_market_says_where_listings_come_from(client, buyer):
    page = client.get("/buy-now/").content.decode()
    assert "Nothing is on buy now at the moment." in page and 'href="/marketplace/"' in page


def test_filters_that_match_nothing_say_so_and_offer_every_listing(client, buyer, market):
    page = client.get("/buy-now/?state=TX").content.decode()
    assert "No listings match these filters." in page and 'href="/buy-now/"' in page


# ---------------------------------------------------------------- buying


def test_buying_from_a_filtered_list_returns_to_it_with_a_link_to_the_purchase(client, buyer, market):
    listing = market["solar_ca"]
    page = client.get("/buy-now/?state=CA&min_score=50").content.decode()
    buy_url = f"/buy-now/{listing.pk}/buy/?back=state%3DCA%26min_score%3D50"
    assert f'href="{buy_url.replace("&", "&amp;")}"' in page
    confirm = client.get(buy_url).content.decode()
    assert 'name="back" value="state=CA&amp;min_score=50"' in confirm
    response = client.post(f"/buy-now/{listing.pk}/buy/", {"back": "state=CA&min_score=50"}, follow=True)
    sale = Sale.objects.get(buyer=buyer)
    assert response.redirect_chain == [("/buy-now/?state=CA&min_score=50", 302)]
    body = response.content.decode()
    assert f"You bought lead {listing.lead_id} for 12.00 USDC." in body
    assert f'<a href="/my/purchases/{sale.pk}/" data-testid="purchase-link">View your purchase</a>' in body
    assert listing.pk not in ids(response)
    assert client.get(f"/my/purchases/{sale.pk}/").status_code == 200


def test_back_keeps_only_the_lists_own_parameters(client, buyer, market):
    listing = market["solar_ca"]
    response = client.post(f"/buy-now/{listing.pk}/buy/", {"back": "state=CA&next=//evil.example/&x=1"})
    assert response.status_code == 302 and response["Location"] == "/buy-now/?state=CA"
