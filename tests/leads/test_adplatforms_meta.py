import json
import time

import pytest

from leads.adplatforms.connections import connection_secrets
from leads.adplatforms.fake_graph import FakeGraphServer
from leads.adplatforms.graph import _client
from leads.adplatforms.hooks import meta_signature
from leads.adplatforms.processing import ad_event_replay
from leads.choices import AdEventStatus, LeadSource, LeadStatus
from leads.models import AdLeadEvent, Lead
from tests.leads.adplatforms import META_FORM, meta_connection

pytestmark = pytest.mark.django_db


@pytest.fixture
def graph(settings):
    server = FakeGraphServer().start()
    settings.LEADS_META_GRAPH_URL = server.base_url
    settings.LEADS_META_GRAPH_BACKEND = "leads.adplatforms.graph.HttpGraphClient"
    _client.cache_clear()
    yield server
    server.stop()
    _client.cache_clear()


@pytest.fixture
def connection(seller_user, solar):
    return meta_connection(seller_user, solar)


def field_data(**overrides):
    values = {
        "full_name": "Maria Garcia",
        "email": "maria.garcia@gmail.com",
        "phone_number": "+14155552671",
        "street_address": "1 Market St",
        "city": "San Francisco",
        "state": "CA",
        "zip_code": "94105",
        "homeowner": "yes",
        "monthly_electric_bill": "240",
    } | overrides
    return [{"name": k, "values": [v]} for k, v in values.items()]


def body(*, leadgen_id="444444444444", form_id=META_FORM, at=None) -> bytes:
    at = int(time.time()) if at is None else at
    value = {
        "ad_id": "0",
        "form_id": form_id,
        "leadgen_id": leadgen_id,
        "created_time": at,
        "page_id": "777",
        "adgroup_id": "0",
    }
    return json.dumps(
        {"object": "page", "entry": [{"id": "777", "time": at, "changes": [{"field": "leadgen", "value": value}]}]}
    ).encode()


def post(client, connection, raw: bytes, *, signature=None, capture=None):
    secret = connection_secrets(connection=connection).app_secret
    header = meta_signature(app_secret=secret, body=raw) if signature is None else signature
    with capture(execute=True):
        return client.post(
            f"/hooks/meta/{connection.token}/",
            raw,
            content_type="application/json",
            HTTP_X_HUB_SIGNATURE_256=header,
            REMOTE_ADDR="173.252.0.9",
        )


def test_the_verification_handshake_echoes_the_challenge_with_the_right_verify_token(client, connection):
    verify = connection_secrets(connection=connection).verify_token
    url = f"/hooks/meta/{connection.token}/"
    ok = client.get(url, {"hub.mode": "subscribe", "hub.verify_token": verify, "hub.challenge": "1158201444"})
    assert ok.status_code == 200 and ok.content == b"1158201444"
    wrong = client.get(url, {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1158201444"})
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "wrong_verify_token"
    assert AdLeadEvent.objects.get().status == AdEventStatus.REJECTED


def test_a_signed_delivery_fetches_the_lead_from_graph_and_makes_a_scored_lead(
    client, connection, graph, django_capture_on_commit_callbacks
):
    graph.add_lead(leadgen_id="444444444444", field_data=field_data(), created_time="2026-01-01T00:00:00+0000")
    graph.leads["444444444444"]["created_time"] = time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime())
    response = post(client, connection, body(), capture=django_capture_on_commit_callbacks)
    assert response.status_code == 200, response.content
    event = AdLeadEvent.objects.get()
    assert event.status == AdEventStatus.PROCESSED, event.error
    assert graph.requests == ["444444444444"]
    lead = Lead.objects.get()
    assert event.lead == lead and lead.source == LeadSource.WEBHOOK and lead.external_id == "meta:444444444444"
    assert lead.status in (LeadStatus.SCORED, LeadStatus.LISTED) and lead.fields["homeowner"] is True
    assert "Meta" in lead.consent_user_agent


@pytest.mark.parametrize("signature", ["", "sha256=" + "0" * 64, "sha1=abc"])
def test_a_wrong_or_missing_signature_is_refused_and_logged_without_the_body(
    client, connection, graph, django_capture_on_commit_callbacks, signature
):
    response = post(client, connection, body(), signature=signature, capture=django_capture_on_commit_callbacks)
    assert response.status_code == 403 and response.json()["error"]["code"] == "wrong_signature"
    event = AdLeadEvent.objects.get()
    assert event.status == AdEventStatus.REJECTED and not event.payload_blob and event.platform_lead_id == ""
    assert not Lead.objects.exists() and graph.requests == []


def test_a_delivery_older_than_five_minutes_is_refused_as_a_replay_but_kept_for_the_seller(
    client, connection, graph, seller_user, django_capture_on_commit_callbacks
):
    graph.add_lead(
        leadgen_id="444444444444",
        field_data=field_data(),
        created_time=time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime()),
    )
    response = post(client, connection, body(at=int(time.time()) - 301), capture=django_capture_on_commit_callbacks)
    assert response.status_code == 400 and response.json()["error"]["code"] == "stale_delivery"
    event = AdLeadEvent.objects.get()
    assert event.status == AdEventStatus.REJECTED and event.platform_lead_id == "444444444444" and event.replayable
    assert not Lead.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        ad_event_replay(seller=seller_user, event_id=event.pk)
    event.refresh_from_db()
    assert event.status == AdEventStatus.PROCESSED and Lead.objects.count() == 1


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (b"{oops", 400, "malformed_json"),
        (json.dumps({"object": "user", "entry": []}).encode(), 400, "invalid_payload"),
        (None, 404, "unknown_form"),
    ],
)
def test_malformed_and_unknown_form_deliveries_get_a_clear_4xx_and_no_lead(
    client, connection, graph, django_capture_on_commit_callbacks, raw, status, code
):
    raw = body(form_id="999") if raw is None else raw
    response = post(client, connection, raw, capture=django_capture_on_commit_callbacks)
    assert response.status_code == status and response.json()["error"]["code"] == code
    assert AdLeadEvent.objects.get().status == AdEventStatus.REJECTED
    assert not Lead.objects.exists() and graph.requests == []


def test_an_oversized_body_is_refused(client, connection, settings, django_capture_on_commit_callbacks):
    settings.LEADS_AD_HOOK_MAX_BYTES = 100
    response = post(client, connection, body(), capture=django_capture_on_commit_callbacks)
    assert response.status_code == 413
    assert AdLeadEvent.objects.get().status == AdEventStatus.REJECTED and not Lead.objects.exists()


def test_a_graph_failure_fails_the_event_and_a_replay_later_succeeds(
    client, connection, graph, seller_user, django_capture_on_commit_callbacks
):
    graph.add_lead(
        leadgen_id="444444444444",
        field_data=field_data(),
        created_time=time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime()),
    )
    graph.fail_next = 1
    assert post(client, connection, body(), capture=django_capture_on_commit_callbacks).status_code == 200
    event = AdLeadEvent.objects.get()
    assert event.status == AdEventStatus.FAILED and "Graph API answered 500" in event.error
    assert not Lead.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        ad_event_replay(seller=seller_user, event_id=event.pk)
    event.refresh_from_db()
    assert event.status == AdEventStatus.PROCESSED and event.attempts == 2 and Lead.objects.count() == 1


def test_an_unknown_lead_at_graph_fails_with_graphs_reason(
    client, connection, graph, django_capture_on_commit_callbacks
):
    post(client, connection, body(leadgen_id="555"), capture=django_capture_on_commit_callbacks)
    event = AdLeadEvent.objects.get()
    assert event.status == AdEventStatus.FAILED and "Object does not exist" in event.error


def test_a_redelivery_is_stored_once_and_graph_is_asked_once(
    client, connection, graph, django_capture_on_commit_callbacks
):
    graph.add_lead(
        leadgen_id="444444444444",
        field_data=field_data(),
        created_time=time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime()),
    )
    raw = body()
    post(client, connection, raw, capture=django_capture_on_commit_callbacks)
    again = post(client, connection, raw, capture=django_capture_on_commit_callbacks)
    assert again.status_code == 200 and again.json()["status"] == "already_received"
    assert AdLeadEvent.objects.count() == 1 and Lead.objects.count() == 1 and graph.requests == ["444444444444"]


def test_a_validation_failure_keeps_the_fetched_lead_and_replay_does_not_ask_graph_again(
    client, connection, graph, seller_user, django_capture_on_commit_callbacks
):
    from leads.adplatforms.connections import ad_connection_update
    from tests.leads.adplatforms import MAPPING_META

    graph.add_lead(
        leadgen_id="444444444444",
        field_data=field_data(zip_code=None, postcode="94105"),
        created_time=time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime()),
    )
    post(client, connection, body(), capture=django_capture_on_commit_callbacks)
    event = AdLeadEvent.objects.get()
    assert event.status == AdEventStatus.FAILED and "zip" in event.error
    ad_connection_update(connection=connection, mapping=MAPPING_META | {"zip": "postcode"})
    with django_capture_on_commit_callbacks(execute=True):
        ad_event_replay(seller=seller_user, event_id=event.pk)
    event.refresh_from_db()
    assert event.status == AdEventStatus.PROCESSED and graph.requests == ["444444444444"]
