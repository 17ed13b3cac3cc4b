import pytest

from leads.adplatforms.connections import connection_secrets
from leads.choices import AdEventStatus
from leads.models import AdConnection, AdLeadEvent, Lead
from tests.factories import UserFactory
from tests.leads.adplatforms import GOOGLE_FORM, MAPPING_GOOGLE, google_connection, google_payload, post_json

pytestmark = pytest.mark.django_db


def test_a_seller_creates_a_google_connection_and_sees_its_url_and_key(client, seller_user, solar):
    client.force_login(seller_user)
    response = client.post(
        "/seller/integrations/",
        {
            "platform": "google",
            "vertical": solar.pk,
            "name": "Solar search",
            "form_ids": GOOGLE_FORM,
            "consent_text": "I agree to be contacted.",
            "active": "on",
        },
    )
    connection = AdConnection.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/seller/integrations/{connection.pk}/"
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert f"/hooks/google/{connection.token}/".encode() in page.content
    assert connection_secrets(connection=connection).google_key.encode() in page.content
    assert connection.mapping["email"] == "EMAIL"
    assert client.get("/seller/integrations/").content.count(connection.token.encode()) == 1


def test_a_meta_connection_needs_its_app_secret_and_page_token(client, seller_user, solar):
    client.force_login(seller_user)
    response = client.post(
        "/seller/integrations/",
        {"platform": "meta", "vertical": solar.pk, "name": "FB", "form_ids": "1", "consent_text": "ok"},
    )
    assert response.status_code == 400 and b"Copy it from your Meta app" in response.content
    assert not AdConnection.objects.exists()


def test_failed_events_show_their_reason_and_replay_after_the_mapping_is_fixed(
    client, seller_user, solar, django_capture_on_commit_callbacks
):
    connection = google_connection(seller_user, solar, mapping=MAPPING_GOOGLE | {"zip": "ZIP"})
    with django_capture_on_commit_callbacks(execute=True):
        post_json(client, f"/hooks/google/{connection.token}/", google_payload(connection))
    event = AdLeadEvent.objects.get()
    client.force_login(seller_user)
    page = client.get(f"/seller/integrations/{connection.pk}/")
    assert b"from ZIP" in page.content and b'data-testid="replay"' in page.content
    form = {
        "name": connection.name,
        "form_ids": GOOGLE_FORM,
        "consent_text": connection.consent_text,
        "active": "on",
    } | {f"map.{k}": v for k, v in MAPPING_GOOGLE.items()}
    assert client.post(f"/seller/integrations/{connection.pk}/", form).status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        replay = client.post(f"/seller/integrations/events/{event.pk}/replay/")
    assert replay.status_code == 302
    event.refresh_from_db()
    assert event.status == AdEventStatus.PROCESSED and Lead.objects.count() == 1


def test_rotating_the_key_stops_the_old_one(client, seller_user, solar):
    connection = google_connection(seller_user, solar)
    old = google_payload(connection)
    client.force_login(seller_user)
    client.post(f"/seller/integrations/{connection.pk}/rotate/")
    assert post_json(client, f"/hooks/google/{connection.token}/", old).status_code == 403


def test_another_sellers_connection_and_events_are_not_found(client, seller_user, solar):
    connection = google_connection(seller_user, solar)
    post_json(client, f"/hooks/google/{connection.token}/", google_payload(connection, google_key="bad"))
    other = UserFactory(is_seller=True)
    client.force_login(other)
    assert client.get(f"/seller/integrations/{connection.pk}/").status_code == 404
    event = AdLeadEvent.objects.get()
    assert client.post(f"/seller/integrations/events/{event.pk}/replay/").status_code == 404


def test_admin_lists_connections_and_events_without_secrets_or_payloads(client, staff, seller_user, solar):
    connection = google_connection(seller_user, solar)
    post_json(client, f"/hooks/google/{connection.token}/", google_payload(connection, google_key="bad"))
    client.force_login(staff)
    key = connection_secrets(connection=connection).google_key.encode()
    for url in (
        "/admin/leads/adconnection/",
        f"/admin/leads/adconnection/{connection.pk}/change/",
        "/admin/leads/adleadevent/",
        f"/admin/leads/adleadevent/{AdLeadEvent.objects.get().pk}/change/",
    ):
        page = client.get(url)
        assert page.status_code == 200, url
        assert key not in page.content
