import pytest

from leads.choices import LeadStatus
from leads.models import Lead, LeadPII
from leads.selectors import lead_pii_read
from tests.api_errors import api_error, error_params
from tests.leads.conftest import make_lead

pytestmark = pytest.mark.django_db


def test_a_valid_lead_is_accepted_vaulted_and_scored(
    seller_api, solar, eager_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = seller_api.post("/api/v1/leads/", make_lead(), format="json")
    assert response.status_code == 201, response.json()
    lead = Lead.objects.get(pk=response.json()["id"])
    # Scored, then listed: scoring opens the lead's auction.
    assert lead.status == LeadStatus.LISTED and 0 < lead.quality_score <= 100
    assert lead.fields["roof_type"] == "metal" and "date_of_birth" not in lead.fields
    pii = LeadPII.objects.get(lead=lead)
    assert b"maria" not in bytes(pii.ciphertext).lower()
    data = lead_pii_read(lead=lead)
    assert data["phone"] == "+14155552671" and data["email"] == "maria.garcia@gmail.com"
    assert data["fields"] == {"date_of_birth": "1980-02-03"}
    assert set(lead.score_breakdown["components"]) == {
        "consent_freshness",
        "contact_validity",
        "geo_consistency",
        "field_completeness",
        "source_trust",
        "seller_reputation",
        "duplicate_history",
    }


def test_field_errors_name_the_field(seller_api, solar):
    response = seller_api.post("/api/v1/leads/", make_lead(zip="10001", fields={"roof_type": "straw"}), format="json")
    assert response.status_code == 400
    errors = error_params(response)
    assert api_error(response)["code"] == "validation_error" and api_error(response)["param"] in errors
    assert "zip" in errors and "fields.roof_type" in errors and "fields.homeowner" in errors
    assert not Lead.objects.exists()


@pytest.mark.parametrize("phone", ["(415) 555-0100", "+1 202 555 0143", "415.555.0199", "+14155550123"])
def test_a_fictional_555_01xx_phone_is_refused_with_a_field_message(seller_api, solar, phone):
    response = seller_api.post("/api/v1/leads/", make_lead(phone=phone), format="json")
    assert response.status_code == 400
    assert error_params(response)["phone"] == [
        "555-0100 to 555-0199 are fictional numbers (reserved for films and examples), not a consumer's."
    ]
    assert not Lead.objects.exists()


@pytest.mark.parametrize("phone", ["(415) 555-0200", "(415) 555-0099", "(415) 550-0150"])
def test_numbers_next_to_the_fictional_range_are_accepted(seller_api, solar, phone):
    assert seller_api.post("/api/v1/leads/", make_lead(phone=phone), format="json").status_code == 201
