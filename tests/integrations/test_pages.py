"""The buyer's delivery pages: create a webhook (secret shown once), test-send, the CRM preview on
the sample lead, a purchase's delivery log with redeliver; others get 404."""

import pytest
from django.test import Client

from integrations.models import Delivery, Destination
from integrations.services import deliveries
from tests.factories import UserFactory
from tests.integrations.helpers import CONTACT, ready_purchase, webhook_to

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_create_a_webhook_see_its_secret_once_and_test_send(receiver, django_capture_on_commit_callbacks):
    buyer = UserFactory(is_buyer=True)
    web = logged_in(buyer)
    page = web.post(
        "/integrations/destinations/", {"name": "Hook", "kind": "webhook", "scope": "all", "url": receiver.url("/ok")}
    )
    destination = Destination.objects.get(owner=buyer)
    assert page.status_code == 302
    first = web.get(page["Location"]).content.decode()
    assert 'data-testid="signing-secret"' in first and "whsec_" in first
    assert 'data-testid="signing-secret"' not in web.get(page["Location"]).content.decode()  # once
    with django_capture_on_commit_callbacks(execute=True):
        web.post(f"/integrations/destinations/{destination.pk}/test-send/")
    assert Delivery.objects.get(destination=destination, is_test=True).state == "delivered"
    assert logged_in(UserFactory(is_buyer=True)).get(page["Location"]).status_code == 404


def test_a_crm_mapping_preview_renders_the_sample_lead_only():
    buyer = UserFactory(is_buyer=True)
    web = logged_in(buyer)
    web.post("/integrations/destinations/", {"name": "HS", "kind": "crm", "scope": "all", "crm_preset": "hubspot"})
    destination = Destination.objects.get(owner=buyer)
    html = web.get(f"/integrations/destinations/{destination.pk}/").content.decode()
    assert "sample.person@example.com" in html and "&quot;properties&quot;" in html


def test_the_purchase_delivery_log_shows_attempts_without_pii_and_redelivers(
    receiver, django_capture_on_commit_callbacks
):
    receiver.echo = True
    sale = ready_purchase()
    webhook_to(receiver.url("/ok"), owner=sale.buyer)
    [delivery_id] = deliveries.deliveries_create_for_sale(sale_id=sale.pk)
    deliveries.delivery_attempt(delivery_id=delivery_id)
    web = logged_in(sale.buyer)
    html = web.get(f"/integrations/purchases/{sale.pk}/deliveries/").content.decode()
    assert "Delivered" in html and "HTTP 200" in html and CONTACT["email"] not in html
    with django_capture_on_commit_callbacks(execute=True):
        web.post(f"/integrations/deliveries/{delivery_id}/redeliver/")
    assert Delivery.objects.filter(sale=sale).count() == 2 and len(receiver.requests) == 2
    assert (
        logged_in(UserFactory(is_buyer=True)).post(f"/integrations/deliveries/{delivery_id}/redeliver/").status_code
        == 404
    )


def test_a_crm_mapping_is_typed_as_lines_not_json():
    from integrations.forms import MappingField

    field = MappingField(required=False)
    text = "# our CRM\nemail = {{ contact.email }}\n\nfirstname={{ contact.first_name }}\nlead_source = Lead Engine"
    assert field.clean(text) == {
        "email": "{{ contact.email }}",
        "firstname": "{{ contact.first_name }}",
        "lead_source": "Lead Engine",
    }
    assert field.clean("") is None
    assert field.prepare_value({"email": "{{ contact.email }}", "x": "y"}) == "email = {{ contact.email }}\nx = y"
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as bad:
        field.clean("email {{ contact.email }}\nemail = a\nemail = b")
    assert list(bad.value.messages) == [
        'Line 1: write it as "their field = value", e.g. email = {{ contact.email }}.',
        'Line 3: "email" is mapped twice.',
    ]
