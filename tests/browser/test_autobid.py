"""The autobid form in the browser: field filters as rows, added and removed by the page's script."""

import re

import pytest
from playwright.sync_api import expect

from auctions.models import AutobidRule
from tests.auctions.factories import funded_buyer, make_vertical
from tests.auctions.test_autobid import add_fields

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_buyer_adds_and_removes_filter_rows_and_sees_only_the_chosen_verticals_fields(page, log_in):
    roofing = make_vertical(slug="roofing-b", name="Roofing B")
    add_fields(roofing)
    add_fields(make_vertical(slug="other-b", name="Other B"))
    buyer = funded_buyer()
    log_in(page, buyer)
    page.goto("/autobid/new/")
    rows = page.locator("[data-filter-rows] tr")
    expect(rows).to_have_count(3)
    page.get_by_label("Name").fill("Big metal roofs")
    page.get_by_label("Vertical").select_option(label="Roofing B")
    first_field = rows.nth(0).get_by_label("Field")
    expect(first_field.locator("optgroup")).to_have_count(0)  # only Roofing B's fields now
    page.get_by_role("button", name="Add a filter").click()
    expect(rows).to_have_count(4)
    rows.nth(0).get_by_label("Field").select_option("notes")
    rows.nth(0).get_by_label("Value").fill("anything")
    rows.nth(0).get_by_role("button", name="Remove").click()
    expect(rows.nth(0)).to_be_hidden()
    rows.nth(3).get_by_label("Field").select_option("sqft")
    rows.nth(3).get_by_label("Operator").select_option(label="≥")
    rows.nth(3).get_by_label("Value").fill("1500")
    rows.nth(1).get_by_label("Field").select_option("roof_type")
    rows.nth(1).get_by_label("Operator").select_option(label="not in")
    rows.nth(1).get_by_label("Value").fill("tile, shingle")
    page.get_by_label("Maximum bid (USDC)").fill("20")
    page.get_by_label("Daily budget (USDC)").fill("100")
    page.get_by_label("Daily lead cap").fill("5")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/autobid/\d+/$"))
    assert AutobidRule.objects.get(buyer=buyer).field_filters == [
        {"field": "roof_type", "op": "not_in", "value": ["tile", "shingle"]},
        {"field": "sqft", "op": "gte", "value": 1500},
    ]
