import pytest

from leads.choices import AdEventStatus
from leads.models import AdConnection, AdLeadEvent, Lead
from tests.leads.adplatforms import GOOGLE_FORM, MAPPING_GOOGLE, google_connection, google_payload, post_json

pytestmark = pytest.mark.django_db


def test_a_seller_creates_reads_updates_and_deletes_a_connection(seller_api, solar):
    created = seller_api.post(
        "/api/v1/ad-connections/",
        {
            "platform": "google",
            "vertical": solar.slug,
            "name": "G",
            "form_ids": [GOOGLE_FORM],
            "consent_text": "I agree.",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["webhook_url"].endswith(f"/hooks/google/{AdConnection.objects.get().token}/")
    assert body["mapping"]["email"] == "EMAIL" and "google_key" not in body
    pk = body["id"]
    secret = seller_api.get(f"/api/v1/ad-connections/{pk}/secret/").json()
    assert secret["google_key"] and secret["verify_token"] == ""
    rotated = seller_api.post(f"/api/v1/ad-connections/{pk}/secret/").json()
    assert rotated["google_key"] != secret["google_key"]
    patched = seller_api.patch(f"/api/v1/ad-connections/{pk}/", {"mapping": {"zip": "POSTAL_CODE"}}, format="json")
    assert patched.status_code == 400 and "phone or an email" in patched.json()["error"]["message"]
    patched = seller_api.patch(f"/api/v1/ad-connections/{pk}/", {"active": False}, format="json")
    assert patched.status_code == 200 and patched.json()["active"] is False
    assert seller_api.get("/api/v1/ad-connections/").json()["results"][0]["id"] == pk
    assert seller_api.delete(f"/api/v1/ad-connections/{pk}/").status_code == 204
    assert not AdConnection.objects.exists()


def test_events_are_listed_and_a_failed_one_is_replayed_after_the_fix(
    client, seller_api, seller_user, solar, django_capture_on_commit_callbacks
):
    connection = google_connection(seller_user, solar, mapping=MAPPING_GOOGLE | {"zip": "ZIP"})
    with django_capture_on_commit_callbacks(execute=True):
        post_json(client, f"/hooks/google/{connection.token}/", google_payload(connection))
    events = seller_api.get(f"/api/v1/ad-connections/{connection.pk}/events/").json()["results"]
    assert events[0]["status"] == "failed" and "ZIP" in events[0]["error"] and events[0]["replayable"]
    seller_api.patch(f"/api/v1/ad-connections/{connection.pk}/", {"mapping": MAPPING_GOOGLE}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        replay = seller_api.post(f"/api/v1/ad-events/{events[0]['id']}/replay/")
    assert replay.status_code == 202
    assert AdLeadEvent.objects.get().status == AdEventStatus.PROCESSED and Lead.objects.count() == 1
    again = seller_api.post(f"/api/v1/ad-events/{events[0]['id']}/replay/")
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_replayable"


def test_another_sellers_connection_is_a_404(seller_api, solar):
    from tests.factories import UserFactory

    other = google_connection(UserFactory(is_seller=True), solar)
    assert seller_api.get(f"/api/v1/ad-connections/{other.pk}/").status_code == 404
    assert seller_api.get(f"/api/v1/ad-connections/{other.pk}/events/").status_code == 404
