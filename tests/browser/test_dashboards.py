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
