"""A buyer's delivery destinations: create, update, archive, and the sealed secrets (the webhook
signing secret, shown once and rotatable; a CRM's Authorization header value, never shown again)."""

import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from auctions.models import AutobidRule
from integrations import outbound, payload
from integrations.choices import BodyFormat, CrmPreset, DestinationKind, DestinationScope
from integrations.models import Destination
from leads import vault

SECRET_PREFIX = "whsec_"
EDITABLE = (
    "name",
    "scope",
    "vertical",
    "rule",
    "rule_id",
    "url",
    "email",
    "crm_preset",
    "body_format",
    "mapping",
    "wrap_key",
)


def _context(destination: Destination) -> str:
    return f"integrations.destination:{destination.pk}"


def destination_secrets(*, destination: Destination) -> dict:
    """The sealed values: {"signing_secret": …, "authorization": …} (either may be missing)."""
    if not destination.secret_sealed:
        return {}
    return vault.open_sealed(
        key_id=destination.secret_key_id, blob=destination.secret_sealed, context=_context(destination)
    )


def _seal(destination: Destination, values: dict) -> None:
    destination.secret_key_id, destination.secret_sealed = vault.seal(values, context=_context(destination))


def check_destination(destination: Destination) -> None:
    """Raise ValidationError (by field) for a destination that cannot deliver."""
    errors: dict[str, str] = {}
    if destination.kind in (DestinationKind.WEBHOOK, DestinationKind.CRM):
        if not destination.url:
            errors["url"] = "A URL is required."
        else:
            try:
                outbound.check_url(destination.url)
            except outbound.UrlRefused as exc:
                errors["url"] = str(exc)
    if destination.kind == DestinationKind.EMAIL and not destination.email:
        errors["email"] = "An email address is required."
    if destination.kind == DestinationKind.CRM:
        try:
            payload.check_mapping(destination.mapping)
        except payload.MappingError as exc:
            errors["mapping"] = str(exc)
    if destination.scope == DestinationScope.VERTICAL and destination.vertical_id is None:
        errors["vertical"] = "Choose the vertical."
    if destination.scope == DestinationScope.RULE:
        if destination.rule_id is None:
            errors["rule"] = "Choose the autobid rule."
        elif not AutobidRule.objects.filter(pk=destination.rule_id, buyer_id=destination.owner_id).exists():
            errors["rule"] = "No such autobid rule of yours."
    if destination.scope != DestinationScope.VERTICAL:
        destination.vertical = None
    if destination.scope != DestinationScope.RULE:
        destination.rule = None
    if errors:
        raise ValidationError(errors)


def _apply_preset(values: dict) -> dict:
    preset = values.get("crm_preset")
    if values.get("kind") != DestinationKind.CRM or not preset:
        return values
    defaults = payload.PRESETS[CrmPreset(preset)]
    out = dict(values)
    if not out.get("mapping"):
        out["mapping"] = dict(defaults["mapping"])
        out.setdefault("body_format", defaults["body_format"])
        out.setdefault("wrap_key", defaults["wrap_key"])
    if not out.get("url"):
        out["url"] = defaults["url"]
    return out


@transaction.atomic
def destination_create(*, owner, kind: str, name: str, authorization: str = "", **fields) -> tuple[Destination, str]:
    """Create a destination; returns it and, for a webhook, its new signing secret (shown once)."""
    values = _apply_preset({"kind": kind, **fields})
    values.pop("kind")
    destination = Destination(owner=owner, kind=kind, name=name, **values)
    if destination.kind != DestinationKind.CRM:
        destination.body_format = BodyFormat.JSON
    check_destination(destination)
    destination.save()
    secret = SECRET_PREFIX + secrets.token_urlsafe(32) if kind == DestinationKind.WEBHOOK else ""
    sealed = {k: v for k, v in (("signing_secret", secret), ("authorization", authorization)) if v}
    if sealed:
        _seal(destination, sealed)
        destination.secret_hint = secret[-4:] if secret else ""
        destination.save(update_fields=["secret_key_id", "secret_sealed", "secret_hint"])
    return destination, secret


@transaction.atomic
def destination_update(*, destination: Destination, authorization: str | None = None, **fields) -> Destination:
    """Change the editable fields (kind is fixed); `authorization` replaces the sealed header value
    ("" removes it, None keeps it)."""
    destination = Destination.objects.select_for_update().get(pk=destination.pk)
    for name, value in fields.items():
        if name not in (*EDITABLE, "active"):
            raise ValueError(f"{name} is not editable")
        setattr(destination, name, value)
    check_destination(destination)
    if authorization is not None:
        values = destination_secrets(destination=destination)
        values.pop("authorization", None)
        if authorization:
            values["authorization"] = authorization
        _seal(destination, values)
    destination.save()
    return destination


@transaction.atomic
def destination_secret_rotate(*, destination: Destination) -> str:
    """A new webhook signing secret (returned once); the old one stops signing at once."""
    destination = Destination.objects.select_for_update().get(pk=destination.pk)
    if destination.kind != DestinationKind.WEBHOOK:
        raise ValidationError({"kind": "Only webhooks have a signing secret."})
    values = destination_secrets(destination=destination)
    values["signing_secret"] = SECRET_PREFIX + secrets.token_urlsafe(32)
    _seal(destination, values)
    destination.secret_hint = values["signing_secret"][-4:]
    destination.save(update_fields=["secret_key_id", "secret_sealed", "secret_hint", "updated_at"])
    return values["signing_secret"]


@transaction.atomic
def destination_archive(*, destination: Destination) -> None:
    """Stop delivering to it and hide it; its delivery log stays (deliveries in flight are cancelled
    at their next attempt)."""
    Destination.objects.filter(pk=destination.pk).update(active=False, archived_at=timezone.now())
