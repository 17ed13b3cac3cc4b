"""The marketplace and the auction room in the browser. The live server is WSGI (no WebSockets),
so these exercise the polling fallback of static/js/live.js."""

import re
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal as D

import pytest
from django.db import connection
from playwright.sync_api import expect

from auctions.choices import BidSource
from auctions.services.auctions import bid_place
from tests.auctions.factories import funded_buyer, make_auction, make_vertical

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LIVE_TIMEOUT_MS = 15_000


def off_the_loop(fn, /, **kwargs):
    """Run a service in a plain thread. Its on-commit broadcast goes through async_to_sync, which
    refuses to run in this thread while Playwright's event loop is running here."""

    def call():
        try:
            return fn(**kwargs)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result()


def test_a_buyer_finds_an_auction_bids_and_sees_a_rival_bid_arrive_by_polling(page, log_in):
    solar = make_vertical(slug="solar", name="Solar", auction_duration_seconds=600)
    auction = off_the_loop(make_auction, vertical=solar, state="CA", zip="94105", score=77)
    buyer, rival = funded_buyer(), funded_buyer()

    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, buyer)
    page.goto("/marketplace/?vertical=solar")
    expect(page.get_by_test_id("live-indicator")).to_have_text("polling", timeout=LIVE_TIMEOUT_MS)
    row = page.locator(f'[data-auction-id="{auction.pk}"]')
    expect(row).to_contain_text("Solar")
    expect(row).to_contain_text("941")
    expect(row.locator("[data-countdown]")).to_have_text(re.compile(r"^(9|10) min \d\d s$"))
    expect(row.locator('[data-field="reserve_met"]')).to_have_text("not met")

    row.get_by_test_id("room-link").click()
    expect(page).to_have_url(re.compile(rf"/auctions/{auction.pk}/$"))
    page.get_by_label("Your maximum (USDC)").fill("30")
    page.get_by_role("button", name="Place maximum").click()
    expect(page.get_by_test_id("my-status")).to_contain_text("Leading")
    expect(page.get_by_test_id("auction-price")).to_have_text("10.00 USDCPrice")
    expect(page.locator('[data-field="reserve_met"]')).to_have_text("met")
    expect(page.get_by_test_id("minimum-bid")).to_contain_text("At least 30.000001 USDC")  # above my own maximum
    expect(page.get_by_test_id("live-indicator")).to_have_text("polling", timeout=LIVE_TIMEOUT_MS)

    # Another buyer outbids server-side: the room learns it by polling, without a reload, and the
    # minimum-bid hint follows the new price (30.50 + the 0.50 increment).
    off_the_loop(bid_place, auction_id=auction.pk, buyer=rival, max_amount=D("45"), source=BidSource.API)
    expect(page.get_by_test_id("auction-price")).to_contain_text("30.50 USDC", timeout=LIVE_TIMEOUT_MS)
    expect(page.get_by_test_id("my-status")).to_contain_text("Outbid", timeout=LIVE_TIMEOUT_MS)
    expect(page.get_by_test_id("minimum-bid")).to_contain_text("At least 31.00 USDC", timeout=LIVE_TIMEOUT_MS)
    expect(page.get_by_test_id("live-feed")).to_contain_text("price 30.50 USDC")
    assert errors == []


def test_the_marketplace_row_follows_the_price_by_polling(page, log_in):
    solar = make_vertical(slug="solar", name="Solar", auction_duration_seconds=600)
    auction = off_the_loop(make_auction, vertical=solar)
    buyer = funded_buyer()

    log_in(page, buyer)
    page.goto("/marketplace/")
    row = page.locator(f'[data-auction-id="{auction.pk}"]')
    expect(row.get_by_test_id("row-price")).to_have_text("—")
    expect(page.get_by_test_id("live-indicator")).to_have_text("polling", timeout=LIVE_TIMEOUT_MS)

    off_the_loop(bid_place, auction_id=auction.pk, buyer=funded_buyer(), max_amount=D("12"), source=BidSource.API)
    expect(row.get_by_test_id("row-price")).to_have_text("10.00 USDC", timeout=LIVE_TIMEOUT_MS)
    expect(row).to_contain_text("met")


def test_the_vertical_picker_filters_as_you_type_and_works_without_javascript(browser, live_server, page, log_in):
    solar = make_vertical(slug="solar", name="Residential Solar", auction_duration_seconds=600)
    for n, name in enumerate(["Commercial Solar", "Debt Consolidation", "Roofing", "Auto Insurance", "Mortgage"]):
        make_vertical(slug=f"v{n}", name=name)
    off_the_loop(make_auction, vertical=solar)
    buyer = funded_buyer()

    log_in(page, buyer)
    page.goto("/marketplace/")
    picker = page.get_by_test_id("vertical-picker")
    expect(picker.get_by_label("Find a vertical")).to_be_hidden()  # closed: the list comes first
    picker.locator("summary").click()
    search = picker.get_by_label("Find a vertical")
    expect(search).to_be_focused()
    search.fill("sol")
    expect(picker.locator("[data-picker-count]")).to_have_text("3 matches")  # "Consolidation" has "sol" too
    expect(picker.get_by_label("Roofing")).to_be_hidden()
    picker.get_by_label("Residential Solar").check()
    search.press("Enter")  # does not submit the form
    expect(page).to_have_url(re.compile(r"/marketplace/$"))
    search.fill("roof")
    expect(picker.get_by_label("Residential Solar")).to_be_visible()  # ticked ones stay in view
    expect(page.get_by_test_id("vertical-picker-summary")).to_have_text("Residential Solar")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"vertical=solar"))
    expect(page.get_by_test_id("vertical-picker-summary")).to_have_text("Residential Solar")

    # Without JavaScript: no search box, but the disclosure and its checkboxes work.
    plain = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        bare = plain.new_page()
        log_in(bare, buyer)
        bare.goto("/marketplace/")
        bare_picker = bare.get_by_test_id("vertical-picker")
        bare_picker.locator("summary").click()
        expect(bare_picker.get_by_label("Find a vertical")).to_be_hidden()
        bare_picker.get_by_label("Roofing").check()
        bare.get_by_role("button", name="Show").click()
        expect(bare).to_have_url(re.compile(r"vertical=v2"))
        expect(bare.get_by_test_id("vertical-picker-summary")).to_have_text("Roofing")
    finally:
        plain.close()
