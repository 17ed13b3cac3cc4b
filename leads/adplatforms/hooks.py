"""The inbound lead form webhooks: authenticate, store the event first, answer.

Every delivery leaves an AdLeadEvent row. One that cannot be authenticated (unknown URL token,
wrong Google key or Meta signature, oversized or malformed body) is kept as metadata only — the
connection when the token is known, the reason, the size, the sender's address — never its
payload, which may hold personal data from anyone. An authenticated one is sealed in the vault
(leads.vault) and processed on the leads.ingest queue (leads.adplatforms.processing).
"""

import hashlib
import hmac
import ipaddress
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core import ratelimit
from leads import vault
from leads.adplatforms.connections import connection_secrets
from leads.choices import AdEventStatus, AdPlatform
from leads.models import AdConnection, AdLeadEvent
from leads.signals import ad_event_received

logger = logging.getLogger(__name__)
MAX_ID = 100


@dataclass
class HookAnswer:
    status: int
    code: str
    message: str
    event: AdLeadEvent | None = None

    @property
    def ok(self) -> bool:
        return self.status < 400


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _ip(remote_ip: str) -> str | None:
    try:
        return str(ipaddress.ip_address(remote_ip))
    except ValueError:
        return None


def ad_hook_refuse(
    *,
    platform: str,
    connection: AdConnection | None,
    status: int,
    code: str,
    message: str,
    body_bytes: int,
    remote_ip: str,
    platform_lead_id: str = "",
    form_id: str = "",
    payload: dict | None = None,
    now: datetime | None = None,
) -> HookAnswer:
    """Record a refused delivery and answer it. Ids and the payload only when it was authenticated
    (the caller passes them then): a stale but signed Meta delivery can be replayed by its seller.
    Unauthenticated refusals are recorded up to RATE_LIMITS["adhook_refused"] per sender address."""
    if payload is None and not _may_record(remote_ip):
        logger.warning("ad hook refused, not recorded (over the limit)", extra={"platform": platform, "code": code})
        return HookAnswer(status, code, message, None)
    event = AdLeadEvent(
        connection=connection,
        platform=platform,
        status=AdEventStatus.REJECTED,
        error=message[:500],
        http_status=status,
        body_bytes=body_bytes,
        remote_ip=_ip(remote_ip),
        form_id=form_id[:MAX_ID],
        received_at=now or timezone.now(),
    )
    if payload is not None:
        event.platform_lead_id = platform_lead_id[:MAX_ID]
        event.payload_key_id, event.payload_blob = vault.seal(payload, context=f"adevent:{event.ref}")
    try:
        with transaction.atomic():
            event.save(force_insert=True)
    except IntegrityError:  # the same lead id is stored already: it keeps its first row
        event = AdLeadEvent.objects.get(connection=connection, platform_lead_id=event.platform_lead_id, is_test=False)
    logger.warning(
        "ad hook refused",
        extra={"platform": platform, "code": code, "connection_id": connection.pk if connection else None},
    )
    return HookAnswer(status, code, message, event)


def _may_record(remote_ip: str) -> bool:
    if not settings.RATE_LIMIT_ENABLED:
        return True
    rate = ratelimit.Rate.parse(settings.RATE_LIMITS["adhook_refused"])
    return ratelimit.hit(scope="adhook_refused", identity=remote_ip or "unknown", rate=rate).allowed


def _store(
    *,
    connection: AdConnection,
    platform_lead_id: str,
    form_id: str,
    is_test: bool,
    payload: dict,
    body_bytes: int,
    remote_ip: str,
    now: datetime,
) -> HookAnswer:
    """Store an authenticated delivery once and queue it on commit; a redelivery answers 200 with
    the first row."""
    event = AdLeadEvent(
        connection=connection,
        platform=connection.platform,
        platform_lead_id=platform_lead_id,
        form_id=form_id,
        is_test=is_test,
        status=AdEventStatus.IGNORED_TEST if is_test else AdEventStatus.RECEIVED,
        body_bytes=body_bytes,
        remote_ip=_ip(remote_ip),
        received_at=now,
    )
    event.payload_key_id, event.payload_blob = vault.seal(payload, context=f"adevent:{event.ref}")
    try:
        with transaction.atomic():
            event.save(force_insert=True)
    except IntegrityError:
        first = AdLeadEvent.objects.get(connection=connection, platform_lead_id=platform_lead_id, is_test=False)
        return HookAnswer(200, "already_received", "This lead was delivered before; it is stored once.", first)
    event_id = event.pk
    transaction.on_commit(lambda: ad_event_received.send(sender=AdLeadEvent, event_id=event_id))
    return HookAnswer(200, "received", "Stored; it is processed in the background.", event)


def _connection(token: str, platform: str) -> AdConnection | None:
    if not token or len(token) > 64:
        return None
    return (
        AdConnection.objects.select_related("vertical")
        .filter(token=token, platform=platform, active=True, seller__is_active=True, seller__is_seller=True)
        .first()
    )


def _json_object(body: bytes) -> dict:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "malformed_json", "The body is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise Refused(400, "malformed_json", "The body must be a JSON object.")
    return payload


def _id(value, name: str, *, required: bool = True) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)) or (required and value in ("", None)):
        raise Refused(400, "invalid_payload", f"{name} must be a non-empty string or number.")
    text = str(value).strip()
    if len(text) > MAX_ID:
        raise Refused(400, "invalid_payload", f"{name} is longer than {MAX_ID} characters.")
    return text


def _too_large(body_bytes: int) -> Refused | None:
    limit = settings.LEADS_AD_HOOK_MAX_BYTES
    if body_bytes > limit:
        return Refused(413, "payload_too_large", f"The body is larger than {limit} bytes.")
    return None


# ---------------------------------------------------------------- Google Ads lead forms


def ad_hook_google(
    *, token: str, body: bytes, body_bytes: int, remote_ip: str, now: datetime | None = None
) -> HookAnswer:
    """POST /hooks/google/<token>/: Google's lead form webhook (docs/integrations.md). The body's
    google_key must be the connection's key; is_test leads are stored and shown, never turned into
    leads, and answered 200 as Google expects."""
    now = now or timezone.now()
    connection = _connection(token, AdPlatform.GOOGLE)
    common = {"platform": AdPlatform.GOOGLE, "connection": connection, "body_bytes": body_bytes, "remote_ip": remote_ip}
    try:
        if connection is None:
            raise Refused(404, "unknown_connection", "No active Google connection has this URL.")
        if refused := _too_large(body_bytes):
            raise refused
        payload = _json_object(body)
        key = payload.get("google_key")
        expected = connection_secrets(connection=connection).google_key
        if not isinstance(key, str) or not hmac.compare_digest(key.encode(), expected.encode()):
            raise Refused(403, "wrong_key", "The google_key is not this connection's key.")
        lead_id = _id(payload.get("lead_id"), "lead_id")
        form_id = _id(payload.get("form_id"), "form_id")
        columns = payload.get("user_column_data")
        if not isinstance(columns, list) or not all(isinstance(c, dict) for c in columns):
            raise Refused(400, "invalid_payload", "user_column_data must be a list of objects.")
        is_test = payload.get("is_test", False)
        if not isinstance(is_test, bool):
            raise Refused(400, "invalid_payload", "is_test must be true or false.")
        if form_id not in connection.form_ids:
            raise Refused(404, "unknown_form", f"Form {form_id} is not one of this connection's forms.")
    except Refused as exc:
        return ad_hook_refuse(status=exc.status, code=exc.code, message=exc.message, now=now, **common)
    stored = {k: v for k, v in payload.items() if k != "google_key"}
    return _store(
        connection=connection,
        platform_lead_id=lead_id,
        form_id=form_id,
        is_test=is_test,
        payload=stored,
        body_bytes=body_bytes,
        remote_ip=remote_ip,
        now=now,
    )


# ---------------------------------------------------------------- Meta Lead Ads


def ad_hook_meta_verify(*, token: str, mode: str, verify_token: str, challenge: str, remote_ip: str) -> HookAnswer:
    """GET /hooks/meta/<token>/: Meta's subscription handshake. The challenge is echoed when the
    verify token is this connection's; anything else is refused and logged."""
    connection = _connection(token, AdPlatform.META)
    common = {"platform": AdPlatform.META, "connection": connection, "body_bytes": 0, "remote_ip": remote_ip}
    if connection is None:
        return ad_hook_refuse(
            status=404, code="unknown_connection", message="No active Meta connection has this URL.", **common
        )
    expected = connection_secrets(connection=connection).verify_token
    if mode != "subscribe" or not hmac.compare_digest(verify_token.encode(), expected.encode()):
        return ad_hook_refuse(
            status=403, code="wrong_verify_token", message="hub.mode or hub.verify_token is wrong.", **common
        )
    if not challenge or len(challenge) > 200:
        return ad_hook_refuse(status=400, code="invalid_challenge", message="hub.challenge is missing.", **common)
    return HookAnswer(200, "verified", challenge)


def meta_signature(*, app_secret: str, body: bytes) -> str:
    """The X-Hub-Signature-256 header Meta sends: sha256=<hex HMAC-SHA256 of the raw body>."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def _meta_time(entry: dict, value: dict) -> datetime:
    """When Meta says the lead happened: the entry's time, else the change's created_time (unix
    seconds, both inside the signed body)."""
    for raw in (entry.get("time"), value.get("created_time")):
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            return datetime.fromtimestamp(raw / 1000 if raw > 10**11 else raw, tz=UTC)
    raise Refused(400, "invalid_payload", "Each lead needs entry.time or value.created_time (unix seconds).")


def ad_hook_meta(
    *, token: str, body: bytes, body_bytes: int, signature: str, remote_ip: str, now: datetime | None = None
) -> HookAnswer:
    """POST /hooks/meta/<token>/: Meta's leadgen webhook. X-Hub-Signature-256 is checked over the
    raw body with the app secret; each leadgen change is stored as an event (the lead itself is
    fetched from the Graph API when processed). A change older than LEADS_AD_HOOK_MAX_AGE_SECONDS
    is refused as a replay but kept (signed, so its ids are trusted) for the seller to replay."""
    now = now or timezone.now()
    connection = _connection(token, AdPlatform.META)
    common = {"platform": AdPlatform.META, "connection": connection, "body_bytes": body_bytes, "remote_ip": remote_ip}
    try:
        if connection is None:
            raise Refused(404, "unknown_connection", "No active Meta connection has this URL.")
        if refused := _too_large(body_bytes):
            raise refused
        expected = meta_signature(app_secret=connection_secrets(connection=connection).app_secret, body=body)
        if not signature or not hmac.compare_digest(signature.encode(), expected.encode()):
            raise Refused(403, "wrong_signature", "X-Hub-Signature-256 does not match the body.")
        payload = _json_object(body)
        entries = payload.get("entry")
        if payload.get("object") != "page" or not isinstance(entries, list) or not entries:
            raise Refused(400, "invalid_payload", 'Expected {"object": "page", "entry": [...]}.')
        changes = []
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("changes"), list):
                raise Refused(400, "invalid_payload", "Each entry needs a list of changes.")
            for change in entry["changes"]:
                value = change.get("value") if isinstance(change, dict) else None
                if not isinstance(value, dict) or change.get("field") != "leadgen":
                    raise Refused(400, "invalid_payload", 'Each change must be {"field": "leadgen", "value": {...}}.')
                leadgen_id = _id(value.get("leadgen_id"), "leadgen_id")
                form_id = _id(value.get("form_id"), "form_id")
                changes.append(
                    (leadgen_id, form_id, _meta_time(entry, value), {**value, "entry_time": entry.get("time")})
                )
    except Refused as exc:
        return ad_hook_refuse(status=exc.status, code=exc.code, message=exc.message, now=now, **common)
    answers = [
        _meta_change(connection, *change, body_bytes=body_bytes, remote_ip=remote_ip, now=now) for change in changes
    ]
    # Meta batches changes rarely; one stored change is a success it must not retry.
    return next((a for a in answers if a.ok), answers[0])


def _meta_change(
    connection, leadgen_id, form_id, at, value, *, body_bytes: int, remote_ip: str, now: datetime
) -> HookAnswer:
    max_age = settings.LEADS_AD_HOOK_MAX_AGE_SECONDS
    refusal = None
    if (now - at).total_seconds() > max_age:
        refusal = (
            400,
            "stale_delivery",
            f"The delivery is older than {max_age // 60} minutes: refused as a possible replay (the seller can replay it).",
        )
    elif (at - now).total_seconds() > max_age:
        refusal = (400, "stale_delivery", "The lead's time is in the future: the clocks disagree.")
    elif form_id not in connection.form_ids:
        refusal = (404, "unknown_form", f"Form {form_id} is not one of this connection's forms.")
    if refusal:
        return ad_hook_refuse(
            platform=AdPlatform.META,
            connection=connection,
            status=refusal[0],
            code=refusal[1],
            message=refusal[2],
            body_bytes=body_bytes,
            remote_ip=remote_ip,
            platform_lead_id=leadgen_id,
            form_id=form_id,
            payload=value,
            now=now,
        )
    return _store(
        connection=connection,
        platform_lead_id=leadgen_id,
        form_id=form_id,
        is_test=False,
        payload=value,
        body_bytes=body_bytes,
        remote_ip=remote_ip,
        now=now,
    )
