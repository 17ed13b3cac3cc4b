"""An ad platform's stored lead → lead_submit: the same validation, dedupe, caps and scoring as
every channel (source "webhook"). A failure keeps the event with its reason in words; the seller
fixes the mapping (or waits for the cause to pass) and replays it. Nothing is lost.
"""

import logging

from django.db import transaction
from django.utils import timezone

from core.errors import NotFoundError
from leads import vault
from leads.adplatforms.connections import connection_secrets
from leads.adplatforms.graph import GraphError, graph_client
from leads.choices import AdEventStatus, AdPlatform, LeadSource
from leads.forms import US_STATE_NAMES
from leads.models import AdConnection, AdLeadEvent
from leads.services import Outcome, SchemaCache, lead_input_check, lead_submit
from leads.signals import ad_event_received

logger = logging.getLogger(__name__)

# Google sends no consumer IP, Meta's Graph API neither: the consent record names the platform.
CONSENT_USER_AGENT = {
    AdPlatform.GOOGLE: "Google Ads lead form (webhook; the platform does not share the consumer's IP)",
    AdPlatform.META: "Meta Lead Ads (webhook; the platform does not share the consumer's IP)",
}
# Lead forms ask for the state as typed or picked ("California"); the lead keeps its code.
_STATE_CODES = {name.lower(): code for code, name in US_STATE_NAMES.items()}
UNKNOWN_IP = "0.0.0.0"  # noqa: S104 - a recorded value, never bound


class MappingFailed(Exception):
    pass


def _payload(event: AdLeadEvent) -> dict:
    return vault.open_sealed(
        key_id=event.payload_key_id, blob=bytes(event.payload_blob), context=f"adevent:{event.ref}"
    )


def _answers(platform: str, payload: dict) -> dict[str, str]:
    """The form's answers by field id and by name (Google: column_id, column_name; Meta: name)."""
    answers: dict[str, str] = {}
    if platform == AdPlatform.GOOGLE:
        for item in payload.get("user_column_data") or []:
            value = item.get("string_value")
            if not isinstance(value, str):
                continue
            for key in (item.get("column_id"), item.get("column_name")):
                if isinstance(key, str) and key:
                    answers.setdefault(key, value)
    else:
        for item in (payload.get("lead") or {}).get("field_data") or []:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                continue
            values = [str(v) for v in item.get("values") or [] if isinstance(v, (str, int, float))]
            answers.setdefault(item["name"], ", ".join(values))
    return answers


def ad_lead_data(*, connection: AdConnection, event: AdLeadEvent, payload: dict) -> dict:
    """The event in the API's submission shape, by the connection's mapping (MappingFailed when
    the form has none of the mapped fields)."""
    answers = _answers(connection.platform, payload)
    mapping = connection.mapping or {}
    data: dict = {"fields": {}}
    found = 0
    for key, field in mapping.items():
        if field not in answers:
            continue
        found += 1
        if key.startswith("fields."):
            data["fields"][key[len("fields.") :]] = answers[field]
        elif key == "full_name":
            first, _, last = answers[field].strip().partition(" ")
            data.setdefault("first_name", first)
            data.setdefault("last_name", last.strip())
        elif key == "state":
            data[key] = _STATE_CODES.get(answers[field].strip().lower(), answers[field])
        else:
            data[key] = answers[field]
    if not found:
        names = ", ".join(sorted(answers)[:10]) or "none"
        raise MappingFailed(
            f"None of the mapped fields is in this lead (its fields: {names[:300]}). Fix the mapping, then replay."
        )
    for key in ("first_name", "last_name"):  # a mapped first/last name wins over the split full name
        if key in mapping and mapping[key] in answers:
            data[key] = answers[mapping[key]]
    if connection.platform == AdPlatform.GOOGLE:
        consent_at = event.received_at  # Google sends no submission time: when it reached us
        data.setdefault("campaign", str(payload.get("campaign_id") or "")[:100])
        data.setdefault("sub_id", str(payload.get("adgroup_id") or "")[:100])
    else:
        lead = payload.get("lead") or {}
        consent_at = lead.get("created_time") or event.received_at.isoformat()
        data.setdefault("sub_id", str(payload.get("ad_id") or "")[:100])
    data["external_id"] = f"{connection.platform}:{event.platform_lead_id}"[:100]
    data["consent"] = {
        "text": connection.consent_text,
        "timestamp": consent_at if isinstance(consent_at, str) else consent_at.isoformat(),
        "ip": event.remote_ip or UNKNOWN_IP,
        "user_agent": CONSENT_USER_AGENT[AdPlatform(connection.platform)],
    }
    return data


def _reason(errors: dict, mapping: dict) -> str:
    parts = []
    for path, messages in errors.items():
        key = path[len("consent.") :] if path.startswith("consent.") else path
        field = mapping.get(key) or (mapping.get("full_name") if key in ("first_name", "last_name") else None)
        label = f"{path} (from {field})" if field else path
        parts += [f"{label}: {m}" for m in messages]
    return "; ".join(parts)[:480]


def _fetch_meta_lead(event: AdLeadEvent, payload: dict) -> dict:
    """The Graph lead, fetched once and kept (sealed) with the event, so a replay after a mapping
    fix does not ask Meta again. GraphError on failure."""
    if "lead" in payload:
        return payload
    token = connection_secrets(connection=event.connection).page_access_token
    lead = graph_client().lead_get(leadgen_id=event.platform_lead_id, access_token=token)
    payload = {**payload, "lead": lead}
    key_id, blob = vault.seal(payload, context=f"adevent:{event.ref}")
    AdLeadEvent.objects.filter(pk=event.pk).update(payload_key_id=key_id, payload_blob=blob)
    return payload


def _finish(event: AdLeadEvent, status: str, error: str = "", lead=None) -> AdLeadEvent:
    event.status, event.error, event.processed_at = status, error[:500], timezone.now()
    if lead is not None:
        event.lead = lead
    event.save(update_fields=["status", "error", "processed_at", "lead", "attempts"])
    logger.info("ad event processed", extra={"event_id": event.pk, "status": status})
    return event


def ad_event_process(*, event_id: int) -> AdLeadEvent | None:
    """Turn a received event into a lead (or, for a test lead, check it without storing one).
    Running it twice does no harm: only a received (or unchecked test) event is processed."""
    event = AdLeadEvent.objects.select_related("connection").filter(pk=event_id).first()
    if event is None or event.connection is None or not _pending(event):
        return event
    payload = _payload(event)
    if event.platform == AdPlatform.META:
        try:
            payload = _fetch_meta_lead(event, payload)
        except GraphError as exc:
            with transaction.atomic():
                locked = AdLeadEvent.objects.select_for_update().get(pk=event.pk)
                if not _pending(locked):
                    return locked
                locked.attempts += 1
                return _finish(locked, AdEventStatus.FAILED, f"Fetching the lead from Meta failed: {exc}")
    with transaction.atomic():
        locked = (
            AdLeadEvent.objects.select_for_update(of=("self",))
            .select_related("connection__vertical", "connection__seller")
            .get(pk=event.pk)
        )
        if not _pending(locked):
            return locked
        return _process_locked(locked, payload)


def _pending(event: AdLeadEvent) -> bool:
    return event.status == AdEventStatus.RECEIVED or (
        event.status == AdEventStatus.IGNORED_TEST and not event.processed_at
    )


def _process_locked(event: AdLeadEvent, payload: dict) -> AdLeadEvent:
    """Caller holds select_for_update on the event."""
    connection = event.connection
    event.attempts += 1
    try:
        data = ad_lead_data(connection=connection, event=event, payload=payload)
    except MappingFailed as exc:
        if event.is_test:
            return _finish(event, AdEventStatus.IGNORED_TEST, f"Test lead, not stored. {exc}")
        return _finish(event, AdEventStatus.FAILED, str(exc))
    if event.is_test:
        # Google's "send test data": check what the mapping makes of it, store no lead.
        checked = lead_input_check(data, vertical=connection.vertical, schemas=SchemaCache(), now=timezone.now())
        if isinstance(checked, tuple):
            return _finish(event, AdEventStatus.IGNORED_TEST, "Test lead, not stored: the mapping would accept it.")
        return _finish(
            event,
            AdEventStatus.IGNORED_TEST,
            f"Test lead, not stored. It would fail: {_reason(checked.errors, connection.mapping)}",
        )
    result = lead_submit(seller=connection.seller, vertical=connection.vertical, data=data, source=LeadSource.WEBHOOK)
    if result.outcome in (Outcome.CREATED, Outcome.EXISTING):
        return _finish(event, AdEventStatus.PROCESSED, lead=result.lead)
    if result.outcome == Outcome.DUPLICATE:
        # Recorded as a rejected lead like any duplicate: processed, and the reason shown.
        return _finish(event, AdEventStatus.PROCESSED, result.errors["non_field_errors"][0], lead=result.lead)
    if result.outcome == Outcome.CAPPED:
        return _finish(event, AdEventStatus.FAILED, result.errors["non_field_errors"][0] + " Replay it then.")
    return _finish(event, AdEventStatus.FAILED, "Validation failed: " + _reason(result.errors, connection.mapping))


@transaction.atomic
def ad_event_replay(*, seller, event_id: int) -> AdLeadEvent:
    """Process a failed event (or a signed Meta delivery refused as stale or for an unknown form)
    again, with the connection as it is now; queued on commit. ValueError when it cannot be."""
    event = (
        AdLeadEvent.objects.select_for_update(of=("self",))
        .select_related("connection")
        .filter(pk=event_id, connection__seller=seller)
        .first()
    )
    if event is None:
        raise NotFoundError({"event": "No such event of yours."})
    if not event.replayable:
        raise ValueError("Only a failed event, or a signed delivery that was refused, can be replayed.")
    event.status, event.error = AdEventStatus.RECEIVED, ""
    event.save(update_fields=["status", "error"])
    transaction.on_commit(lambda: ad_event_received.send(sender=AdLeadEvent, event_id=event.pk))
    return event
