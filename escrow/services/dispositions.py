"""Buyers report what became of their purchases: one at a time (the API), several at once (My
purchases' bulk edit), by CSV upload, or from their CRM through a signed inbound webhook. Each
path checks that the caller reads the purchase (escrow.selectors.purchases, the one access
rule) and records through auctions.services.dispositions.disposition_record.

The webhook (docs/integrations.md, "Dispositions from your CRM"): POST /hooks/dispositions/<token>/
with `LeadEngine-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, f"{t}.{raw body}")>`, a
timestamp within 5 minutes, a body of at most 64 KiB holding a JSON array of
{purchase_id, disposition, revenue?, reason?}. Every call is stored as a DispositionWebhookEvent;
a call that fails any check changes nothing (all rows or none).
"""

import csv
import hashlib
import hmac
import io
import json
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from cryptography.exceptions import InvalidTag
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from auctions.models import Disposition, DispositionWebhook, DispositionWebhookEvent, Sale
from auctions.services.dispositions import DispositionInput, check_disposition, disposition_record
from config import db_router
from core.sealing import open_bytes, seal_bytes
from escrow.selectors.purchases import MAX_SALE_ID, purchase_queryset_for_reader

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "LeadEngine-Signature"
TOLERANCE_SECONDS = 300
MAX_BODY_BYTES = 64 * 1024
MAX_ROWS = 1000  # per webhook call, per bulk edit and per CSV file
MAX_CSV_BYTES = 1024 * 1024
CSV_COLUMNS = ("purchase_id", "disposition", "revenue", "reason")


def _sale_id(value) -> int:
    """A purchase id from outside, or Sale.DoesNotExist (as for a purchase of someone else)."""
    if isinstance(value, bool):
        raise Sale.DoesNotExist
    try:
        sale_id = int(str(value).strip())
    except (TypeError, ValueError):
        raise Sale.DoesNotExist from None
    if not 0 < sale_id <= MAX_SALE_ID:
        raise Sale.DoesNotExist
    return sale_id


def _readable_ids(*, user, sale_ids: list[int]) -> set[int]:
    with db_router.primary():
        return set(purchase_queryset_for_reader(user=user).filter(pk__in=sale_ids).values_list("pk", flat=True))


@transaction.atomic
def purchase_disposition_set(
    *, user, sale_id, status, revenue=None, reason=None, channel: str, now: datetime | None = None
) -> tuple[Disposition, bool]:
    """Set one purchase's disposition as its reader: (disposition, changed). Sale.DoesNotExist
    when `user` does not read it (or the id is malformed); ValidationError (per field) for a
    value check_disposition refuses."""
    sale_id = _sale_id(sale_id)
    value = check_disposition(status=status, revenue=revenue, reason=reason)
    if sale_id not in _readable_ids(user=user, sale_ids=[sale_id]):
        raise Sale.DoesNotExist
    return disposition_record(sale_id=sale_id, by=user, value=value, channel=channel, now=now)


@dataclass
class RowError:
    row: int  # 1-based line of the CSV (the header is line 1), or position in a list
    purchase_id: str
    errors: dict[str, str]


@dataclass
class BatchResult:
    applied: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)


def _messages(exc: ValidationError) -> dict[str, str]:
    return {key: " ".join(messages) for key, messages in exc.message_dict.items()}


def _check_rows(
    *, user, rows: list[tuple[int, dict]]
) -> tuple[list[tuple[int, int, DispositionInput]], list[RowError]]:
    """Each row checked (value and access): the good ones as (row, sale id, value), the rest as errors."""
    good, errors, wanted = [], [], []
    for number, row in rows:
        raw_id = row.get("purchase_id")
        try:
            sale_id = _sale_id(raw_id)
        except Sale.DoesNotExist:
            errors.append(RowError(number, str(raw_id or ""), {"purchase_id": "No such purchase of yours."}))
            continue
        try:
            value = check_disposition(
                status=row.get("disposition"), revenue=row.get("revenue"), reason=row.get("reason")
            )
        except ValidationError as exc:
            errors.append(RowError(number, str(sale_id), _messages(exc)))
            continue
        wanted.append((number, sale_id, value))
    readable = _readable_ids(user=user, sale_ids=[sale_id for _, sale_id, _ in wanted])
    for number, sale_id, value in wanted:
        if sale_id in readable:
            good.append((number, sale_id, value))
        else:
            errors.append(RowError(number, str(sale_id), {"purchase_id": "No such purchase of yours."}))
    return good, errors


def purchase_dispositions_bulk_set(
    *, user, sale_ids: list, status, revenue=None, reason=None, channel: str, now: datetime | None = None
) -> BatchResult:
    """One disposition for several purchases (My purchases' bulk edit). Each purchase in its own
    transaction: a purchase that is not the user's is reported, the others are set."""
    rows = [
        (i, {"purchase_id": s, "disposition": status, "revenue": revenue, "reason": reason})
        for i, s in enumerate(sale_ids[:MAX_ROWS], 1)
    ]
    return _apply_each(user=user, rows=rows, channel=channel, now=now)


def _apply_each(*, user, rows: list[tuple[int, dict]], channel: str, now: datetime | None) -> BatchResult:
    good, errors = _check_rows(user=user, rows=rows)
    result = BatchResult(errors=errors)
    for number, sale_id, value in good:
        try:
            _, changed = disposition_record(sale_id=sale_id, by=user, value=value, channel=channel, now=now)
        except Sale.DoesNotExist:
            result.errors.append(RowError(number, str(sale_id), {"purchase_id": "No such purchase of yours."}))
            continue
        if changed:
            result.applied += 1
        else:
            result.unchanged += 1
    result.errors.sort(key=lambda e: e.row)
    return result


class CsvRefused(ValueError):
    """The file as a whole cannot be read (not CSV, no header, too large): nothing applied."""


def purchase_dispositions_import_csv(*, user, data: bytes, now: datetime | None = None) -> BatchResult:
    """A CSV of dispositions (header: purchase_id, disposition, revenue, reason; revenue and
    reason may be left out or empty). Each valid row is applied in its own transaction, each
    invalid one reported with its line: a row is applied whole or not at all. CsvRefused when the
    file as a whole is unreadable."""
    if len(data) > MAX_CSV_BYTES:
        raise CsvRefused(f"The file is larger than {MAX_CSV_BYTES // 1024} KiB: split it.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvRefused("The file is not UTF-8 text.") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if "purchase_id" not in header or "disposition" not in header:
        raise CsvRefused("The first line must name the columns: purchase_id, disposition, revenue, reason.")
    reader.fieldnames = header
    rows = []
    try:
        for row in reader:
            if len(rows) >= MAX_ROWS:
                raise CsvRefused(f"At most {MAX_ROWS} rows per file: split it.")
            if not any((v or "").strip() for k, v in row.items() if k is not None):
                continue
            rows.append((reader.line_num, {k: row.get(k) for k in CSV_COLUMNS}))
    except csv.Error as exc:
        raise CsvRefused(f"The file is not valid CSV: {exc}.") from None
    return _apply_each(user=user, rows=rows, channel="csv", now=now)


# ---------------------------------------------------------------- the inbound webhook


def _key() -> bytes:
    # Derived from the Django secret key: rotating it makes the buyers rotate their secrets.
    return hashlib.sha256(b"leadengine.disposition-webhook\0" + settings.SECRET_KEY.encode()).digest()


def _aad(webhook_token: str) -> bytes:
    return b"disposition-webhook:" + webhook_token.encode()


def disposition_webhook_secret(*, webhook: DispositionWebhook) -> str:
    """The webhook's signing secret, unsealed (shown to its buyer only)."""
    return open_bytes(key=_key(), blob=webhook.secret_sealed, aad=_aad(webhook.token)).decode()


@transaction.atomic
def disposition_webhook_rotate(*, buyer) -> DispositionWebhook:
    """Create the buyer's webhook, or give it a new token and secret (the old ones stop working)."""
    token, secret = secrets.token_urlsafe(18)[:24], "whsec_" + secrets.token_urlsafe(32)
    sealed = seal_bytes(key=_key(), plaintext=secret.encode(), aad=_aad(token))
    now = timezone.now()
    webhook, created = DispositionWebhook.objects.select_for_update().get_or_create(
        buyer=buyer, defaults={"token": token, "secret_sealed": sealed, "created_at": now, "rotated_at": now}
    )
    if not created:
        webhook.token, webhook.secret_sealed, webhook.rotated_at = token, sealed, now
        webhook.save(update_fields=["token", "secret_sealed", "rotated_at"])
    return webhook


def signature_header(*, secret: str, body: bytes, timestamp: int) -> str:
    """The header value a CRM sends (also the docs' recipe)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass(frozen=True)
class WebhookAnswer:
    status: int
    code: str = ""
    message: str = ""
    errors: list[dict] = field(default_factory=list)
    applied: int = 0
    unchanged: int = 0


def _parse_signature(value: str) -> tuple[int, list[str]] | None:
    parts: dict[str, list[str]] = {}
    for item in (value or "").split(","):
        key, sep, val = item.strip().partition("=")
        if sep:
            parts.setdefault(key, []).append(val.strip())
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError, IndexError):
        return None
    return timestamp, parts.get("v1", [])


def _refuse(webhook, *, status: int, code: str, message: str, body: bytes, rows: int = 0, errors=None) -> WebhookAnswer:
    if webhook is not None:
        DispositionWebhookEvent.objects.create(
            webhook=webhook, status_code=status, error_code=code, error=message[:500], body_bytes=len(body), rows=rows
        )
    logger.warning(
        "disposition webhook refused",
        extra={"webhook_id": getattr(webhook, "pk", None), "status": status, "code": code},
    )
    return WebhookAnswer(status=status, code=code, message=message, errors=errors or [])


def disposition_webhook_receive(
    *, token: str, body: bytes, signature: str, now: datetime | None = None
) -> WebhookAnswer:
    """Check and apply one webhook call: unknown token 404; body over 64 KiB 413; a missing or
    wrong signature 401; a timestamp more than 5 minutes away 401 (a replay: also an exact call
    accepted before); not a JSON array of objects 400; any row refused 400 with every row's
    errors. Refused calls change nothing; every call on a known token is stored as an event."""
    now = now or timezone.now()
    webhook = DispositionWebhook.objects.filter(token=token[:32]).select_related("buyer").first()
    if webhook is None:
        return _refuse(None, status=404, code="unknown_webhook", message="No such webhook.", body=body)
    if len(body) > MAX_BODY_BYTES:
        return _refuse(
            webhook,
            status=413,
            code="payload_too_large",
            message=f"The body is over {MAX_BODY_BYTES} bytes.",
            body=body,
        )
    parsed = _parse_signature(signature)
    if parsed is None:
        return _refuse(
            webhook,
            status=401,
            code="signature_missing",
            message=f"Send the {SIGNATURE_HEADER} header: t=<unix seconds>,v1=<hex HMAC-SHA256>.",
            body=body,
        )
    timestamp, candidates = parsed
    if abs(now.timestamp() - timestamp) > TOLERANCE_SECONDS:
        return _refuse(
            webhook,
            status=401,
            code="timestamp_out_of_range",
            message=f"The signature's timestamp is more than {TOLERANCE_SECONDS} seconds from now: refused as a replay.",
            body=body,
        )
    try:
        secret = disposition_webhook_secret(webhook=webhook)
    except InvalidTag:
        return _refuse(webhook, status=401, code="signature_invalid", message="Rotate the webhook's secret.", body=body)
    expected = signature_header(secret=secret, body=body, timestamp=timestamp).split("v1=", 1)[1]
    if not any(hmac.compare_digest(expected, c.lower()) for c in candidates):
        return _refuse(
            webhook, status=401, code="signature_invalid", message="The signature does not match the body.", body=body
        )
    if DispositionWebhookEvent.objects.filter(webhook=webhook, signature=expected).exists():
        return _refuse(webhook, status=409, code="replayed", message="This exact call was already accepted.", body=body)
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return _refuse(webhook, status=400, code="malformed_json", message="The body is not valid JSON.", body=body)
    if not isinstance(payload, list) or not payload or not all(isinstance(row, dict) for row in payload):
        return _refuse(
            webhook,
            status=400,
            code="invalid_body",
            message="The body is a non-empty JSON array of {purchase_id, disposition, revenue?, reason?}.",
            body=body,
        )
    if len(payload) > MAX_ROWS:
        return _refuse(
            webhook, status=413, code="too_many_rows", message=f"At most {MAX_ROWS} rows per call.", body=body
        )
    rows = [(i, {k: row.get(k) for k in CSV_COLUMNS}) for i, row in enumerate(payload)]
    good, errors = _check_rows(user=webhook.buyer, rows=rows)
    if errors:
        listed = [
            {"param": f"{e.row}.{key}", "code": "invalid", "message": message}
            for e in sorted(errors, key=lambda e: e.row)
            for key, message in e.errors.items()
        ]
        return _refuse(
            webhook,
            status=400,
            code="invalid_rows",
            message=f"{len(errors)} of {len(rows)} rows were refused; nothing was applied.",
            body=body,
            rows=len(rows),
            errors=listed,
        )
    applied = unchanged = 0
    try:
        with transaction.atomic():
            for _, sale_id, value in good:
                _, changed = disposition_record(
                    sale_id=sale_id, by=webhook.buyer, value=value, channel="webhook", now=now
                )
                applied, unchanged = applied + changed, unchanged + (not changed)
            DispositionWebhookEvent.objects.create(
                webhook=webhook,
                received_at=now,
                status_code=200,
                body_bytes=len(body),
                rows=len(rows),
                applied=applied,
                signature=expected,
            )
    except IntegrityError:  # the same call accepted meanwhile by a concurrent delivery
        return _refuse(webhook, status=409, code="replayed", message="This exact call was already accepted.", body=body)
    return WebhookAnswer(status=200, applied=applied, unchanged=unchanged)
