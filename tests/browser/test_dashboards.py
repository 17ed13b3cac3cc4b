"""The dashboards in Chromium, at a laptop's and a phone's width: each role lands on its own after
logging in, the charts render (Chart.js drew them, with the series the tables show), the period
switches, the CSV export downloads, nothing is wider than the screen and axe-core finds no serious
or critical violation. Screenshots go to test-results/dashboard-*.png (docs/screenshots/ takes them)."""

import csv
import io
from decimal import Decimal as D

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from analytics.rollups import rollups_refresh
from tests.analytics.builders import build_facts
from tests.browser.axe import axe_violations
from tests.browser.conftest import RESULTS_DIR
from tests.browser.test_marketplace import off_the_loop
from tests.browser.test_page_widths import LAPTOP, MEASURE, PHONE
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def facts_with_rollups():
    facts = build_facts(t0=timezone.now())
    rollups_refresh()
    return facts


@pytest.fixture
def facts():
    return off_the_loop(facts_with_rollups)


def check_page(page, width: int, name: str) -> None:
    expect(page.locator("canvas[data-rendered=true]").first).to_be_visible()
    measured = page.evaluate(MEASURE)
    assert measured["scrollWidth"] <= width, (name, width, measured["wide"])
    assert axe_violations(page) == [], name
    RESULTS_DIR.mkdir(exist_ok=True)
    page.screenshot(path=str(RESULTS_DIR / f"dashboard-{name}-{width}.png"), full_page=True)


@pytest.mark.parametrize("width", [LAPTOP, PHONE])
def test_the_seller_lands_on_a_dashboard_whose_charts_render(browser, live_server, facts, log_in, width):
    context = browser.new_context(base_url=live_server.url, viewport={"width": width, "height": 900})
    page = context.new_page()
    log_in(page, facts["seller"])
    expect(page).to_have_url(f"{live_server.url}/dashboard/seller/")
    check_page(page, width, "seller")
    # Chart.js drew the revenue series the daily table shows.
    drawn = page.evaluate(
        "() => window.leadEngineCharts.revenue.data.datasets[0].data.reduce((a, v) => a + (v || 0), 0)"
    )
    exported = page.evaluate(
        "() => [...document.querySelectorAll('#daily td[data-column=revenue]')]"
        ".map(td => parseFloat(td.textContent.replace(/[^0-9.]/g, '')) || 0).reduce((a, v) => a + v, 0)"
    )
    assert D(str(drawn)).quantize(D("0.01")) == D(str(exported)).quantize(D("0.01")) > 0
    # Another period: the page follows, and says so.
    page.get_by_label("Period").select_option("7d")
    expect(page.get_by_test_id("period")).to_contain_text("Last 7 days")
    expect(page.locator("#daily tbody tr")).to_have_count(7)
    # The CSV export downloads with the same rows.
    with page.expect_download() as download:
        page.get_by_test_id("export-verticals").click()
    rows = list(csv.reader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
    assert rows[0][0] == "Vertical" and len(rows) == 1 + page.locator("#verticals tbody tr").count()
    context.close()


@pytest.mark.parametrize("width", [LAPTOP, PHONE])
def test_the_buyer_and_staff_dashboards_render(browser, live_server, facts, log_in, width):
    staff = off_the_loop(lambda: UserFactory(is_staff=True, email="ops@example.com"))
    for user, role in ((facts["buyer"], "buyer"), (staff, "staff")):
        context = browser.new_context(base_url=live_server.url, viewport={"width": width, "height": 900})
        page = context.new_page()
        log_in(page, user)
        expect(page).to_have_url(f"{live_server.url}/dashboard/{role}/")
        check_page(page, width, role)
        context.close()


def month_of_facts():
    """A month of a seller's and a buyer's life: a few leads a day, most sold, some rejected, some
    disputed and disposed, each day's facts moved back to their day (the services stamp now)."""
    import random
    from datetime import timedelta

    from analytics.rollups import rollups_rebuild
    from auctions.models import AuctionBidder, Sale
    from leads.choices import RejectionReason
    from leads.models import Lead
    from tests.analytics.builders import dispose, rejected_lead
    from tests.auctions.factories import funded_buyer, make_vertical
    from tests.auctions.factories_bounties import sell_by_auction

    rng = random.Random(15)
    seller = UserFactory(is_seller=True, email="sunny.leads@example.com")
    buyer = funded_buyer(D("100000"), email="acme.solar@example.com")
    verticals = [
        make_vertical(name=name, reserve_price=D(reserve))
        for name, reserve in (("Solar — residential", "24"), ("Roofing", "15"), ("Auto insurance", "9"))
    ]
    now = timezone.now()
    for days_ago in range(29, -1, -1):
        moment = now - timedelta(days=days_ago, hours=rng.randint(0, 3))
        for _ in range(rng.randint(2, 5)):
            sale = sell_by_auction(
                t0=timezone.now(),
                buyer=buyer,
                seller=seller,
                vertical=rng.choice(verticals),
                max_amount=D("40"),
                state=rng.choice(["CA", "TX", "AZ"]),
            )
            if rng.random() < 0.5:
                dispose(sale, rng.choice(["contacted", "quoted", "appointment", "no_answer"]))
            elif rng.random() < 0.3:
                dispose(sale, "sold", revenue=D(rng.choice(["150", "400", "900"])))
            Lead.objects.filter(pk=sale.lead_id).update(created_at=moment, updated_at=moment)
            Sale.objects.filter(pk=sale.pk).update(created_at=moment + timedelta(minutes=2))
            AuctionBidder.objects.filter(auction_id=sale.auction_id).update(created_at=moment + timedelta(minutes=1))
        for _ in range(rng.randint(0, 2)):
            rejected_lead(
                seller=seller,
                vertical=rng.choice(verticals),
                reason=rng.choice(RejectionReason.values),
                created_at=moment,
                campaign=rng.choice(["spring", "search", "social"]),
            )
    rollups_rebuild()
    return seller, buyer


def test_dashboard_screenshots_for_the_docs(browser, live_server, log_in):
    """A month of data on each dashboard, at a laptop's and a phone's width: the pictures in README
    and docs/analytics.md (test-results/docs-dashboard-*.png; copy them to docs/screenshots/)."""
    seller, buyer = off_the_loop(month_of_facts)
    staff = off_the_loop(lambda: UserFactory(is_staff=True, email="ops@example.com"))
    for user, role, width, suffix in (
        (seller, "seller", LAPTOP, ""),
        (seller, "seller", PHONE, "-mobile"),
        (buyer, "buyer", LAPTOP, ""),
        (staff, "staff", LAPTOP, ""),
    ):
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": width, "height": 1500}, reduced_motion="reduce"
        )  # reduced motion: the charts draw at once, no animation to catch half-way
        page = context.new_page()
        log_in(page, user)
        expect(page).to_have_url(f"{live_server.url}/dashboard/{role}/")
        expect(page.locator("canvas[data-rendered=true]").first).to_be_visible()
        RESULTS_DIR.mkdir(exist_ok=True)
        page.screenshot(path=str(RESULTS_DIR / f"docs-dashboard-{role}{suffix}.png"), full_page=width == PHONE)
        assert axe_violations(page) == []
        context.close()
