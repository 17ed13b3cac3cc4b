"""/api/v1/delivery-destinations/, /api/v1/purchases/<id>/deliveries/ and redeliver: CRUD with the
signing secret shown once, rotate, test-send to the suite's receiver, the delivery log, owners only."""

import pytest
from rest_framework.test import APIClient

from accounts.services import api_key_create
from integrations.models import Delivery, Destination
from integrations.services import deliveries
from tests.factories import UserFactory
from tests.integrations.helpers import ready_purchase, webhook_to

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(user=user, name='t').secret}")
    return client


def test_create_list_update_rotate_and_archive_a_webhook(receiver, django_capture_on_commit_callbacks):
    buyer = UserFactory(is_buyer=True)
    api = client_for(buyer)
    created = api.post(
        "/api/v1/delivery-destinations/", {"name": "Hook", "kind": "webhook", "url": receiver.url("/ok")}, format="json"
    )
    assert created.status_code == 201, created.json()
    secret = created.json()["signing_secret"]
    assert secret.startswith("whsec_") and created.json()["secret_hint"] == secret[-4:]
    pk = created.json()["id"]

    listed = api.get("/api/v1/delivery-destinations/").json()
    assert [d["id"] for d in listed["results"]] == [pk] and "signing_secret" not in listed["results"][0]

    patched = api.patch(f"/api/v1/delivery-destinations/{pk}/", {"name": "Renamed"}, format="json")
    assert patched.status_code == 200 and patched.json()["name"] == "Renamed"
    bad = api.patch(f"/api/v1/delivery-destinations/{pk}/", {"url": "ftp://x.example/"}, format="json")
    assert bad.status_code == 400

    rotated = api.post(f"/api/v1/delivery-destinations/{pk}/rotate-secret/").json()["signing_secret"]
    assert rotated != secret

    receiver.secret = rotated
    with django_capture_on_commit_callbacks(execute=True):
        sent = api.post(f"/api/v1/delivery-destinations/{pk}/test-send/")
    assert sent.status_code == 202
    assert Delivery.objects.get(pk=sent.json()["id"]).state == "delivered"  # tasks run in process here
    assert receiver.requests[-1].signature_ok is True and receiver.requests[-1].json()["test"] is True

    assert api.delete(f"/api/v1/delivery-destinations/{pk}/").status_code == 204
    assert Destination.objects.get(pk=pk).archived_at is not None
    assert api.get(f"/api/v1/delivery-destinations/{pk}/").status_code == 404


def test_a_crm_preset_fills_the_mapping_and_a_bad_template_is_a_400():
    api = client_for(UserFactory(is_buyer=True))
    created = api.post(
        "/api/v1/delivery-destinations/", {"name": "SF", "kind": "crm", "crm_preset": "salesforce"}, format="json"
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["url"].startswith("https://webto.salesforce.com/") and body["mapping"]["oid"]
    assert body["body_format"] == "form" and body["signing_secret"] == ""
    bad = api.post(
        "/api/v1/delivery-destinations/",
        {
            "name": "x",
            "kind": "crm",
            "url": "https://crm.example/in",
            "mapping": {"a": "{{ contact.email|no_such_filter }}"},
        },
        format="json",
    )
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "mapping"


def test_a_purchases_delivery_log_and_redeliver_are_the_buyers_only(receiver, django_capture_on_commit_callbacks):
    sale = ready_purchase()
    webhook_to(receiver.url("/ok"), owner=sale.buyer)
    [delivery_id] = deliveries.deliveries_create_for_sale(sale_id=sale.pk)
    deliveries.delivery_attempt(delivery_id=delivery_id)
    api = client_for(sale.buyer)

    log = api.get(f"/api/v1/purchases/{sale.pk}/deliveries/").json()["results"]
    assert [d["id"] for d in log] == [delivery_id]
    assert log[0]["state"] == "delivered" and log[0]["attempt_log"][0]["status_code"] == 200

    with django_capture_on_commit_callbacks(execute=True):
        again = api.post(f"/api/v1/deliveries/{delivery_id}/redeliver/")
    assert again.status_code == 202 and again.json()["redelivery_of"] == delivery_id
    assert len(receiver.requests) == 2

    stranger = client_for(UserFactory(is_buyer=True))
    assert stranger.get(f"/api/v1/purchases/{sale.pk}/deliveries/").json()["results"] == []
    assert stranger.post(f"/api/v1/deliveries/{delivery_id}/redeliver/").status_code == 404


def test_an_empty_vertical_slug_is_a_400_not_null():
    api = client_for(UserFactory(is_buyer=True))
    answer = api.post(
        "/api/v1/delivery-destinations/",
        {"name": "x", "kind": "webhook", "url": "https://hooks.example.com/x", "vertical": ""},
        format="json",
    )
    assert answer.status_code == 400 and answer.json()["error"]["param"] == "vertical"


def test_sellers_without_buying_get_a_403():
    api = client_for(UserFactory(is_buyer=False, is_seller=True))
    assert api.get("/api/v1/delivery-destinations/").status_code == 403
