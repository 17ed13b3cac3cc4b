"""Delivering purchases into buyers' systems: which destinations a purchase goes to, one attempt
at a time, retries on INTEGRATIONS_RETRY_SCHEDULE, then dead-lettered; redeliver and test sends.

At least once: an attempt is recorded ("sending", with a lease) and committed before the request
leaves, the contact details are read through the logged PII access in that same transaction, and
the outcome is recorded after. A worker that dies mid-send leaves the delivery "sending": once its
lease runs out, the next attempt (the redelivered task message, or the integrations.deliver_due
sweep) marks the lost attempt "interrupted" and sends again, with the same Idempotency-Key, so a
receiver may see a delivery twice and should drop the repeat by that key.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from auctions.models import AutobidTrace, Sale
from core import correlation
from escrow.services.purchases import ContactUnavailable, PurchaseNotFound, purchase_pii_read
from integrations import outbound, payload
from integrations.choices import OPEN_DELIVERY_STATES, AttemptOutcome, DeliveryState, DestinationKind
from integrations.models import Delivery, DeliveryAttempt, Destination
from integrations.services.destinations import destination_secrets
from leads.models import PiiAccess

logger = logging.getLogger(__name__)

ERROR_MAX = DeliveryAttempt._meta.get_field("error").max_length
EXCERPT_MAX = DeliveryAttempt._meta.get_field("response_excerpt").max_length


@dataclass(frozen=True)
class AttemptResult:
    """What a call to delivery_attempt did: the delivery's state after it, and when to call again
    (seconds; None: nothing more to do, or the sweep takes it)."""

    state: str
    attempted: bool
    call_again_in: float | None = None


@dataclass
class _Prepared:
    url: str = ""
    body: bytes = b""
    headers: dict | None = None
    email: tuple[str, str, str] | None = None  # (to, subject, text)
    context: dict | None = None


# ---------------------------------------------------------------- which destinations


def destinations_for_sale(*, sale: Sale) -> list[Destination]:
    """The buyer's active destinations whose scope covers `sale`: all purchases, the lead's
    vertical, or an autobid rule that bid in the sale's auction."""
    rule_ids = AutobidTrace.objects.filter(
        auction_id=sale.auction_id, rule__buyer_id=sale.buyer_id, bid__isnull=False
    ).values("rule_id")
    return list(
        Destination.objects.filter(owner_id=sale.buyer_id, active=True, archived_at__isnull=True)
        .filter(
            Q(scope=Destination.Scope.ALL)
            | Q(scope=Destination.Scope.VERTICAL, vertical_id=sale.lead.vertical_id)
            | Q(scope=Destination.Scope.RULE, rule_id__in=rule_ids)
        )
        .order_by("id")
    )


@transaction.atomic
def deliveries_create_for_sale(*, sale_id: int) -> list[int]:
    """One Delivery per matching destination (idempotent: a purchase goes to a destination once);
    returns the ids of the deliveries still to send."""
    sale = Sale.objects.select_related("lead").get(pk=sale_id)
    now = timezone.now()
    rows = [
        Delivery(
            destination=d, sale=sale, correlation_id=sale.lead.correlation_id or "", next_attempt_at=now, created_at=now
        )
        for d in destinations_for_sale(sale=sale)
    ]
    if rows:
        Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    return list(
        Delivery.objects.filter(sale_id=sale_id, state=DeliveryState.PENDING, is_test=False).values_list(
            "pk", flat=True
        )
    )


@transaction.atomic
def delivery_redeliver(*, delivery: Delivery) -> Delivery:
    """Send a purchase to the same destination again, as a new delivery with a new Idempotency-Key
    (the receiver asked for it again, so it must not drop it as a repeat)."""
    original = Delivery.objects.select_related("destination").get(pk=delivery.pk)
    if original.is_test:
        return delivery_test_send(destination=original.destination)
    return Delivery.objects.create(
        destination=original.destination,
        sale_id=original.sale_id,
        redelivery_of=original,
        correlation_id=original.correlation_id,
        next_attempt_at=timezone.now(),
    )


@transaction.atomic
def delivery_test_send(*, destination: Destination) -> Delivery:
    """A delivery of the made-up sample lead (no PII), to check a destination end to end."""
    return Delivery.objects.create(
        destination=destination, is_test=True, correlation_id=correlation.get() or "", next_attempt_at=timezone.now()
    )


@transaction.atomic
def delivery_revive(*, delivery_id: int) -> bool:
    """A dead-lettered delivery gets one more attempt now (staff replay). False when not dead."""
    updated = Delivery.objects.filter(pk=delivery_id, state=DeliveryState.DEAD).update(
        state=DeliveryState.RETRYING, next_attempt_at=timezone.now()
    )
    return bool(updated)


def delivery_due_ids(*, now=None, limit: int = 500) -> list[int]:
    """Deliveries whose attempt is due, and those whose send lost its worker (lease over)."""
    now = now or timezone.now()
    return list(
        Delivery.objects.filter(
            Q(state__in=(DeliveryState.PENDING, DeliveryState.RETRYING), next_attempt_at__lte=now)
            | Q(state=DeliveryState.SENDING, lease_expires_at__lte=now)
        )
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:limit]
    )


# ---------------------------------------------------------------- one attempt


def _lease_seconds() -> float:
    return (
        settings.INTEGRATIONS_CONNECT_TIMEOUT + settings.INTEGRATIONS_READ_TIMEOUT + settings.INTEGRATIONS_LEASE_MARGIN
    )


def _prepare(delivery: Delivery, number: int) -> _Prepared:
    """The request (or email) of this attempt. Reads the contact details as the buyer, logged
    (PiiAccess channel "push"); a test send uses the sample lead."""
    destination = delivery.destination
    if delivery.is_test:
        context = payload.sample_context()
    else:
        sale = delivery.sale
        contact = purchase_pii_read(user=destination.owner, sale=sale, channel=PiiAccess.Channel.PUSH)
        context = payload.lead_context(sale=sale, contact=contact)
    prepared = _Prepared(context=context)
    if destination.kind == DestinationKind.EMAIL:
        subject, text = payload.email_text(context=context)
        prepared.email = (destination.email, ("[TEST] " if delivery.is_test else "") + subject, text)
        return prepared
    secrets = destination_secrets(destination=destination)
    headers = {
        "User-Agent": settings.INTEGRATIONS_USER_AGENT,
        payload.IDEMPOTENCY_HEADER: str(delivery.public_id),
        payload.CORRELATION_HEADER: delivery.correlation_id,
        "LeadEngine-Delivery-Attempt": str(number),
    }
    if destination.kind == DestinationKind.WEBHOOK:
        body = payload.webhook_body(delivery=delivery, context=context)
        headers["Content-Type"] = "application/json"
        headers["LeadEngine-Event"] = payload.EVENT_TYPE
        if secrets.get("signing_secret"):
            headers[payload.SIGNATURE_HEADER] = payload.signature_header(secret=secrets["signing_secret"], body=body)
    else:
        body, content_type = payload.crm_body(destination=destination, context=context)
        headers["Content-Type"] = content_type
    if secrets.get("authorization"):
        headers["Authorization"] = secrets["authorization"]
    prepared.url, prepared.body, prepared.headers = destination.url, body, headers
    return prepared


def _claim(delivery_id: int, now) -> tuple[AttemptResult | None, Delivery | None, DeliveryAttempt | None, _Prepared]:
    """Take the delivery for one attempt: record the attempt and read what to send, in one
    transaction. Returns (result, …) when there is nothing to send now."""
    with transaction.atomic():
        d = (
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("destination__owner", "sale__lead__vertical")
            .filter(pk=delivery_id)
            .first()
        )
        if d is None:
            busy = Delivery.objects.filter(pk=delivery_id).exists()
            return AttemptResult("busy" if busy else "missing", False), None, None, _Prepared()
        if d.state not in OPEN_DELIVERY_STATES:
            return AttemptResult(d.state, False), None, None, _Prepared()
        if d.state == DeliveryState.SENDING:
            if d.lease_expires_at and d.lease_expires_at > now:
                return (
                    AttemptResult(d.state, False, (d.lease_expires_at - now).total_seconds() + 1),
                    None,
                    None,
                    _Prepared(),
                )
            DeliveryAttempt.objects.filter(delivery=d, outcome=AttemptOutcome.SENDING).update(
                outcome=AttemptOutcome.INTERRUPTED,
                finished_at=now,
                error="The sending worker stopped before recording an answer; the receiver may have it.",
            )
        elif d.next_attempt_at and d.next_attempt_at > now:
            return AttemptResult(d.state, False, (d.next_attempt_at - now).total_seconds()), None, None, _Prepared()
        destination = d.destination
        if not destination.active or destination.archived_at is not None:
            d.state, d.last_error, d.lease_expires_at = (
                DeliveryState.CANCELLED,
                "The destination was switched off.",
                None,
            )
            d.save(update_fields=["state", "last_error", "lease_expires_at"])
            return AttemptResult(d.state, False), None, None, _Prepared()
        number = d.attempts + 1
        attempt = DeliveryAttempt(delivery=d, number=number, started_at=now)
        try:
            with transaction.atomic():
                prepared = _prepare(d, number)
        except (PurchaseNotFound, ContactUnavailable) as exc:
            reason = (
                f"The purchase's contact details are no longer yours to read ({exc.status})."
                if isinstance(exc, ContactUnavailable)
                else "The purchase is no longer yours (resold)."
            )
            attempt.outcome, attempt.error, attempt.finished_at = AttemptOutcome.REFUSED, reason, now
            attempt.save()
            d.attempts, d.state, d.last_error, d.lease_expires_at = number, DeliveryState.CANCELLED, reason, None
            d.save(update_fields=["attempts", "state", "last_error", "lease_expires_at"])
            return AttemptResult(d.state, True), None, None, _Prepared()
        attempt.save()
        d.attempts, d.state = number, DeliveryState.SENDING
        d.lease_expires_at = now + timedelta(seconds=_lease_seconds())
        d.save(update_fields=["attempts", "state", "lease_expires_at"])
        return None, d, attempt, prepared


def _send(prepared: _Prepared) -> tuple[str, int | None, str, str, int]:
    """(outcome, status code, response excerpt, error, latency ms). No PII in what it returns."""
    if prepared.email is not None:
        to, subject, text = prepared.email
        started = timezone.now()
        try:
            sent = EmailMessage(subject=subject, body=text, to=[to]).send()
        except Exception as exc:  # noqa: BLE001 - any backend failure is a failed attempt, retried
            return AttemptOutcome.FAILED, None, "", f"email not sent: {type(exc).__name__}", _ms_since(started)
        outcome = AttemptOutcome.DELIVERED if sent else AttemptOutcome.FAILED
        return outcome, None, "", "" if sent else "the email backend sent nothing", _ms_since(started)
    started = timezone.now()
    try:
        answer = outbound.post(url=prepared.url, body=prepared.body, headers=prepared.headers)
    except outbound.UrlRefused as exc:
        return AttemptOutcome.REFUSED, None, "", str(exc), _ms_since(started)
    except outbound.SendFailed as exc:
        return AttemptOutcome.FAILED, None, "", str(exc), _ms_since(started)
    excerpt = payload.redact(answer.body[:2000].decode("utf-8", "replace"), context=prepared.context or {})
    ok = 200 <= answer.status < 300
    error = "" if ok else f"HTTP {answer.status}"
    return (
        AttemptOutcome.DELIVERED if ok else AttemptOutcome.FAILED,
        answer.status,
        excerpt[:EXCERPT_MAX],
        error,
        answer.latency_ms,
    )


def _ms_since(started) -> int:
    return int((timezone.now() - started).total_seconds() * 1000)


def delivery_attempt(*, delivery_id: int, now=None) -> AttemptResult:
    """Make the delivery's next attempt if one is due (idempotent: a delivery that is done, not due,
    or being sent by another worker is left alone). Records the attempt before sending and its
    outcome after; a failure is retried on INTEGRATIONS_RETRY_SCHEDULE, then dead-lettered; a
    refused URL is dead-lettered at once. Runs under the sale's correlation id."""
    now = now or timezone.now()
    cid = Delivery.objects.filter(pk=delivery_id).values_list("correlation_id", flat=True).first()
    token = correlation.set(cid or correlation.get() or correlation.new_id())
    try:
        result, delivery, attempt, prepared = _claim(delivery_id, now)
        if result is not None:
            return result
        outcome, status_code, excerpt, error, latency_ms = _send(prepared)
        finished = now + timedelta(milliseconds=latency_ms)
        return _record(delivery, attempt, outcome, status_code, excerpt, error, latency_ms, finished)
    finally:
        correlation.reset(token)


@transaction.atomic
def _record(delivery, attempt, outcome, status_code, excerpt, error, latency_ms, finished) -> AttemptResult:
    d = Delivery.objects.select_for_update().get(pk=delivery.pk)
    updated = DeliveryAttempt.objects.filter(pk=attempt.pk, outcome=AttemptOutcome.SENDING).update(
        outcome=outcome,
        status_code=status_code,
        response_excerpt=excerpt,
        error=error[:ERROR_MAX],
        latency_ms=latency_ms,
        finished_at=finished,
    )
    if not updated or d.state != DeliveryState.SENDING or d.attempts != attempt.number:
        # Our lease ran out and another attempt took over: it decides; keep our facts if we can.
        return AttemptResult(d.state, True)
    d.lease_expires_at = None
    schedule = settings.INTEGRATIONS_RETRY_SCHEDULE
    if outcome == AttemptOutcome.DELIVERED:
        d.state, d.delivered_at, d.last_error, d.next_attempt_at = DeliveryState.DELIVERED, finished, "", None
        call_again = None
    elif outcome == AttemptOutcome.REFUSED or d.attempts > len(schedule):
        d.state, d.last_error, d.next_attempt_at = DeliveryState.DEAD, error[:300], None
        call_again = None
        logger.warning("delivery %s dead-lettered after %s attempts: %s", d.pk, d.attempts, error)
    else:
        wait = float(schedule[d.attempts - 1])
        d.state, d.last_error = DeliveryState.RETRYING, error[:300]
        d.next_attempt_at = finished + timedelta(seconds=wait)
        call_again = wait
    d.save(update_fields=["state", "delivered_at", "last_error", "next_attempt_at", "lease_expires_at"])
    return AttemptResult(d.state, True, call_again)
