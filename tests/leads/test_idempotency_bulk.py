"""Idempotency-Key on single submissions, external_id resubmission, and bulk per-item results."""

import pytest

from core.models import IdempotencyKey
from leads.choices import LeadStatus
from leads.models import Lead, LeadPII, SellerCap
from tests.api_errors import api_error, error_fields
from tests.leads.conftest import make_lead

pytestmark = pytest.mark.django_db

URL, BULK = "/api/v1/leads/", "/api/v1/leads/bulk/"


def other(i: int, **overrides) -> dict:
    return make_lead(**{"email": f"person{i}@gmail.com", "phone": f"+1415555{4000 + i:04d}", **overrides})


def test_a_replayed_key_returns_the_first_answer_and_stores_one_lead(seller_api, solar):
    body = make_lead()
    first = seller_api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="order-1")
    again = seller_api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="order-1")
    assert first.status_code == 201 and "Idempotent-Replay" not in first
    assert again.status_code == 201 and again["Idempotent-Replay"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert Lead.objects.count() == 1 and LeadPII.objects.count() == 1


def test_a_replayed_duplicate_answer_is_the_same_409(seller_api, solar):
    seller_api.post(URL, make_lead(), format="json")
    body = make_lead()
    first = seller_api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="dup-1")
    again = seller_api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="dup-1")
    assert first.status_code == again.status_code == 409
    assert again["Idempotent-Replay"] == "true"
    assert api_error(again) == api_error(first) and api_error(first)["code"] == "duplicate"
    assert api_error(again)["lead_id"] == api_error(first)["lead_id"]
    assert again.json()["request_id"] != first.json()["request_id"]  # the replay's own id
    assert Lead.objects.count() == 2  # the first and one recorded duplicate, not two


def test_the_same_key_with_another_body_is_422(seller_api, solar):
    assert seller_api.post(URL, other(1), format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 201
    response = seller_api.post(URL, other(2), format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == 422
    assert api_error(response)["code"] == "idempotency_key_reused" and api_error(response)["param"] == "Idempotency-Key"
    assert Lead.objects.count() == 1


def test_keys_are_per_seller(seller_api, solar):
    from rest_framework.test import APIClient

    from accounts.services import api_key_create
    from tests.factories import UserFactory

    another = APIClient()
    secret = api_key_create(user=UserFactory(is_seller=True), name="x").secret
    another.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    assert seller_api.post(URL, other(1), format="json", HTTP_IDEMPOTENCY_KEY="shared").status_code == 201
    assert another.post(URL, other(2), format="json", HTTP_IDEMPOTENCY_KEY="shared").status_code == 201


def test_a_400_is_not_remembered_and_a_corrected_retry_with_the_same_key_succeeds(seller_api, solar):
    bad = seller_api.post(URL, make_lead(phone="12", email=None), format="json", HTTP_IDEMPOTENCY_KEY="fix-me")
    assert bad.status_code == 400 and "phone" in error_fields(bad)
    assert not IdempotencyKey.objects.exists()
    good = seller_api.post(URL, make_lead(), format="json", HTTP_IDEMPOTENCY_KEY="fix-me")
    assert good.status_code == 201
    assert Lead.objects.count() == 1


def test_a_429_is_not_remembered_and_a_retry_after_the_cap_is_raised_succeeds(seller_api, seller_user, solar):
    cap = SellerCap.objects.create(seller=seller_user, vertical=solar, daily_cap=0)
    body = make_lead()
    capped = seller_api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="later")
    assert capped.status_code == 429
    cap.daily_cap = 1
    cap.save()
    retry = seller_api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="later")
    assert retry.status_code == 201 and "Idempotent-Replay" not in retry


@pytest.mark.parametrize("key", ["x" * 201, "tab\there", "é-key"])
def test_a_malformed_key_is_a_400_naming_the_header(seller_api, solar, key):
    response = seller_api.post(URL, make_lead(), format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400 and "Idempotency-Key" in error_fields(response)
    assert not Lead.objects.exists()


def test_an_external_id_resubmission_returns_the_existing_lead_with_200(seller_api, solar):
    first = seller_api.post(URL, make_lead(external_id="crm-9"), format="json")
    again = seller_api.post(URL, other(3, external_id="crm-9"), format="json")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == {"status": LeadStatus.RECEIVED, "id": first.json()["id"], "existing": True}
    assert Lead.objects.count() == 1


def test_bulk_gives_per_item_results_for_mixed_items(seller_api, solar):
    seller_api.post(URL, other(0), format="json")
    items = [
        other(1),
        other(2, phone="12", email=None),
        other(0),  # duplicate of the single submission above
        "not an object",
        other(3, fields={"homeowner": True}),  # missing a required field
        other(1),  # duplicate of item 0 of this very request
        other(4, external_id="b-4"),
    ]
    response = seller_api.post(BULK, {"leads": items}, format="json")
    assert response.status_code == 200
    body = response.json()
    results = body["results"]
    assert [r["index"] for r in results] == list(range(len(items)))
    assert [r["accepted"] for r in results] == [True, False, False, False, False, False, True]
    assert (body["accepted"], body["rejected"]) == (2, 5)
    assert isinstance(results[0]["id"], int) and "error" not in results[0]
    params = [{e["param"] for e in r["error"]["errors"]} if "error" in r else set() for r in results]
    assert "phone" in params[1] and "id" not in results[1] and results[1]["error"]["code"] == "validation_error"
    assert results[2]["error"]["code"] == "duplicate"
    assert results[2]["error"]["duplicate_of"] == Lead.objects.order_by("id")[0].pk
    assert results[2]["id"] == results[2]["error"]["lead_id"]
    assert results[3]["error"]["errors"] == [
        {"param": None, "code": "invalid", "message": "Each lead must be a JSON object."}
    ]
    assert "fields.monthly_electric_bill" in params[4]
    assert results[5]["error"]["duplicate_of"] == results[0]["id"]
    assert all(set(r["error"]) >= {"type", "code", "message", "param", "errors"} for r in results if "error" in r)
    assert Lead.objects.filter(status=LeadStatus.RECEIVED).count() == 3


def test_bulk_resubmission_of_an_external_id_is_accepted_as_the_existing_lead(seller_api, solar):
    first = seller_api.post(BULK, {"leads": [other(1, external_id="e-1")]}, format="json").json()["results"][0]
    again = seller_api.post(BULK, {"leads": [other(2, external_id="e-1")]}, format="json").json()["results"][0]
    assert again == {**first, "existing": True}


def test_resubmitting_the_external_id_of_a_rejected_duplicate_is_not_accepted(seller_api, solar):
    seller_api.post(URL, other(1), format="json")
    dup = seller_api.post(BULK, {"leads": [other(1, external_id="d-1")]}, format="json").json()["results"][0]
    again = seller_api.post(BULK, {"leads": [other(5, external_id="d-1")]}, format="json").json()
    assert dup["accepted"] is False
    assert again["results"][0]["accepted"] is False and again["results"][0]["status"] == "rejected"
    assert again["accepted"] == 0


def test_bulk_refuses_a_bare_list(seller_api, solar):
    response = seller_api.post(BULK, [other(1), other(2)], format="json")
    assert response.status_code == 400 and "leads" in error_fields(response)
    assert not Lead.objects.exists()


def test_bulk_of_501_items_is_a_400_and_stores_nothing(seller_api, solar, settings):
    assert settings.LEAD_MAX_BULK == 500
    lead = other(1)
    response = seller_api.post(BULK, {"leads": [lead] * 501}, format="json")
    assert response.status_code == 400 and "leads" in error_fields(response)
    assert not Lead.objects.exists()


@pytest.mark.parametrize("payload", [{"leads": []}, {"leads": {}}, {}, {"lead": [1]}, "leads", 7, None])
def test_bulk_without_a_list_of_leads_is_a_400_naming_leads(seller_api, solar, payload):
    response = seller_api.post(BULK, payload, format="json")
    assert response.status_code == 400 and "leads" in error_fields(response)


def test_bulk_of_exactly_500_items_is_processed(seller_api, solar):
    items = [other(i) for i in range(500)]
    response = seller_api.post(BULK, {"leads": items}, format="json")
    assert response.status_code == 200
    assert response.json()["accepted"] == 500
    assert Lead.objects.count() == 500
