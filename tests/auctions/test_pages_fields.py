"""Buyers see what they bid on: the lead's biddable fields in words (labels and units from the
vertical's schema, never keys, stored values or PII) on the marketplace, in the auction room, on
buy-now and in the live payloads; the marketplace's vertical picker."""

import html
import re
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from auctions.choices import BidSource
from auctions.models import BuyNowListing
from auctions.services.auctions import _lead_preview, auction_close, bid_place
from auctions.services.buynow import buy_now_previews
from tests.auctions.factories import funded_buyer, make_auction, make_vertical
from verticals.services import vertical_upsert

pytestmark = pytest.mark.django_db

FIELDS = [
    {"key": "homeowner", "label": "Owns the home", "type": "boolean", "biddable": True},
    {
        "key": "credit_band",
        "label": "Credit score (self-reported)",
        "type": "choice",
        "choices": ["excellent (720+)", "good (680-719)"],
        "biddable": True,
    },
    {
        "key": "monthly_electric_bill",
        "label": "Average monthly electric bill (USD)",
        "type": "decimal",
        "min_value": 0,
        "max_value": 2000,
        "biddable": True,
    },
    {
        "key": "roof_age_years",
        "label": "Roof age (years)",
        "type": "integer",
        "min_value": 0,
        "max_value": 100,
        "biddable": True,
    },
    {"key": "move_date", "label": "Planned move date", "type": "date", "biddable": True},
    {
        "key": "roof_features",
        "label": "Roof features",
        "type": "multi_choice",
        "choices": ["skylight", "chimney", "vents"],
        "biddable": True,
    },
    {"key": "internal_note", "label": "Seller's note", "type": "text"},  # not biddable: sold with the lead only
    {"key": "date_of_birth", "label": "Date of birth", "type": "date", "pii": True},
]
VALUES = {
    "homeowner": True,
    "credit_band": "good (680-719)",
    "monthly_electric_bill": 220.5,
    "roof_age_years": 12,
    "move_date": "2026-07-01",
    "roof_features": ["skylight", "vents"],
    "internal_note": "called twice",
}
SHOWN = [
    ("Owns the home", "Yes"),
    ("Credit score (self-reported)", "Good (680-719)"),
    ("Average monthly electric bill", "220.50 USD"),
    ("Roof age", "12 years"),
    ("Planned move date", "1 Jul 2026"),
    ("Roof features", "Skylight, vents"),
]
RAW = [
    "homeowner",
    "credit_band",
    "monthly_electric_bill",
    "220.5<",
    "True",
    "2026-07-01",
    "called twice",
    "Seller's note",
    "internal_note",
]


@pytest.fixture
def solar(db):
    """A parent vertical with the fields and a child that inherits them (the schema is the merge)."""
    parent = vertical_upsert(
        slug="solar", name="Solar", reserve_price=D("10"), auction_duration_seconds=600, fields=FIELDS
    )
    return vertical_upsert(
        slug="solar-residential",
        name="Residential Solar",
        parent=parent,
        reserve_price=D("10"),
        auction_duration_seconds=600,
    )


def text(response) -> str:
    return html.unescape(response.content.decode())


def assert_in_words(body: str, pairs=SHOWN) -> None:
    for label, value in pairs:
        assert re.search(rf"{re.escape(label)}:?\s*(</span>|</dt>\s*<dd>)\s*{re.escape(value)}\s*<", body), (
            label,
            value,
        )
    for raw in RAW:
        assert raw not in body, raw


def test_the_marketplace_shows_each_leads_biddable_fields_in_words(client, solar):
    auction = make_auction(vertical=solar, fields=VALUES)
    client.force_login(funded_buyer())
    body = text(client.get("/marketplace/"))
    row = body[body.index(f'data-auction-id="{auction.pk}"') :]
    assert_in_words(row[: row.index("</tr>")])


def test_the_marketplace_reads_fields_in_constant_queries_across_verticals(client, solar, django_assert_num_queries):
    buyer = funded_buyer()
    client.force_login(buyer)
    make_auction(vertical=solar, fields=VALUES)
    client.get("/marketplace/")  # warm the session
    with django_assert_num_queries(6) as few:  # session from the cache; +1: the unread notifications badge
        client.get("/marketplace/")
    for n in range(4):  # more verticals, more auctions: the same number of queries
        other = vertical_upsert(
            slug=f"roofing-{n}",
            name=f"Roofing {n}",
            reserve_price=D("10"),
            fields=[{"key": f"roof_{n}", "label": "Roof", "type": "text", "biddable": True}],
        )
        make_auction(vertical=other, fields={f"roof_{n}": "tile"})
        make_auction(vertical=solar, fields=VALUES)
    with django_assert_num_queries(len(few.captured_queries)):
        body = text(client.get("/marketplace/"))
    assert body.count('data-testid="auction-row"') == 9 and "Roof:</span> tile" in body


def test_the_auction_room_shows_the_fields_money_and_standing_in_words(client, solar):
    auction = make_auction(vertical=solar, fields=VALUES)
    buyer = funded_buyer()
    bid_place(auction_id=auction.pk, buyer=buyer, max_amount=D("52.5"), source=BidSource.WEB)
    bid_place(auction_id=auction.pk, buyer=funded_buyer(), max_amount=D("60"), source=BidSource.WEB)
    client.force_login(buyer)
    body = text(client.get(f"/auctions/{auction.pk}/"))
    section = body[body.index('data-testid="lead-fields"') :]
    assert_in_words(section[: section.index("</dl>")])
    assert ">53.50 USDC<" in body and ">10.00 USDC<" in body  # price and reserve
    assert "Your maximum: <strong" in body and ">52.50 USDC<" in body and ">Outbid<" in body
    assert "At least <strong" in body and ">54.50 USDC<" in body  # 53.50 + the 1.00 increment
    assert ">52.500000" not in body and ">outbid<" not in body  # (raw values only in data-value, for live.js)
    assert re.search(r"closes <span[^>]*>\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d:\d\d UTC<", body)


def test_a_closed_room_shows_the_result_and_time_in_words(client, solar):
    t0 = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    auction = make_auction(vertical=solar, fields=VALUES, now=t0)
    buyer = funded_buyer()
    bid_place(
        auction_id=auction.pk, buyer=buyer, max_amount=D("30"), source=BidSource.WEB, now=t0 + timedelta(seconds=5)
    )
    auction_close(auction_id=auction.pk, now=t0 + timedelta(seconds=600))
    client.force_login(buyer)
    body = text(client.get(f"/auctions/{auction.pk}/"))
    assert "Sold" in body and "at 10.00 USDC" in body and ">Won<" in body
    assert re.search(r"closed \d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d:\d\d UTC", body)


def test_buy_now_pages_show_the_fields_vertical_price_and_expiry_in_words(client, solar):
    t0 = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    auction = make_auction(vertical=solar, fields=VALUES, now=t0)
    auction_close(auction_id=auction.pk, now=t0 + timedelta(seconds=600))
    listing = BuyNowListing.objects.get(auction=auction)
    client.force_login(funded_buyer())
    listed = text(client.get("/buy-now/"))
    # The vertical filter's option values are slugs (URL parameters); the listings show names.
    table = listed[listed.index('data-testid="buy-now-list"') :]
    assert "Residential Solar" in table and ">12.00 USDC<" in table and "solar-residential" not in table
    assert re.search(r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC", listed)  # the expiry, not an ISO string
    row = listed[listed.index("<tbody>") :]
    assert_in_words(row[: row.index("</tr>")])
    confirm = text(client.get(f"/buy-now/{listing.pk}/buy/"))
    section = confirm[confirm.index('data-testid="lead-fields"') :]
    assert_in_words(section[: section.index("</dl>")])
    assert "<strong>12.00 USDC</strong>" in confirm


def test_the_live_payloads_carry_the_fields_in_the_same_words(solar):
    auction = make_auction(vertical=solar, fields=VALUES)
    listed = _lead_preview(auction, auction.lead)
    assert [(f["label"], f["text"]) for f in listed["fields_display"]] == SHOWN
    assert "internal_note" not in listed["fields"] and "date_of_birth" not in listed["fields"]
    auction_close(auction_id=auction.pk, now=auction.deadline)
    preview = buy_now_previews(listings=[BuyNowListing.objects.get(auction=auction)])[0]
    assert [(f["label"], f["text"]) for f in preview["fields_display"]] == SHOWN
    assert preview["vertical_name"] == "Residential Solar"


def test_the_poll_gives_each_caller_the_minimum_bid_that_follows_the_price(client, solar):
    auction = make_auction(vertical=solar)
    leader, rival, watcher = funded_buyer(), funded_buyer(), funded_buyer()
    bid_place(auction_id=auction.pk, buyer=leader, max_amount=D("30"), source=BidSource.WEB)
    bid_place(auction_id=auction.pk, buyer=rival, max_amount=D("20"), source=BidSource.WEB)

    def minimum(user) -> str:
        client.force_login(user)
        return client.get(f"/marketplace/state.json?ids={auction.pk}").json()["auctions"][0]["minimum_bid"]

    # Price 20.50: the watcher must beat it by an increment; the leader and the rival must go above
    # their own maximum.
    assert (minimum(watcher), minimum(leader), minimum(rival)) == ("21.000000", "30.000001", "21.000000")
    bid_place(auction_id=auction.pk, buyer=rival, max_amount=D("40"), source=BidSource.WEB)  # price 30.50
    assert (minimum(watcher), minimum(leader), minimum(rival)) == ("31.000000", "31.000000", "40.000001")


def test_the_marketplace_vertical_picker_is_a_closed_searchable_disclosure(client, solar):
    for n in range(30):
        make_vertical(slug=f"v-{n:02d}", name=f"Vertical {n:02d}")
    client.force_login(funded_buyer())
    body = text(client.get("/marketplace/?vertical=solar-residential"))
    picker = body[body.index('data-testid="vertical-picker"') :]
    picker = picker[: picker.index("</details>")]
    assert " open" not in picker.split(">")[0]  # closed: the list comes first
    assert 'data-testid="vertical-picker-summary">Residential Solar<' in picker
    assert picker.count('type="checkbox" name="vertical"') >= 31
    assert 'value="solar-residential" checked' in picker
    assert 'type="search"' in picker and "data-picker-search-box hidden" in picker  # shown by picker.js
    assert '<label for="vertical-search">Find a vertical</label>' in picker
    assert "js/picker.js" in body
