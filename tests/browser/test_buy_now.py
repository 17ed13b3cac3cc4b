"""Buy now on a phone: filter the list, buy a lead, land back on the filtered list and follow the
link to the purchase."""

import re
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from auctions.models import BuyNowListing, Sale
from auctions.services.auctions import auction_close
from tests.auctions.factories import funded_buyer, make_auction, make_vertical
from tests.browser.axe import axe_violations
from tests.browser.test_marketplace import off_the_loop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = 390


def listed(**lead) -> BuyNowListing:
    def build():
        t0 = timezone.now() - timedelta(minutes=5)
        auction = make_auction(now=t0, **lead)
        auction_close(auction_id=auction.pk, now=t0 + timedelta(seconds=60))
        return BuyNowListing.objects.select_related("lead").get(auction=auction)

    return off_the_loop(build)


def test_a_buyer_on_a_phone_filters_buys_and_reaches_the_purchase(browser, live_server, log_in):
    solar = make_vertical(slug="solar", name="Solar")
    in_california = listed(vertical=solar, state="CA", score=80)
    in_nevada = listed(vertical=solar, state="NV", score=75)
    buyer = funded_buyer(D("100"))
    context = browser.new_context(base_url=live_server.url, viewport={"width": PHONE, "height": 800})
    page = context.new_page()
    try:
        log_in(page, buyer)
        page.goto("/buy-now/")
        expect(page.get_by_test_id("buy-now-row")).to_have_count(2)
        page.get_by_label("State").select_option("NV")
        page.get_by_label("Minimum score").fill("70")
        page.get_by_role("button", name="Show listings").click()
        expect(page).to_have_url(re.compile(r"/buy-now/\?.*state=NV"))
        expect(page.get_by_test_id("buy-now-row")).to_have_count(1)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE
        assert axe_violations(page) == []

        page.get_by_role("link", name=f"Buy lead {in_nevada.lead_id} for 12.00 USDC").click()
        expect(page.get_by_role("heading", name=f"Buy lead {in_nevada.lead_id}?")).to_be_visible()
        page.get_by_role("button", name="Confirm purchase").click()

        expect(page).to_have_url(re.compile(r"/buy-now/\?.*state=NV"))  # back on the filtered list
        expect(page.get_by_text(f"You bought lead {in_nevada.lead_id} for 12.00 USDC.")).to_be_visible()
        expect(page.get_by_test_id("buy-now-empty")).to_contain_text("No listings match these filters.")
        assert axe_violations(page) == []
        page.get_by_role("link", name="View your purchase").click()
        sale = Sale.objects.get(buyer=buyer)
        expect(page).to_have_url(re.compile(rf"/my/purchases/{sale.pk}/$"))
        assert sale.lead_id == in_nevada.lead_id and in_california.lead_id != sale.lead_id
    finally:
        context.close()
