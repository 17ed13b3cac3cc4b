"""Public pages: home, verticals and their field schemas, API docs."""

import re

import pytest
from playwright.sync_api import expect

from tests.factories import VerticalFactory, VerticalFieldFactory
from verticals.choices import FieldType

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def solar(db):
    solar = VerticalFactory(slug="e2e-solar", name="Solar", tagline="Panels on roofs")
    residential = VerticalFactory(slug="e2e-residential-solar", name="Residential Solar", parent=solar)
    VerticalFieldFactory(vertical=solar, key="roof_type", label="Roof type", type=FieldType.TEXT, position=1)
    VerticalFieldFactory(
        vertical=residential,
        key="monthly_bill",
        label="Monthly electric bill",
        type=FieldType.TEXT,
        required=True,
        position=2,
    )
    VerticalFieldFactory(vertical=residential, key="home_owner", label="Owns the home", type=FieldType.TEXT, position=3)
    return solar, residential


def test_vertical_list_links_to_detail_with_field_schema(page, solar):
    page.goto("/verticals/")
    expect(page.get_by_role("heading", name="Verticals", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Solar", exact=True)).to_be_visible()

    page.get_by_role("link", name="Residential Solar").click()

    expect(page).to_have_url(re.compile(r"/verticals/e2e-residential-solar/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Residential Solar")
    schema = page.get_by_test_id("field-schema")
    rows = schema.locator("tbody tr")
    expect(rows).to_have_count(3)
    # The parent's field comes first, marked as inherited.
    expect(rows.nth(0)).to_contain_text("Roof type (from Solar)")
    expect(rows.nth(0)).to_contain_text("roof_type")
    expect(rows.nth(1)).to_contain_text("Monthly electric bill")
    expect(rows.nth(1)).not_to_contain_text("(from")
    expect(rows.nth(2)).to_contain_text("Owns the home")
    # Breadcrumbs lead back up to the parent.
    page.locator(".crumbs").get_by_role("link", name="Solar", exact=True).click()
    expect(page).to_have_url(re.compile(r"/verticals/e2e-solar/$"))
    expect(page.get_by_test_id("field-schema").locator("tbody tr")).to_have_count(1)
    expect(page.get_by_role("link", name="Residential Solar")).to_be_visible()  # sub-verticals


def test_home_page_links_to_verticals(page, solar):
    response = page.goto("/")
    assert response.status == 200
    expect(page).to_have_title(re.compile("Lead Engine"))
    expect(page.get_by_role("heading", name="Consumer leads, sold in the open.")).to_be_visible()
    expect(page.locator(".cards").get_by_role("link", name="Solar")).to_be_visible()

    page.get_by_role("link", name="All verticals →").click()
    expect(page).to_have_url(re.compile(r"/verticals/$"))
    expect(page.get_by_role("heading", name="Verticals", exact=True)).to_be_visible()


def test_api_docs_page_loads(page):
    # Swagger UI pulls its JS/CSS from a CDN that is unreachable here: only the HTML page is checked.
    response = page.goto("/api/docs/", wait_until="domcontentloaded")
    assert response.status == 200
    assert "text/html" in response.headers["content-type"]
    assert page.locator("#swagger-ui").count() == 1
