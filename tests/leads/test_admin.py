"""The leads admin loads, shows no personal data, and lets staff set per-seller cap overrides."""

import pytest
from django.contrib import admin
from django.urls import reverse

from leads.models import CsvImport, Lead, LeadPII, LeadStatusChange, SellerCap, SellerFormToken
from leads.services import Outcome, lead_score, lead_submit, seller_form_token_get_or_create
from tests.leads.conftest import make_lead

pytestmark = pytest.mark.django_db

PII = (
    "Maria",
    "García",
    "Garc&#237;a",
    "maria.garcia@gmail.com",
    "(415) 555-2671",
    "+14155552671",
    "4155552671",
    "1 Market St",
    "1980-02-03",
    "203.0.113.7",
)


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def leads(seller_user, solar):
    first = lead_submit(
        seller=seller_user, data=make_lead(campaign="spring", sub_id="fb-1", external_id="crm-1"), source="api"
    )
    lead_score(lead_id=first.lead.pk)
    duplicate = lead_submit(seller=seller_user, data=make_lead(), source="api")
    assert first.outcome == Outcome.CREATED and duplicate.outcome == Outcome.DUPLICATE
    return [first.lead, duplicate.lead]


def assert_no_pii(html: str) -> None:
    for value in PII:
        assert value.lower() not in html.lower(), f"{value!r} appears in the admin"


def test_lead_pii_is_not_in_the_admin():
    assert LeadPII not in admin.site._registry


def test_every_leads_admin_page_loads_and_shows_no_pii(staff_client, leads, seller_user, solar):
    SellerCap.objects.create(seller=seller_user, vertical=solar, daily_cap=10, note="trial")
    seller_form_token_get_or_create(seller=seller_user)
    CsvImport.objects.create(
        seller=seller_user,
        vertical=solar,
        filename="march.csv",
        headers=["email", "phone"],
        content=b"email,phone\nmaria.garcia@gmail.com,(415) 555-2671\n",
        total_rows=1,
    )
    pages = []
    for model in (Lead, SellerCap, SellerFormToken, CsvImport):
        opts = model._meta
        pages.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        for pk in model.objects.values_list("pk", flat=True):
            pages.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[pk]))
    pages.append(reverse("admin:leads_sellercap_add"))
    pages.append(reverse("admin:app_list", args=["leads"]))
    for url in pages:
        response = staff_client.get(url)
        assert response.status_code == 200, url
        assert_no_pii(response.content.decode())


def test_the_lead_change_page_shows_the_score_breakdown_and_history(staff_client, leads):
    lead = leads[0]
    html = staff_client.get(reverse("admin:leads_lead_change", args=[lead.pk])).content.decode()
    assert "consent_freshness" in html and "seller_reputation" in html
    for change in LeadStatusChange.objects.filter(lead=lead):
        assert change.reason in html
    assert 'name="quality_score"' not in html  # read-only


def test_changelist_filters_and_search_by_ids_work(staff_client, leads):
    url = reverse("admin:leads_lead_changelist")
    for query in (
        "status=rejected",
        "rejection_reason=duplicate",
        "has_phone__exact=1",
        "source__exact=api",
        f"vertical__id__exact={leads[0].vertical_id}",
        f"q={leads[0].pk}",
        "q=crm-1",
        "q=spring",
        "q=fb-1",
    ):
        response = staff_client.get(f"{url}?{query}")
        assert response.status_code == 200, query
        assert_no_pii(response.content.decode())
    assert f">{leads[0].pk}<" in staff_client.get(f"{url}?q=crm-1").content.decode()


def test_searching_by_contact_details_finds_nothing(staff_client, leads):
    url = reverse("admin:leads_lead_changelist")
    for term in ("maria.garcia@gmail.com", "4155552671", "Maria"):
        response = staff_client.get(url, {"q": term})
        assert response.status_code == 200
        assert response.context["cl"].result_count == 0


def test_text_from_sellers_is_escaped_in_the_admin(staff_client, seller_user, solar):
    script = "<script>alert(1)</script>"
    lead = lead_submit(seller=seller_user, data=make_lead(campaign=script), source="api").lead
    for url in (
        reverse("admin:leads_lead_changelist") + "?q=script",
        reverse("admin:leads_lead_change", args=[lead.pk]),
    ):
        html = staff_client.get(url).content.decode()
        assert script not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_staff_sets_a_seller_cap_in_the_admin_and_it_takes_effect(staff_client, seller_user, solar):
    for i in range(2):
        assert (
            lead_submit(
                seller=seller_user, data=make_lead(email=f"c{i}@gmail.com", phone=f"+141555520{i:02d}"), source="api"
            ).outcome
            == Outcome.CREATED
        )
    response = staff_client.post(
        reverse("admin:leads_sellercap_add"),
        {"seller": seller_user.pk, "vertical": solar.pk, "daily_cap": 3, "note": "new seller, trial week"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    cap = SellerCap.objects.get(seller=seller_user)
    assert (cap.vertical_id, cap.daily_cap) == (solar.pk, 3)
    outcomes = [
        lead_submit(
            seller=seller_user, data=make_lead(email=f"d{i}@gmail.com", phone=f"+141555521{i:02d}"), source="api"
        ).outcome
        for i in range(2)
    ]
    assert outcomes == [Outcome.CREATED, Outcome.CAPPED]

    # Raising it in the admin applies to the very next submission.
    response = staff_client.post(
        reverse("admin:leads_sellercap_change", args=[cap.pk]),
        {"seller": seller_user.pk, "vertical": solar.pk, "daily_cap": 4, "note": "raised"},
    )
    assert response.status_code == 302
    assert (
        lead_submit(seller=seller_user, data=make_lead(email="e@gmail.com", phone="+14155552300"), source="api").outcome
        == Outcome.CREATED
    )


def test_an_all_verticals_cap_is_set_with_an_empty_vertical(staff_client, seller_user, solar):
    response = staff_client.post(
        reverse("admin:leads_sellercap_add"),
        {"seller": seller_user.pk, "vertical": "", "daily_cap": 0, "note": "paused"},
    )
    assert response.status_code == 302
    assert lead_submit(seller=seller_user, data=make_lead(), source="api").outcome == Outcome.CAPPED


@pytest.mark.parametrize("value", ["-1", "", "lots"])
def test_a_negative_or_missing_cap_is_refused(staff_client, seller_user, solar, value):
    response = staff_client.post(
        reverse("admin:leads_sellercap_add"), {"seller": seller_user.pk, "vertical": solar.pk, "daily_cap": value}
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["daily_cap"]
    assert not SellerCap.objects.exists()


def test_a_second_all_verticals_cap_for_a_seller_is_refused(staff_client, seller_user):
    SellerCap.objects.create(seller=seller_user, vertical=None, daily_cap=5)
    response = staff_client.post(
        reverse("admin:leads_sellercap_add"), {"seller": seller_user.pk, "vertical": "", "daily_cap": 7}
    )
    assert response.status_code == 200
    assert SellerCap.objects.count() == 1


def test_the_rescore_action_records_history(staff_client, leads):
    lead = leads[0]
    before = LeadStatusChange.objects.filter(lead=lead).count()
    response = staff_client.post(
        reverse("admin:leads_lead_changelist"), {"action": "rescore", "_selected_action": [lead.pk]}
    )
    assert response.status_code == 302
    assert LeadStatusChange.objects.filter(lead=lead).count() == before + 1


def test_leads_cannot_be_added_or_deleted_in_the_admin(staff_client, leads):
    assert staff_client.get(reverse("admin:leads_lead_add")).status_code == 403
    assert staff_client.get(reverse("admin:leads_lead_delete", args=[leads[0].pk])).status_code == 403


def test_staff_read_seller_reputation_per_vertical_and_search_it_by_seller(staff_client, seller_user, solar):
    from decimal import Decimal

    from leads.models import SellerVerticalReputation
    from leads.seller_reputation import seller_reputation_move
    from tests.factories import UserFactory

    seller_reputation_move(seller_id=seller_user.pk, vertical_id=solar.pk, sales=12, refunds=Decimal("0.5"))
    other = UserFactory(is_seller=True)
    seller_reputation_move(seller_id=other.pk, vertical_id=solar.pk, sales=3)
    row = SellerVerticalReputation.objects.get(seller=seller_user)
    url = reverse("admin:leads_sellerverticalreputation_changelist")
    page = staff_client.get(url, {"q": seller_user.email})
    assert page.status_code == 200
    assert [r.pk for r in page.context["cl"].result_list] == [row.pk]
    assert staff_client.get(url, {"level": "new"}).status_code == 200
    detail = staff_client.get(reverse("admin:leads_sellerverticalreputation_change", args=[row.pk]))
    assert detail.status_code == 200 and b"0.500000" in detail.content
    model_admin = admin.site._registry[SellerVerticalReputation]
    request = detail.wsgi_request
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, row)
    assert not model_admin.has_delete_permission(request, row)
