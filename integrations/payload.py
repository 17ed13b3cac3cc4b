"""What a delivery sends: payload v1 (webhook JSON), the signature, CRM field mappings, the email.

Payload v1 (docs/integrations.md has an example): {"version": "1", "type": "lead.purchased",
"id", "created", "test", "correlation_id", "purchase": {...}, "lead": {...}, "contact": {...}}.
New keys may be added within v1; a change that removes or renames one is v2.
"""

import hashlib
import hmac
import json
import time
from decimal import Decimal
from urllib.parse import urlencode

from django.conf import settings
from django.template import Context, Engine, TemplateSyntaxError
from django.urls import reverse

from integrations.choices import BodyFormat, CrmPreset

PAYLOAD_VERSION = "1"
EVENT_TYPE = "lead.purchased"
SIGNATURE_HEADER = "LeadEngine-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
CORRELATION_HEADER = "X-Correlation-Id"
MAPPING_MAX_FIELDS = 60
MAPPING_VALUE_MAX = 1000

# The sample lead of test sends and template previews: made-up data, never a real person.
SAMPLE_CONTACT = {
    "first_name": "Sample",
    "last_name": "Person",
    "email": "sample.person@example.com",
    "phone": "+14155550100",
    "street_address": "1 Example Street",
    "fields": {},
}


def signature_header(*, secret: str, body: bytes, timestamp: int | None = None) -> str:
    """Stripe-style: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def _iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _money(value: Decimal) -> str:
    return f"{value:.6f}"


def lead_context(*, sale, contact: dict) -> dict:
    """The lead as plain data (no model objects reach a template): purchase, lead, contact."""
    lead = sale.lead
    return {
        "purchase": {
            "id": sale.pk,
            "price": _money(sale.price),
            "currency": "USDC",
            "purchased_at": _iso(sale.created_at),
            "url": settings.SITE_URL.rstrip("/") + reverse("escrow:purchase-detail", args=[sale.pk]),
        },
        "lead": {
            "id": lead.pk,
            "vertical": lead.vertical.slug,
            "country": lead.country,
            "state": lead.state,
            "zip": lead.zip,
            "city": lead.city,
            "fields": dict(lead.fields or {}),
            "quality_score": lead.quality_score,
            "source": lead.source,
            "created_at": _iso(lead.created_at),
            "consent": {
                "text": lead.consent_text,
                "at": _iso(lead.consent_at),
                "ip": lead.consent_ip,
                "page_url": lead.consent_page_url,
                "certificate_url": lead.consent_certificate_url,
            },
        },
        "contact": {
            "first_name": contact.get("first_name", ""),
            "last_name": contact.get("last_name", ""),
            "email": contact.get("email", ""),
            "phone": contact.get("phone", ""),
            "street_address": contact.get("street_address", ""),
            "fields": dict(contact.get("fields") or {}),
        },
    }


def sample_context() -> dict:
    """lead_context for a made-up lead (test sends, previews)."""
    return {
        "purchase": {
            "id": 0,
            "price": "12.500000",
            "currency": "USDC",
            "purchased_at": "2025-01-01T12:00:00Z",
            "url": settings.SITE_URL.rstrip("/") + "/my/purchases/",
        },
        "lead": {
            "id": 0,
            "vertical": "solar",
            "country": "US",
            "state": "CA",
            "zip": "94105",
            "city": "San Francisco",
            "fields": {"monthly_bill": 180, "homeowner": True},
            "quality_score": 82,
            "source": "api",
            "created_at": "2025-01-01T11:58:00Z",
            "consent": {
                "text": "Sample consent text.",
                "at": "2025-01-01T11:57:00Z",
                "ip": "192.0.2.10",
                "page_url": "",
                "certificate_url": "",
            },
        },
        "contact": dict(SAMPLE_CONTACT),
    }


def webhook_body(*, delivery, context: dict) -> bytes:
    payload = {
        "version": PAYLOAD_VERSION,
        "type": EVENT_TYPE,
        "id": str(delivery.public_id),
        "created": _iso(delivery.created_at),
        "test": delivery.is_test,
        "correlation_id": delivery.correlation_id,
        **context,
    }
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


# ---------------------------------------------------------------- CRM mappings

_engine = Engine(autoescape=False, libraries={}, loaders=[])

PRESETS: dict[str, dict] = {
    CrmPreset.FORM: {
        "url": "",
        "body_format": BodyFormat.FORM,
        "wrap_key": "",
        "mapping": {
            "first_name": "{{ contact.first_name }}",
            "last_name": "{{ contact.last_name }}",
            "email": "{{ contact.email }}",
            "phone": "{{ contact.phone }}",
            "address": "{{ contact.street_address }}",
            "city": "{{ lead.city }}",
            "state": "{{ lead.state }}",
            "zip": "{{ lead.zip }}",
            "vertical": "{{ lead.vertical }}",
            "lead_id": "{{ lead.id }}",
            "price": "{{ purchase.price }}",
        },
    },
    CrmPreset.HUBSPOT: {
        "url": "https://api.hubapi.com/crm/v3/objects/contacts",
        "body_format": BodyFormat.JSON,
        "wrap_key": "properties",
        "mapping": {
            "email": "{{ contact.email }}",
            "firstname": "{{ contact.first_name }}",
            "lastname": "{{ contact.last_name }}",
            "phone": "{{ contact.phone }}",
            "address": "{{ contact.street_address }}",
            "city": "{{ lead.city }}",
            "state": "{{ lead.state }}",
            "zip": "{{ lead.zip }}",
            "hs_lead_status": "NEW",
        },
    },
    CrmPreset.SALESFORCE: {
        "url": "https://webto.salesforce.com/servlet/servlet.WebToLead?encoding=UTF-8",
        "body_format": BodyFormat.FORM,
        "wrap_key": "",
        "mapping": {
            "oid": "YOUR_SALESFORCE_ORG_ID",
            "first_name": "{{ contact.first_name }}",
            "last_name": "{{ contact.last_name }}",
            "email": "{{ contact.email }}",
            "phone": "{{ contact.phone }}",
            "street": "{{ contact.street_address }}",
            "city": "{{ lead.city }}",
            "state": "{{ lead.state }}",
            "zip": "{{ lead.zip }}",
            "country": "{{ lead.country }}",
            "lead_source": "Lead Engine",
            "description": "Lead {{ lead.id }} ({{ lead.vertical }}), purchase {{ purchase.id }}",
        },
    },
}


class MappingError(ValueError):
    """A mapping that is not a flat object of template strings, or a template that does not parse."""


def check_mapping(mapping) -> dict[str, str]:
    if not isinstance(mapping, dict) or not mapping:
        raise MappingError("The mapping is an object of field name → template string, with at least one field.")
    if len(mapping) > MAPPING_MAX_FIELDS:
        raise MappingError(f"At most {MAPPING_MAX_FIELDS} fields.")
    for key, value in mapping.items():
        if not isinstance(key, str) or not key.strip() or len(key) > 100:
            raise MappingError("Field names are non-empty strings of at most 100 characters.")
        if not isinstance(value, str) or len(value) > MAPPING_VALUE_MAX:
            raise MappingError(f"{key}: a template string of at most {MAPPING_VALUE_MAX} characters.")
        if "{%" in value:
            raise MappingError(f"{key}: only {{{{ variables }}}} and filters are allowed, no {{% tags %}}.")
        try:
            _engine.from_string(value)
        except TemplateSyntaxError as exc:
            raise MappingError(f"{key}: {exc}") from exc
    return mapping


def render_mapping(*, mapping: dict[str, str], context: dict) -> dict[str, str]:
    """Each field's template rendered on plain data (no objects, so no method calls), no escaping."""
    ctx = Context(context, autoescape=False)
    return {key: _engine.from_string(value).render(ctx) for key, value in mapping.items()}


def crm_body(*, destination, context: dict) -> tuple[bytes, str]:
    """(body, content type) for a CRM destination."""
    fields = render_mapping(mapping=destination.mapping, context=context)
    if destination.body_format == BodyFormat.JSON:
        data = {destination.wrap_key: fields} if destination.wrap_key else fields
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode(), "application/json"
    return urlencode(fields).encode(), "application/x-www-form-urlencoded"


def email_text(*, context: dict) -> tuple[str, str]:
    """(subject, body) of an email delivery: the contact details and the lead's fields."""
    c, lead, purchase = context["contact"], context["lead"], context["purchase"]
    lines = [
        f"Purchase {purchase['id']}: lead {lead['id']} ({lead['vertical']}) for {purchase['price']} USDC.",
        "",
        f"Name: {c['first_name']} {c['last_name']}".rstrip(),
        f"Email: {c['email']}",
        f"Phone: {c['phone']}",
        f"Address: {c['street_address']}",
        f"City / state / ZIP: {lead['city']} {lead['state']} {lead['zip']}".rstrip(),
    ]
    lines += [f"{k}: {v}" for k, v in {**lead["fields"], **c["fields"]}.items()]
    lines += ["", f"Consent: {lead['consent']['text']} ({lead['consent']['at']})", "", purchase["url"]]
    return f"Lead {lead['id']} purchased ({lead['vertical']})", "\n".join(lines)


def redact(text: str, *, context: dict) -> str:
    """`text` (a receiver's answer) with every contact value we sent replaced: a response that
    echoes the lead back must not put its PII into our log."""
    contact = context.get("contact", {})
    values = [v for k, v in contact.items() if k != "fields" and isinstance(v, str)]
    values += [str(v) for v in (contact.get("fields") or {}).values()]
    for value in sorted({v for v in values if len(v) >= 3}, key=len, reverse=True):
        text = text.replace(value, "[redacted]")
    return text
