"""Webhook delivery to a real local HTTP server: the signed v1 payload and its headers, the logged
PII access and correlation id, retries on the delivery's own schedule, dead letters, redirects
not followed, timeouts, scopes, redeliver and test sends."""

from datetime import timedelta

import pytest
from django.utils import timezone

from escrow.tasks.settlement import settle_sale_schedule
from integrations.models import Delivery, DeliveryAttempt
from integrations.services import deliveries
from integrations.services.destinations import destination_create
from leads.models import PiiAccess
from tests.auctions.factories import make_vertical
from tests.integrations.helpers import CONTACT, ready_purchase, webhook_to

pytestmark = pytest.mark.django_db


def _deliver_now(sale) -> list[Delivery]:
    ids = deliveries.deliveries_create_for_sale(sale_id=sale.pk)
    for pk in ids:
        deliveries.delivery_attempt(delivery_id=pk)
    return list(Delivery.objects.filter(pk__in=ids).order_by("id"))


def test_a_ready_purchase_is_delivered_signed_with_payload_v1_and_logged(receiver):
    sale = ready_purchase()
    destination, secret = webhook_to(receiver.url("/ok"), owner=sale.buyer)
    receiver.secret = secret

    [delivery] = _deliver_now(sale)

    assert delivery.state == Delivery.State.DELIVERED and delivery.attempts == 1
    [request] = receiver.requests
    assert request.signature_ok is True
    assert request.headers["idempotency-key"] == str(delivery.public_id)
    assert request.headers["x-correlation-id"] == f"cid-{sale.lead_id}"
    assert request.headers["content-type"] == "application/json"
    body = request.json()
    assert body["version"] == "1" and body["type"] == "lead.purchased" and body["test"] is False
    assert body["id"] == str(delivery.public_id)
    assert body["purchase"]["id"] == sale.pk and body["purchase"]["price"] == "10.000000"
    assert body["lead"]["id"] == sale.lead_id and body["lead"]["vertical"] == sale.lead.vertical.slug
    assert body["contact"]["email"] == CONTACT["email"] and body["contact"]["fields"] == CONTACT["fields"]
    assert body["correlation_id"] == f"cid-{sale.lead_id}"
    # Every delivery is a logged PII access, under the sale's correlation id.
    access = PiiAccess.objects.get(lead=sale.lead, channel=PiiAccess.Channel.PUSH)
    assert access.user == sale.buyer and access.correlation_id == f"cid-{sale.lead_id}"
    [attempt] = DeliveryAttempt.objects.filter(delivery=delivery)
    assert attempt.outcome == "delivered" and attempt.status_code == 200 and attempt.latency_ms is not None
    assert attempt.response_excerpt == '{"received": true}'


def test_a_response_that_echoes_the_lead_is_logged_with_the_pii_redacted(receiver):
    receiver.echo = True
    sale = ready_purchase()
    webhook_to(receiver.url("/ok"), owner=sale.buyer)
    [delivery] = _deliver_now(sale)
    excerpt = delivery.attempt_log.get().response_excerpt
    assert excerpt and "[redacted]" in excerpt
    for value in (CONTACT["email"], CONTACT["phone"], CONTACT["last_name"], CONTACT["street_address"]):
        assert value not in excerpt


def test_the_purchase_ready_signal_delivers_once_its_sale_commits(receiver, django_capture_on_commit_callbacks):
    sale = ready_purchase()
    webhook_to(receiver.url("/ok"), owner=sale.buyer)
    with django_capture_on_commit_callbacks(execute=True):
        settle_sale_schedule(None, sale=sale)  # the ledger-only sale's "contact details readable" moment
    [delivery] = Delivery.objects.filter(sale=sale)
    assert delivery.state == Delivery.State.DELIVERED
    assert len(receiver.requests) == 1
    with django_capture_on_commit_callbacks(execute=True):
        settle_sale_schedule(None, sale=sale)  # told twice: still one delivery
    assert Delivery.objects.filter(sale=sale).count() == 1 and len(receiver.requests) == 1


def test_a_target_failing_three_times_then_answering_is_delivered_once_after_four_attempts(receiver, settings):
    settings.INTEGRATIONS_RETRY_SCHEDULE = [30, 120, 600, 3600]
    sale = ready_purchase()
    webhook_to(receiver.url(f"/fail/3/{sale.pk}"), owner=sale.buyer)
    [delivery_id] = deliveries.deliveries_create_for_sale(sale_id=sale.pk)
    now = timezone.now()
    results = []
    for wait in (0, 30, 120, 600):
        now += timedelta(seconds=wait + 1)
        # not due yet a moment before: nothing is sent
        assert not deliveries.delivery_attempt(delivery_id=delivery_id, now=now - timedelta(seconds=2)).attempted or (
            wait == 0
        )
        results.append(deliveries.delivery_attempt(delivery_id=delivery_id, now=now))
    assert [r.state for r in results] == ["retrying", "retrying", "retrying", "delivered"]
    assert [r.call_again_in for r in results] == [30, 120, 600, None]
    delivery = Delivery.objects.get(pk=delivery_id)
    assert delivery.state == Delivery.State.DELIVERED and delivery.attempts == 4
    log = list(delivery.attempt_log.order_by("number").values_list("number", "outcome", "status_code"))
    assert log == [(1, "failed", 500), (2, "failed", 500), (3, "failed", 500), (4, "delivered", 200)]
    assert [r.status for r in receiver.requests] == [500, 500, 500, 200]  # answered once
    assert {r.headers["idempotency-key"] for r in receiver.requests} == {str(delivery.public_id)}
    assert [r.headers["leadengine-delivery-attempt"] for r in receiver.requests] == ["1", "2", "3", "4"]
    # A later call does nothing: delivered once.
    assert deliveries.delivery_attempt(delivery_id=delivery_id, now=now + timedelta(days=1)).attempted is False
    assert len(receiver.requests) == 4


def test_a_target_that_never_answers_well_is_dead_lettered_after_the_schedule(receiver, settings):
    settings.INTEGRATIONS_RETRY_SCHEDULE = [1, 1]
    sale = ready_purchase()
    webhook_to(receiver.url("/status/503"), owner=sale.buyer)
    [delivery_id] = deliveries.deliveries_create_for_sale(sale_id=sale.pk)
    now = timezone.now()
    states = []
    for _ in range(4):
        now += timedelta(seconds=5)
        states.append(deliveries.delivery_attempt(delivery_id=delivery_id, now=now).state)
    assert states == ["retrying", "retrying", "dead", "dead"]
    delivery = Delivery.objects.get(pk=delivery_id)
    assert delivery.attempts == 3 and delivery.last_error == "HTTP 503" and len(receiver.requests) == 3
    assert deliveries.delivery_due_ids(now=now + timedelta(days=2)) == []
    assert deliveries.delivery_revive(delivery_id=delivery_id)
    assert delivery_id in deliveries.delivery_due_ids(now=now + timedelta(days=2))


def test_redirects_are_not_followed(receiver):
    sale = ready_purchase()
    webhook_to(receiver.url("/redirect"), owner=sale.buyer)
    [delivery] = _deliver_now(sale)
    assert delivery.state == Delivery.State.RETRYING
    assert delivery.attempt_log.get().status_code == 302
    assert [r.path for r in receiver.requests] == ["/redirect"]


def test_a_slow_receiver_times_out_and_is_retried(receiver, settings):
    settings.INTEGRATIONS_READ_TIMEOUT = 0.5
    sale = ready_purchase()
    webhook_to(receiver.url("/slow/3"), owner=sale.buyer)
    started = timezone.now()
    [delivery] = _deliver_now(sale)
    assert (timezone.now() - started).total_seconds() < 2.5
    attempt = delivery.attempt_log.get()
    assert delivery.state == Delivery.State.RETRYING and attempt.outcome == "failed"
    assert "Timeout" in attempt.error or "timeout" in attempt.error


def test_scopes_pick_the_destinations_of_a_purchase(receiver):
    sale = ready_purchase()
    buyer = sale.buyer
    webhook_to(receiver.url("/ok?all"), owner=buyer)
    webhook_to(receiver.url("/ok?vertical"), owner=buyer, scope="vertical", vertical=sale.lead.vertical)
    webhook_to(receiver.url("/ok?other"), owner=buyer, scope="vertical", vertical=make_vertical())
    off, _ = webhook_to(receiver.url("/ok?off"), owner=buyer)
    off.active = False
    off.save()
    _deliver_now(sale)
    assert sorted(r.path for r in receiver.requests) == ["/ok?all", "/ok?vertical"]


def test_redeliver_sends_again_with_a_new_key_and_test_send_uses_the_sample_lead(receiver):
    receiver_secret = None
    sale = ready_purchase()
    destination, receiver_secret = webhook_to(receiver.url("/ok"), owner=sale.buyer)
    receiver.secret = receiver_secret
    [first] = _deliver_now(sale)
    again = deliveries.delivery_redeliver(delivery=first)
    deliveries.delivery_attempt(delivery_id=again.pk)
    assert Delivery.objects.get(pk=again.pk).state == Delivery.State.DELIVERED
    keys = [r.headers["idempotency-key"] for r in receiver.requests]
    assert keys == [str(first.public_id), str(again.public_id)]

    accesses = PiiAccess.objects.count()
    test = deliveries.delivery_test_send(destination=destination)
    deliveries.delivery_attempt(delivery_id=test.pk)
    body = receiver.requests[-1].json()
    assert body["test"] is True and body["contact"]["email"] == "sample.person@example.com"
    assert receiver.requests[-1].signature_ok is True
    assert PiiAccess.objects.count() == accesses  # no real lead was read


def test_a_switched_off_destination_cancels_what_is_still_pending(receiver):
    sale = ready_purchase()
    destination, _ = webhook_to(receiver.url("/ok"), owner=sale.buyer)
    [delivery_id] = deliveries.deliveries_create_for_sale(sale_id=sale.pk)
    destination.active = False
    destination.save()
    assert deliveries.delivery_attempt(delivery_id=delivery_id).state == "cancelled"
    assert receiver.requests == []


def test_email_destination_sends_the_contact_details_to_the_buyers_address(mailoutbox):
    sale = ready_purchase()
    destination_create(owner=sale.buyer, kind="email", name="Inbox", email="crm-inbox@buyer.example")
    [delivery] = _deliver_now(sale)
    assert delivery.state == Delivery.State.DELIVERED
    [mail] = mailoutbox
    assert mail.to == ["crm-inbox@buyer.example"]
    assert CONTACT["email"] in mail.body and CONTACT["phone"] in mail.body
    assert PiiAccess.objects.filter(lead=sale.lead, channel="push").count() == 1
