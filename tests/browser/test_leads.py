"""A seller's leads in the browser: a consumer fills the hosted form, the seller finds the lead."""

import re

import pytest
from playwright.sync_api import expect

from leads.models import Lead
from leads.services import seller_form_token_get_or_create
from tests.factories import UserFactory
from verticals.services import vertical_upsert

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def roofing():
    return vertical_upsert(
        slug="roofing-repair",
        name="Roof Repair",
        quality_floor=10,
        fields=[
            {
                "key": "roof_type",
                "label": "Roof type",
                "type": "choice",
                "choices": ["asphalt shingle", "metal"],
                "required": True,
                "biddable": True,
            },
            {"key": "homeowner", "label": "Owns the home", "type": "boolean", "required": True, "biddable": True},
        ],
    )


def test_a_consumer_submits_the_hosted_form_and_the_seller_sees_the_lead(page, log_in, roofing):
    seller = UserFactory(is_seller=True, company_name="Sunny Leads LLC")
    token = seller_form_token_get_or_create(seller=seller).token

    page.goto(f"/f/roofing-repair/?s={token}")
    page.locator("#id_f_roof_type").select_option("metal")
    page.locator("#id_f_homeowner_0").check()
    page.locator("#id_first_name").fill("Aiko")
    page.locator("#id_last_name").fill("Tanaka")
    page.locator("#id_phone").fill("(415) 555-2671")
    page.locator("#id_city").fill("San Francisco")
    page.locator("#id_state").select_option("CA")
    page.locator("#id_zip").fill("94105")
    page.locator("#id_consent").check()
    page.get_by_role("button", name=re.compile("Send")).click()
    expect(page).to_have_url(re.compile(r"/thanks/"))

    lead = Lead.objects.get(seller=seller)
    assert lead.source == "form" and lead.consent_ip

    log_in(page, seller)
    page.goto("/seller/leads/")
    row = page.locator("table tbody tr").first
    expect(row).to_contain_text("Roof Repair")
    row.get_by_role("link").first.click()
    expect(page.get_by_text("Aiko")).to_be_visible()  # the seller sees the contact details it submitted
    expect(page.get_by_text("+1 415-555-2671")).to_be_visible()  # the stored +14155552671, as people write it
    expect(page.get_by_text("Owns the home")).to_be_visible()  # fields by their labels, not their keys


def test_the_hosted_form_shows_field_errors_and_keeps_what_was_typed(page, roofing):
    seller = UserFactory(is_seller=True)
    token = seller_form_token_get_or_create(seller=seller).token
    page.goto(f"/f/roofing-repair/?s={token}")
    page.locator("#id_f_roof_type").select_option("metal")
    page.locator("#id_f_homeowner_0").check()
    page.locator("#id_first_name").fill("Olu")
    page.locator("#id_phone").fill("12")
    page.locator("#id_state").select_option("NY")
    page.locator("#id_zip").fill("94105")
    page.locator("#id_consent").check()
    page.get_by_role("button", name=re.compile("Send")).click()
    expect(page.get_by_text("Enter a valid phone number", exact=False)).to_be_visible()
    expect(page.get_by_text("This ZIP code is not in NY.")).to_be_visible()
    expect(page.locator("#id_first_name")).to_have_value("Olu")
    assert not Lead.objects.exists()


def test_another_seller_cannot_open_my_lead(page, log_in, roofing):
    from leads.services import lead_submit
    from tests.leads.conftest import make_lead

    owner, other = UserFactory(is_seller=True), UserFactory(is_seller=True)
    data = make_lead(vertical="roofing-repair", fields={"roof_type": "metal", "homeowner": True})
    lead = lead_submit(seller=owner, data=data, source="api").lead
    log_in(page, other)
    response = page.goto(f"/seller/leads/{lead.pk}/")
    assert response.status == 404


def test_csv_import_mapping_is_a_table_and_every_rows_errors_show_before_the_import(page, log_in, roofing, tmp_path):
    from datetime import timedelta

    from django.utils import timezone

    seller = UserFactory(is_seller=True)
    consent_at = (timezone.now() - timedelta(hours=1)).isoformat()
    lines = ["Phone,State,Zip,Consent time,IP,Roof type,Homeowner"]
    lines += [
        f"(415) 555-{3000 + i},CA,{'94105' if i != 12 else '99999'},{consent_at},203.0.113.7,metal,yes"
        for i in range(1, 13)
    ]
    upload = tmp_path / "leads.csv"
    upload.write_text("\n".join(lines) + "\n")
    log_in(page, seller)
    page.goto("/seller/imports/new/")
    page.get_by_label("Vertical").select_option(label="Roof Repair")
    page.locator("input[type=file]").set_input_files(str(upload))
    page.get_by_role("button", name=re.compile("Upload")).click()
    expect(page.get_by_test_id("mapping-form")).to_be_visible()
    displays = page.locator("tr.mapping-row").evaluate_all("rows => rows.map(r => getComputedStyle(r).display)")
    assert displays and set(displays) == {"table-row"}
    page.get_by_label("Consent text for every row").fill("I agree to be contacted about roof repair.")
    page.get_by_role("button", name=re.compile("Save mapping")).click()
    expect(page.get_by_test_id("check-summary")).to_contain_text("11 of 12")
    errors = page.get_by_test_id("check-errors")
    expect(errors.locator("tbody tr")).to_have_count(1)
    expect(errors.locator("tbody tr")).to_contain_text("13")  # beyond the 10-row sample; the header is row 1
    expect(errors.locator("tbody tr")).to_contain_text("This ZIP code does not exist.")
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        assert page.evaluate("document.documentElement.scrollWidth") <= width
