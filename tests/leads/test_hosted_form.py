"""The hosted lead form: /f/<vertical>/?s=<seller token>, and the seller's form-links page."""

import re
from html.parser import HTMLParser

import pytest
from django.utils.html import escape

from leads.choices import LeadSource, LeadStatus
from leads.forms import hosted_form_consent_text
from leads.models import Lead, LeadPII, SellerCap
from leads.selectors import lead_pii_read
from leads.services import seller_form_token_get_or_create
from tests.factories import UserFactory
from verticals.models import Vertical
from verticals.services import vertical_upsert

pytestmark = pytest.mark.django_db


class _Inputs(HTMLParser):
    """Every input/select/textarea/option as a dict of its attributes (options carry their select's name)."""

    def __init__(self):
        super().__init__()
        self.tags, self._select = [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "select":
            self._select = attrs.get("name")
        if tag in ("input", "select", "textarea", "option"):
            self.tags.append({"tag": tag, **attrs, **({"select": self._select} if tag == "option" else {})})

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


def controls(html: str) -> list[dict]:
    parser = _Inputs()
    parser.feed(html)
    return parser.tags


def control(html: str, name: str, **match) -> dict:
    found = [c for c in controls(html) if c.get("name") == name and all(c.get(k) == v for k, v in match.items())]
    assert found, f"no control {name} {match}"
    return found[0]


def field_block(html: str, name: str) -> str:
    """The markup of one field's wrapper (label, input, errors)."""
    start = html.index(f'data-field="{name}"')
    following = html.find('data-field="', start + 1)
    return html[start : following if following != -1 else len(html)]


@pytest.fixture
def roofing(db):
    return vertical_upsert(
        slug="roofing",
        name="Roofing",
        fields=[
            {"key": "notes", "label": "Anything else", "type": "text"},
            {"key": "stories", "label": "Stories", "type": "integer", "min_value": 1, "max_value": 4, "required": True},
            {"key": "budget", "label": "Budget", "type": "decimal", "min_value": 0, "max_value": 100000},
            {"key": "homeowner", "label": "Homeowner", "type": "boolean", "required": True, "biddable": True},
            {
                "key": "material",
                "label": "Material",
                "type": "choice",
                "choices": ["asphalt", "metal", "tile"],
                "required": True,
            },
            {
                "key": "services",
                "label": "Services",
                "type": "multi_choice",
                "choices": ["repair", "replace", "inspect"],
            },
            {"key": "start_date", "label": "Start date", "type": "date"},
            {"key": "property_zip", "label": "Property ZIP", "type": "us_zip"},
        ],
    )


@pytest.fixture
def token(seller_user):
    return seller_form_token_get_or_create(seller=seller_user).token


def form_url(token: str, slug: str = "roofing") -> str:
    return f"/f/{slug}/?s={token}"


def form_data(**overrides) -> dict:
    data = {
        "first_name": "Maria",
        "last_name": "García",
        "email": "maria.garcia@gmail.com",
        "phone": "(415) 555-2671",
        "street_address": "1 Market St",
        "city": "San Francisco",
        "state": "CA",
        "zip": "94105",
        "f_notes": "South-facing roof",
        "f_stories": "2",
        "f_budget": "15000.50",
        "f_homeowner": "yes",
        "f_material": "metal",
        "f_services": ["repair", "inspect"],
        "f_start_date": "2026-05-01",
        "f_property_zip": "94105",
        "consent": "on",
        "website": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_form_renders_every_field_type_with_required_marks_and_ranges(client, roofing, token, seller_user):
    response = client.get(form_url(token))
    assert response.status_code == 200
    html = response.content.decode()
    assert control(html, "f_notes")["type"] == "text"
    stories = control(html, "f_stories")
    assert (stories["type"], stories["min"], stories["max"], stories["step"]) == ("number", "1", "4", "1")
    assert "required" in stories
    budget = control(html, "f_budget")
    assert (budget["type"], budget["min"], budget["max"], budget["step"]) == ("number", "0", "100000", "any")
    assert {c["value"] for c in controls(html) if c.get("name") == "f_homeowner" and c.get("type") == "radio"} == {
        "yes",
        "no",
    }
    assert {c["value"] for c in controls(html) if c.get("select") == "f_material"} == {"", "asphalt", "metal", "tile"}
    assert {c["value"] for c in controls(html) if c.get("name") == "f_services" and c.get("type") == "checkbox"} == {
        "repair",
        "replace",
        "inspect",
    }
    assert control(html, "f_start_date")["type"] == "date"
    assert control(html, "f_property_zip")["inputmode"] == "numeric"
    assert '<span class="req"' in field_block(html, "f_stories")
    assert '<span class="req"' not in field_block(html, "f_notes")
    # Contact block: names, email, phone, address, city, a state select, ZIP.
    assert control(html, "email")["type"] == "email" and control(html, "phone")["type"] == "tel"
    for name in ("first_name", "last_name", "street_address", "city", "zip"):
        control(html, name)
    assert {"CA", "NY", "TX"} <= {c["value"] for c in controls(html) if c.get("select") == "state"}
    # Consent text shown with a required checkbox; the honeypot is there, empty.
    assert escape(hosted_form_consent_text(vertical=roofing, seller=seller_user)) in html
    assert "required" in control(html, "consent", type="checkbox")
    assert control(html, "website")["value"] == ""
    assert 'name="viewport"' in html


def test_valid_submission_stores_a_form_lead_with_consent_from_the_request(client, roofing, token, seller_user):
    response = client.post(
        form_url(token),
        form_data(),
        REMOTE_ADDR="198.51.100.23",
        HTTP_USER_AGENT="Mozilla/5.0 (TestPhone)",
        HTTP_HOST="quotes.sunnyroofs.com",
    )
    assert response.status_code == 302 and response["Location"] == "/f/roofing/thanks/"
    lead = Lead.objects.get()
    assert lead.source == LeadSource.FORM and lead.seller == seller_user and lead.vertical == roofing
    assert lead.status == LeadStatus.RECEIVED
    assert lead.consent_ip == "198.51.100.23" and lead.consent_user_agent == "Mozilla/5.0 (TestPhone)"
    assert lead.consent_text == hosted_form_consent_text(vertical=roofing, seller=seller_user)
    assert lead.consent_page_url == "http://quotes.sunnyroofs.com/f/roofing/"  # without the seller's token
    assert lead.fields == {
        "notes": "South-facing roof",
        "stories": 2,
        "budget": 15000.5,
        "homeowner": True,
        "material": "metal",
        "services": ["repair", "inspect"],
        "start_date": "2026-05-01",
        "property_zip": "94105",
    }
    assert b"maria" not in bytes(LeadPII.objects.get(lead=lead).ciphertext).lower()
    pii = lead_pii_read(lead=lead)
    assert pii["email"] == "maria.garcia@gmail.com" and pii["phone"] == "+14155552671"
    assert pii["first_name"] == "Maria" and pii["street_address"] == "1 Market St"
    thanks = client.get(response["Location"])
    assert thanks.status_code == 200 and b"Thank you" in thanks.content and b"Maria" not in thanks.content


def test_filled_honeypot_looks_successful_but_stores_nothing(client, roofing, token):
    response = client.post(form_url(token), form_data(website="https://cheap-pills.example"))
    assert response.status_code == 302 and response["Location"] == "/f/roofing/thanks/"
    assert not Lead.objects.exists()


def test_field_errors_show_next_to_their_inputs_and_keep_what_was_typed(client, roofing, token):
    response = client.post(
        form_url(token), form_data(zip="99999", f_stories="9", f_homeowner=None, f_services=["repair"])
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "This ZIP code does not exist." in field_block(html, "zip")
    assert "Must be at most 4." in field_block(html, "f_stories")
    assert "This field is required." in field_block(html, "f_homeowner")
    assert control(html, "first_name")["value"] == "Maria"
    assert control(html, "email")["value"] == "maria.garcia@gmail.com"
    assert control(html, "f_stories")["value"] == "9"
    assert "selected" in [c for c in controls(html) if c.get("select") == "f_material" and c["value"] == "metal"][0]
    assert "selected" in [c for c in controls(html) if c.get("select") == "state" and c["value"] == "CA"][0]
    assert "checked" in control(html, "f_services", value="repair")
    assert "checked" not in control(html, "f_services", value="inspect")
    assert not Lead.objects.exists()


def test_unticked_consent_is_refused_with_every_other_error_shown(client, roofing, token):
    response = client.post(form_url(token), form_data(consent=None, f_material="straw"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "Please tick the box" in html
    assert "Must be one of: asphalt, metal, tile." in field_block(html, "f_material")
    assert not Lead.objects.exists()


def test_script_in_a_text_field_is_stored_as_typed_and_rendered_escaped(client, roofing, token):
    script = "<script>alert(1)</script>"
    response = client.post(form_url(token), form_data(f_notes=script, zip="99999"))
    assert response.status_code == 400
    assert script.encode() not in response.content
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in response.content
    response = client.post(form_url(token), form_data(f_notes=script))
    assert response.status_code == 302
    assert Lead.objects.get().fields["notes"] == script


def test_form_posts_over_the_per_ip_limit_get_429(client, roofing, token, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "form": "3/3600s"}
    for _ in range(3):
        assert client.post(form_url(token), form_data(zip="99999"), REMOTE_ADDR="203.0.113.9").status_code == 400
    assert client.post(form_url(token), form_data(), REMOTE_ADDR="203.0.113.9").status_code == 429
    assert client.post(form_url(token), form_data(), REMOTE_ADDR="203.0.113.10").status_code == 302
    assert client.get(form_url(token), REMOTE_ADDR="203.0.113.9").status_code == 200
    assert Lead.objects.count() == 1


def test_a_limited_form_post_shows_the_form_as_typed_with_the_wait(client, roofing, token, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "form": "1/3600s"}
    client.post(form_url(token), form_data(zip="99999"), REMOTE_ADDR="203.0.113.9")
    response = client.post(form_url(token), form_data(first_name="Soledad"), REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 429 and response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert re.search(
        r"Too many requests were sent from your network\. Please try again in \d+ (second|minute)s?\.", html
    )
    assert control(html, "first_name")["value"] == "Soledad" and 'data-testid="hosted-form"' in html
    assert not Lead.objects.exists()


@pytest.mark.parametrize("url", ["/f/roofing/?s=not-a-token", "/f/roofing/", "/f/no-such-vertical/?s={token}"])
def test_unknown_token_or_vertical_is_404(client, roofing, token, url):
    assert client.get(url.format(token=token)).status_code == 404
    assert client.post(url.format(token=token), form_data()).status_code == 404
    assert not Lead.objects.exists()


def test_inactive_vertical_form_is_404(client, roofing, token):
    Vertical.objects.filter(pk=roofing.pk).update(status="deprecated")
    assert client.get(form_url(token)).status_code == 404


def test_form_of_a_seller_who_stopped_selling_is_404(client, roofing, token, seller_user):
    seller_user.is_seller = False
    seller_user.save(update_fields=["is_seller"])
    assert client.get(form_url(token)).status_code == 404


def test_duplicate_request_gets_a_friendly_page_without_the_other_lead(client, roofing, token):
    assert client.post(form_url(token), form_data()).status_code == 302
    first = Lead.objects.get()
    response = client.post(form_url(token), form_data(first_name="Ana", email="ana.lopez@gmail.com"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "We already have your request" in html
    assert "Maria" not in html and "maria.garcia" not in html and f"lead {first.pk}" not in html.lower()
    dupe = Lead.objects.exclude(pk=first.pk).get()
    assert dupe.status == LeadStatus.REJECTED and dupe.duplicate_of_id == first.pk


def test_cap_reached_answers_a_polite_429_page(client, roofing, token, seller_user):
    SellerCap.objects.create(seller=seller_user, vertical=roofing, daily_cap=0)
    response = client.post(form_url(token), form_data())
    assert response.status_code == 429
    assert b"Not accepting requests right now" in response.content
    assert not Lead.objects.exclude(status=LeadStatus.REJECTED).exists()


def test_seller_page_lists_a_link_per_active_vertical(client, roofing, solar, token, seller_user):
    Vertical.objects.filter(slug="solar").update(status="deprecated")
    client.force_login(seller_user)
    response = client.get("/seller/forms/")
    assert response.status_code == 200
    links = re.findall(r'data-testid="form-link"><code>([^<]+)</code>', response.content.decode())
    assert sorted(links) == sorted(
        [f"http://testserver/f/roofing/?s={token}", f"http://testserver/f/solar-residential/?s={token}"]
    )


def test_rotating_the_token_invalidates_old_links(client, roofing, token, seller_user):
    client.force_login(seller_user)
    response = client.post("/seller/forms/rotate/")
    assert response.status_code == 302 and response["Location"] == "/seller/forms/"
    new_token = seller_form_token_get_or_create(seller=seller_user).token
    assert new_token != token
    client.logout()
    assert client.get(form_url(token)).status_code == 404
    assert client.get(form_url(new_token)).status_code == 200


def test_form_links_page_is_for_logged_in_sellers_only(client):
    assert client.get("/seller/forms/").status_code == 302
    client.force_login(UserFactory(is_buyer=True))
    assert client.get("/seller/forms/").status_code == 403
    assert client.post("/seller/forms/rotate/").status_code == 403
