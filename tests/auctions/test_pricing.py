"""The proxy rule and the increment ladder, as tables (no database)."""

from decimal import Decimal as D

import pytest

from auctions.pricing import INCREMENT_LADDER, increment_for, minimum_bid, opening_price, proxy_price


@pytest.mark.parametrize(
    ("price", "increment"),
    [
        ("0", "0.25"),
        ("9.99", "0.25"),
        ("10", "0.50"),
        ("49.99", "0.50"),
        ("50", "1.00"),
        ("99.75", "1.00"),
        ("100", "2.50"),
        ("499", "2.50"),
        ("500", "5.00"),
        ("25000", "5.00"),
    ],
)
def test_the_increment_ladder_steps_at_its_documented_bounds(price, increment):
    assert increment_for(D(price)) == D(increment)


@pytest.mark.parametrize(
    ("reserve", "maxima", "price"),
    [
        ("10", [], None),  # no bids: no price
        ("10", ["40"], "10"),  # a single bidder pays the reserve
        ("0", ["40"], "0.25"),  # ...never nothing
        ("10", ["40", "20"], "20.50"),  # second-highest + one increment (0.50 at 20)
        ("10", ["40", "9"], "10"),  # never below the reserve
        ("10", ["20.20", "20"], "20.20"),  # capped at the leader's maximum
        ("10", ["20", "20"], "20"),  # a tie: the earlier leads and pays its own maximum
        ("10", ["300", "120", "50"], "122.50"),  # only the top two count; 2.50 above 100
        ("10", ["1000", "600"], "605"),  # 5 above 500
        ("35", ["36", "35"], "35.50"),
    ],
)
def test_the_visible_price_follows_the_proxy_rule(reserve, maxima, price):
    got = proxy_price(reserve=D(reserve), maxima=[D(m) for m in maxima])
    assert got == (D(price) if price is not None else None)


def test_the_minimum_next_bid_is_the_reserve_then_price_plus_increment():
    assert minimum_bid(reserve=D("10"), price=None) == D("10")
    assert minimum_bid(reserve=D("10"), price=D("10")) == D("10.50")
    assert minimum_bid(reserve=D("10"), price=D("9.75")) == D("10.00")
    assert opening_price(D("0")) == INCREMENT_LADDER[0][1]


def test_the_documentation_states_the_ladder_in_the_code():
    from pathlib import Path

    from django.conf import settings

    doc = (Path(settings.BASE_DIR) / "docs" / "auctions.md").read_text()
    for _below, step in INCREMENT_LADDER:
        assert f"| {step:.2f} |" in doc, f"docs/auctions.md should list the increment {step}"
