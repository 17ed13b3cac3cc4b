"""The single-lead intake path (issue #12): API keys, verticals, schemas and cap overrides are
memoised per process and invalidated on change; one submit is a handful of statements."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.services import ACTIVE_API_KEYS, api_key_create, api_key_revoke
from leads.caps import SELLER_CAPS
from leads.models import Lead, SellerCap
from tests.leads.conftest import make_lead
from verticals.selectors import VERTICAL_CACHE
from verticals.services import vertical_upsert

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_memos():
    for memo in (ACTIVE_API_KEYS, VERTICAL_CACHE, SELLER_CAPS):
        memo.clear_local()
    yield


def _phone(i: int) -> str:
    return f"+1415555{2000 + i:04d}"


def test_a_warm_submit_is_five_statements_and_no_lookup_of_key_vertical_schema_or_cap(seller_api, solar):
    assert seller_api.post("/api/v1/leads/", make_lead(external_id="warm"), format="json").status_code == 201
    with CaptureQueriesContext(connection) as queries:
        response = seller_api.post(
            "/api/v1/leads/",
            make_lead(external_id="x-2", phone=_phone(2), email="second.lead@gmail.com"),
            format="json",
        )
    assert response.status_code == 201, response.json()
    sql = [q["sql"] for q in queries.captured_queries]
    # savepoint, the contact locks with the new id, one dedupe + external-id query, one insert of
    # the lead, its vault row and its first status change, release
    assert len(sql) <= 5, sql
    for table in ("marketplace_apikey", "verticals_vertical", "verticals_verticalfield", "leads_sellercap"):
        assert not any(f'FROM "{table}"' in statement for statement in sql), table
    assert sum("pg_advisory_xact_lock" in statement for statement in sql) == 1


def test_a_revoked_key_is_refused_at_once(seller_api, seller_user, solar):
    key = api_key_create(user=seller_user, name="second")
    seller_api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key.secret}")
    assert seller_api.get("/api/v1/me/").status_code == 200  # memoised now
    api_key_revoke(api_key=key.api_key)
    assert seller_api.get("/api/v1/me/").status_code == 401


def test_a_deactivated_user_is_refused_at_once(seller_api, seller_user, solar):
    assert seller_api.get("/api/v1/me/").status_code == 200
    seller_user.is_active = False
    seller_user.save()
    assert seller_api.get("/api/v1/me/").status_code == 401


def test_a_changed_user_is_seen_by_the_next_request(seller_api, seller_user, solar):
    assert seller_api.post("/api/v1/leads/", make_lead(), format="json").status_code == 201
    seller_user.is_seller = False
    seller_user.save()
    assert (
        seller_api.post("/api/v1/leads/", make_lead(phone=_phone(3), email="x3@gmail.com"), format="json").status_code
        == 403
    )


def test_the_request_gets_its_own_copy_of_the_memoised_user(seller_api, solar):
    from accounts.services import api_key_authenticate

    secret = seller_api._credentials["HTTP_AUTHORIZATION"].split(" ", 1)[1]
    first = api_key_authenticate(raw=secret)
    first.user.full_name = "changed by a request"
    assert api_key_authenticate(raw=secret).user.full_name != "changed by a request"


def test_a_new_field_in_the_schema_applies_to_the_next_lead(seller_api, solar):
    assert seller_api.post("/api/v1/leads/", make_lead(), format="json").status_code == 201
    vertical_upsert(
        slug="solar-residential",
        name="Residential Solar",
        parent=solar.parent,
        quality_floor=40,
        fields=[{"key": "panel_count", "label": "Panels", "type": "integer", "required": True}],
    )
    response = seller_api.post("/api/v1/leads/", make_lead(phone=_phone(4), email="x4@gmail.com"), format="json")
    assert response.status_code == 400
    assert "fields.panel_count" in {e["param"] for e in response.json()["error"]["errors"]}


def test_a_paused_vertical_stops_taking_leads_at_once(seller_api, solar):
    assert seller_api.post("/api/v1/leads/", make_lead(), format="json").status_code == 201
    solar.status = "paused"
    solar.save()
    response = seller_api.post("/api/v1/leads/", make_lead(phone=_phone(5), email="x5@gmail.com"), format="json")
    assert response.status_code == 400


def test_a_new_cap_override_applies_to_the_next_lead(seller_api, seller_user, solar):
    assert seller_api.post("/api/v1/leads/", make_lead(), format="json").status_code == 201
    SellerCap.objects.create(seller=seller_user, vertical=solar, daily_cap=1)
    response = seller_api.post("/api/v1/leads/", make_lead(phone=_phone(6), email="x6@gmail.com"), format="json")
    assert response.status_code == 429, response.json()
    assert Lead.objects.count() == 1


def test_an_external_id_resubmission_answers_with_the_first_lead_even_when_it_was_a_duplicate(seller_api, solar):
    first = seller_api.post("/api/v1/leads/", make_lead(external_id="a"), format="json")
    assert first.status_code == 201
    dup = seller_api.post("/api/v1/leads/", make_lead(external_id="b"), format="json")
    assert dup.status_code == 409, dup.json()
    again = seller_api.post("/api/v1/leads/", make_lead(external_id="b"), format="json")
    assert again.status_code == 200, again.json()
    assert Lead.objects.count() == 2


def test_the_lead_its_vault_row_and_its_history_are_stored_together(seller_api, solar):
    from leads.models import LeadPII, LeadStatusChange
    from leads.selectors import lead_pii_read

    response = seller_api.post("/api/v1/leads/", make_lead(), format="json")
    lead = Lead.objects.get(pk=response.json()["id"])
    assert LeadPII.objects.get(lead=lead).key_id
    assert lead_pii_read(lead=lead)["email"] == "maria.garcia@gmail.com"  # sealed for this lead's id
    assert list(LeadStatusChange.objects.filter(lead=lead).values_list("to_status", "reason")) == [
        ("received", "via api")
    ]
    dup = seller_api.post("/api/v1/leads/", make_lead(external_id="other"), format="json")
    assert dup.status_code == 409
    rejected = Lead.objects.exclude(pk=lead.pk).get()
    assert rejected.status == "rejected" and not LeadPII.objects.filter(lead=rejected).exists()
    assert list(LeadStatusChange.objects.filter(lead=rejected).values_list("to_status", "reason")) == [
        ("rejected", f"duplicate of lead {lead.pk}")
    ]
