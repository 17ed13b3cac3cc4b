import json

import pytest

from leads.choices import AdEventStatus, LeadSource, LeadStatus
from leads.models import AdLeadEvent, Lead
from tests.leads.adplatforms import GOOGLE_FORM, google_connection, google_payload, post_json

pytestmark = pytest.mark.django_db


@pytest.fixture
def connection(seller_user, solar):
    return google_connection(seller_user, solar)


def url(connection):
    return f"/hooks/google/{connection.token}/"


def deliver(client, connection, payload, capture):
    with capture(execute=True):
        return post_json(client, url(connection), payload)


def test_a_google_lead_is_stored_first_then_scored_through_the_normal_pipeline(
    client, connection, django_capture_on_commit_callbacks
):
    response = deliver(client, connection, google_payload(connection), django_capture_on_commit_callbacks)
    assert response.status_code == 200 and response.json()["status"] == "received"
    event = AdLeadEvent.objects.get()
    assert event.status == AdEventStatus.PROCESSED, event.error
    assert event.platform_lead_id.startswith("TeSter") and event.form_id == GOOGLE_FORM and event.attempts == 1
    assert b"maria" not in bytes(event.payload_blob).lower()  # sealed
    lead = Lead.objects.get()
    assert event.lead == lead and lead.source == LeadSource.WEBHOOK
    assert lead.status in (LeadStatus.SCORED, LeadStatus.LISTED) and lead.quality_score is not None
    assert lead.fields["homeowner"] is True and lead.zip == "94105" and lead.campaign == "123456"
    assert lead.external_id == f"google:{event.platform_lead_id}"
    assert lead.consent_text == connection.consent_text and lead.consent_ip == "74.125.0.10"
    assert "Google Ads" in lead.consent_user_agent


def test_a_test_lead_is_answered_200_and_shown_but_never_becomes_a_lead(
    client, connection, django_capture_on_commit_callbacks
):
    response = deliver(client, connection, google_payload(connection, is_test=True), django_capture_on_commit_callbacks)
    assert response.status_code == 200
    event = AdLeadEvent.objects.get()
    assert event.is_test and event.status == AdEventStatus.IGNORED_TEST
    assert "the mapping would accept it" in event.error
    assert not Lead.objects.exists()


@pytest.mark.parametrize(
    ("mutate", "status", "code"),
    [
        (lambda p: p | {"google_key": "not-the-key"}, 403, "wrong_key"),
        (lambda p: {k: v for k, v in p.items() if k != "google_key"}, 403, "wrong_key"),
        (lambda p: p | {"form_id": 999}, 404, "unknown_form"),
        (lambda p: p | {"user_column_data": "nope"}, 400, "invalid_payload"),
        (lambda p: p | {"lead_id": ""}, 400, "invalid_payload"),
        (lambda p: b"{not json", 400, "malformed_json"),
        (lambda p: b"[1, 2]", 400, "malformed_json"),
    ],
)
def test_bad_deliveries_get_a_clear_4xx_a_logged_event_and_no_lead(
    client, connection, django_capture_on_commit_callbacks, mutate, status, code
):
    response = deliver(client, connection, mutate(google_payload(connection)), django_capture_on_commit_callbacks)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    event = AdLeadEvent.objects.get()
    assert event.status == AdEventStatus.REJECTED and event.http_status == status and event.error
    assert event.connection == connection
    assert event.platform_lead_id == "" and not event.payload_blob  # unauthenticated: metadata only
    assert not Lead.objects.exists()


def test_unknown_url_token_is_refused_and_logged_without_a_connection(
    client, django_capture_on_commit_callbacks, connection
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(client, "/hooks/google/not-a-token/", google_payload(connection))
    assert response.status_code == 404 and response.json()["error"]["code"] == "unknown_connection"
    event = AdLeadEvent.objects.get()
    assert event.connection is None and event.status == AdEventStatus.REJECTED and not event.payload_blob
    assert not Lead.objects.exists()


def test_an_oversized_body_is_refused_unread(client, connection, settings, django_capture_on_commit_callbacks):
    settings.LEADS_AD_HOOK_MAX_BYTES = 1024
    payload = google_payload(connection, gcl_id="x" * 2000)
    response = deliver(client, connection, payload, django_capture_on_commit_callbacks)
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"
    event = AdLeadEvent.objects.get()
    assert event.status == AdEventStatus.REJECTED and event.body_bytes > 1024
    assert not Lead.objects.exists()


def test_a_redelivered_lead_is_stored_once_and_makes_one_lead(client, connection, django_capture_on_commit_callbacks):
    payload = google_payload(connection)
    first = deliver(client, connection, payload, django_capture_on_commit_callbacks)
    again = deliver(client, connection, payload, django_capture_on_commit_callbacks)
    assert first.status_code == again.status_code == 200
    assert again.json()["status"] == "already_received" and again.json()["event"] == first.json()["event"]
    assert AdLeadEvent.objects.count() == 1 and Lead.objects.count() == 1


def test_a_duplicate_contact_is_rejected_as_a_duplicate_like_any_lead(
    client, connection, django_capture_on_commit_callbacks
):
    deliver(client, connection, google_payload(connection, lead_id="lead-one"), django_capture_on_commit_callbacks)
    deliver(client, connection, google_payload(connection, lead_id="lead-two"), django_capture_on_commit_callbacks)
    second = AdLeadEvent.objects.get(platform_lead_id="lead-two")
    assert second.status == AdEventStatus.PROCESSED and "Duplicate" in second.error
    assert second.lead.status == LeadStatus.REJECTED and second.lead.rejection_reason == "duplicate"


def test_the_daily_cap_applies_and_the_capped_event_can_be_replayed(
    client, connection, solar, django_capture_on_commit_callbacks
):
    from leads.models import SellerCap

    SellerCap.objects.create(seller=connection.seller, vertical=solar, daily_cap=1)
    deliver(client, connection, google_payload(connection, lead_id="a"), django_capture_on_commit_callbacks)
    deliver(
        client,
        connection,
        google_payload(connection, lead_id="b", email="other.person@gmail.com", phone="+14155552672"),
        django_capture_on_commit_callbacks,
    )
    capped = AdLeadEvent.objects.get(platform_lead_id="b")
    assert capped.status == AdEventStatus.FAILED and "cap" in capped.error and capped.replayable
    assert Lead.objects.count() == 1


def test_a_mapping_failure_is_shown_with_its_reason_and_a_replay_after_the_fix_makes_the_lead(
    client, seller_user, solar, django_capture_on_commit_callbacks
):
    from leads.adplatforms.connections import ad_connection_update
    from leads.adplatforms.processing import ad_event_replay
    from tests.leads.adplatforms import MAPPING_GOOGLE

    connection = google_connection(seller_user, solar, mapping=MAPPING_GOOGLE | {"zip": "ZIP_CODE"})
    deliver(client, connection, google_payload(connection), django_capture_on_commit_callbacks)
    event = AdLeadEvent.objects.get()
    assert event.status == AdEventStatus.FAILED and "zip" in event.error and "ZIP_CODE" in event.error
    assert not Lead.objects.exists()
    ad_connection_update(connection=connection, mapping=MAPPING_GOOGLE)
    with django_capture_on_commit_callbacks(execute=True):
        ad_event_replay(seller=seller_user, event_id=event.pk)
    event.refresh_from_db()
    assert event.status == AdEventStatus.PROCESSED and event.attempts == 2 and event.lead is not None


def test_the_stored_payload_opens_from_the_vault_without_the_key(
    client, connection, django_capture_on_commit_callbacks
):
    from leads.adplatforms.processing import _payload

    deliver(client, connection, google_payload(connection), django_capture_on_commit_callbacks)
    payload = _payload(AdLeadEvent.objects.get())
    assert "google_key" not in payload and payload["user_column_data"][1]["string_value"] == "maria.garcia@gmail.com"
    assert json.dumps(payload)


def test_refused_forgeries_are_recorded_up_to_a_limit_per_sender_and_always_answered(
    client, connection, settings, django_capture_on_commit_callbacks
):
    settings.RATE_LIMIT_ENABLED = True
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "adhook_refused": "2/60s"}
    for _ in range(3):
        assert (
            deliver(
                client, connection, google_payload(connection, google_key="x"), django_capture_on_commit_callbacks
            ).status_code
            == 403
        )
    assert AdLeadEvent.objects.count() == 2
    assert (
        deliver(client, connection, google_payload(connection), django_capture_on_commit_callbacks).status_code == 200
    )
    assert Lead.objects.count() == 1


def test_a_state_given_by_name_is_stored_as_its_code(client, connection, django_capture_on_commit_callbacks):
    payload = google_payload(connection)
    for item in payload["user_column_data"]:
        if item["column_id"] == "REGION":
            item["string_value"] = "california"
    deliver(client, connection, payload, django_capture_on_commit_callbacks)
    assert Lead.objects.get().state == "CA"


def test_each_send_of_test_data_is_checked_even_with_the_same_lead_id(
    client, connection, django_capture_on_commit_callbacks
):
    for _ in range(2):
        response = deliver(
            client, connection, google_payload(connection, is_test=True), django_capture_on_commit_callbacks
        )
        assert response.status_code == 200 and response.json()["status"] == "received"
    assert AdLeadEvent.objects.filter(status=AdEventStatus.IGNORED_TEST).count() == 2 and not Lead.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_a_worker_processes_the_stored_event_from_the_ingest_queue(client, seller_user, solar, celery_worker):
    from tests.conftest import wait_for

    connection = google_connection(seller_user, solar)
    assert post_json(client, url(connection), google_payload(connection)).status_code == 200
    event = AdLeadEvent.objects.get()
    wait_for(
        lambda: AdLeadEvent.objects.filter(pk=event.pk, status=AdEventStatus.PROCESSED).exists(),
        timeout=60,
        message="the worker to process the event",
    )
    wait_for(
        lambda: not Lead.objects.filter(status=LeadStatus.RECEIVED).exists(),
        timeout=60,
        message="the lead to be scored",
    )
    assert Lead.objects.get().source == LeadSource.WEBHOOK
