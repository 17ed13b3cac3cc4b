"""A seller's ad-platform connections: secrets sealed in the vault, form ids, field mapping.

The mapping reads like a CSV import's (leads.imports): lead field ("email", "fields.roof_type")
→ the platform's field (Google's column_id or column_name, Meta's field_data name).
"""

import secrets as random_secrets
from dataclasses import dataclass

from django.db import transaction

from core.errors import NotFoundError
from leads import vault
from leads.choices import AdPlatform
from leads.imports import LEAD_TARGETS, Target
from leads.models import AdConnection
from verticals.choices import VerticalStatus
from verticals.models import Vertical
from verticals.selectors import vertical_schema_cached

# The consent fields come from the connection (its consent text) and the delivery, never a form field.
_NOT_MAPPED = {"consent_timestamp", "consent_ip", "consent_text", "consent_user_agent", "consent_page_url"}
FULL_NAME = Target("full_name", "Full name (split into first and last)")
MAX_FORM_IDS = 50

# The platforms' standard question ids, so a new connection's mapping starts filled in.
STANDARD_FIELDS = {
    AdPlatform.GOOGLE: {
        "full_name": "FULL_NAME",
        "first_name": "FIRST_NAME",
        "last_name": "LAST_NAME",
        "email": "EMAIL",
        "phone": "PHONE_NUMBER",
        "street_address": "STREET_ADDRESS",
        "city": "CITY",
        "state": "REGION",
        "zip": "POSTAL_CODE",
    },
    AdPlatform.META: {
        "full_name": "full_name",
        "first_name": "first_name",
        "last_name": "last_name",
        "email": "email",
        "phone": "phone_number",
        "street_address": "street_address",
        "city": "city",
        "state": "state",
        "zip": "zip_code",
    },
}
SECRET_NAMES = {
    AdPlatform.GOOGLE: ("google_key",),
    AdPlatform.META: ("app_secret", "verify_token", "page_access_token"),
}


class ConnectionInvalid(Exception):
    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("ad connection refused")
        self.errors = errors


@dataclass(frozen=True)
class ConnectionSecrets:
    google_key: str = ""
    app_secret: str = ""
    verify_token: str = ""
    page_access_token: str = ""


def ad_connection_targets(*, vertical: Vertical) -> list[Target]:
    """Every lead field a platform field can fill: name, contact, geo, campaign, the vertical's fields."""
    return [
        FULL_NAME,
        *(t for t in LEAD_TARGETS if t.key not in _NOT_MAPPED),
        *(
            Target(f"fields.{spec.key}", spec.label, spec.required, spec.help_text)
            for spec in vertical_schema_cached(vertical_id=vertical.pk)
        ),
    ]


def _context(connection: AdConnection) -> str:
    return f"adconnection:{connection.token}"


def connection_secrets(*, connection: AdConnection) -> ConnectionSecrets:
    data = vault.open_sealed(
        key_id=connection.secrets_key_id, blob=bytes(connection.secrets_blob), context=_context(connection)
    )
    return ConnectionSecrets(**{k: v for k, v in data.items() if k in ConnectionSecrets.__dataclass_fields__})


def _seal_secrets(connection: AdConnection, values: ConnectionSecrets) -> None:
    connection.secrets_key_id, connection.secrets_blob = vault.seal(values.__dict__, context=_context(connection))


def _clean(*, platform: str, vertical: Vertical, mapping: dict, form_ids, consent_text: str, name: str) -> dict:
    errors: dict[str, list[str]] = {}
    if vertical.status != VerticalStatus.ACTIVE:
        errors["vertical"] = ["This vertical is not accepting leads."]
    known = {t.key for t in ad_connection_targets(vertical=vertical)}
    clean_mapping = {}
    for key, field in (mapping or {}).items():
        if not field:
            continue
        if key not in known:
            errors.setdefault("mapping", []).append(f"Unknown lead field {str(key)[:80]}.")
        elif not isinstance(field, str) or len(field) > 200:
            errors.setdefault("mapping", []).append(f"{key}: a platform field name of at most 200 characters.")
        else:
            clean_mapping[key] = field.strip()
    if not {"phone", "email"} & set(clean_mapping):
        errors.setdefault("mapping", []).append("Map a phone or an email field: every lead needs one of them.")
    ids = [str(f).strip() for f in (form_ids or []) if str(f).strip()]
    if not ids:
        errors["form_ids"] = ["List the platform's form id(s) this connection takes; other forms are refused."]
    elif len(ids) > MAX_FORM_IDS or any(len(f) > 100 for f in ids):
        errors["form_ids"] = [f"At most {MAX_FORM_IDS} form ids of at most 100 characters."]
    consent_text = (consent_text or "").strip()
    if not consent_text:
        errors["consent_text"] = ["Enter the consent text your lead form shows (it is stored with each lead)."]
    elif len(consent_text) > 5000:
        errors["consent_text"] = ["At most 5000 characters."]
    name = (name or "").strip()
    if not name or len(name) > 100:
        errors["name"] = ["A name of 1 to 100 characters."]
    if errors:
        raise ConnectionInvalid(errors)
    return {
        "mapping": clean_mapping,
        "form_ids": list(dict.fromkeys(ids)),
        "consent_text": consent_text,
        "name": name,
    }


def ad_connection_default_mapping(*, platform: str) -> dict:
    return dict(STANDARD_FIELDS[AdPlatform(platform)])


@transaction.atomic
def ad_connection_create(
    *,
    seller,
    platform: str,
    vertical: Vertical,
    name: str,
    form_ids: list,
    consent_text: str,
    mapping: dict | None = None,
    app_secret: str = "",
    page_access_token: str = "",
) -> AdConnection:
    """A new connection with a fresh URL token and secrets: Google's key (pasted into Google Ads)
    or, for Meta, a verify token (pasted into the app's webhook settings) beside the app secret
    and page access token the seller copies from Meta."""
    if platform not in AdPlatform.values:
        raise ConnectionInvalid({"platform": ["Choose google or meta."]})
    if mapping is None:
        mapping = ad_connection_default_mapping(platform=platform)
    fields = _clean(
        platform=platform, vertical=vertical, mapping=mapping, form_ids=form_ids, consent_text=consent_text, name=name
    )
    if platform == AdPlatform.META:
        _check_meta_secrets(app_secret=app_secret, page_access_token=page_access_token, required=True)
        values = ConnectionSecrets(
            app_secret=app_secret.strip(),
            verify_token=random_secrets.token_urlsafe(24),
            page_access_token=page_access_token.strip(),
        )
    else:
        values = ConnectionSecrets(google_key=random_secrets.token_urlsafe(24))
    connection = AdConnection(
        seller=seller, platform=platform, vertical=vertical, token=random_secrets.token_urlsafe(24), **fields
    )
    _seal_secrets(connection, values)
    connection.save(force_insert=True)
    return connection


def _check_meta_secrets(*, app_secret: str, page_access_token: str, required: bool) -> None:
    errors = {}
    for name, value in (("app_secret", app_secret), ("page_access_token", page_access_token)):
        value = (value or "").strip()
        if required and not value:
            errors[name] = ["Copy it from your Meta app (required for Meta connections)."]
        elif len(value) > 500:
            errors[name] = ["At most 500 characters."]
    if errors:
        raise ConnectionInvalid(errors)


def access_ad_connection(*, seller, connection_id: int) -> AdConnection:
    connection = AdConnection.objects.select_related("vertical").filter(pk=connection_id, seller=seller).first()
    if connection is None:
        raise NotFoundError({"connection": "No such connection of yours."})
    return connection


@transaction.atomic
def ad_connection_update(
    *,
    connection: AdConnection,
    name: str | None = None,
    form_ids: list | None = None,
    mapping: dict | None = None,
    consent_text: str | None = None,
    active: bool | None = None,
    app_secret: str = "",
    page_access_token: str = "",
) -> AdConnection:
    """Change what the seller may change (not the platform, vertical or URL); blank Meta secrets
    keep the stored ones. Failed events can then be replayed with the new mapping."""
    locked = AdConnection.objects.select_for_update().select_related("vertical").get(pk=connection.pk)
    fields = _clean(
        platform=locked.platform,
        vertical=locked.vertical,
        mapping=locked.mapping if mapping is None else mapping,
        form_ids=locked.form_ids if form_ids is None else form_ids,
        consent_text=locked.consent_text if consent_text is None else consent_text,
        name=locked.name if name is None else name,
    )
    for key, value in fields.items():
        setattr(locked, key, value)
    if active is not None:
        locked.active = bool(active)
    if locked.platform == AdPlatform.META and (app_secret or page_access_token):
        _check_meta_secrets(app_secret=app_secret, page_access_token=page_access_token, required=False)
        current = connection_secrets(connection=locked)
        _seal_secrets(
            locked,
            ConnectionSecrets(
                app_secret=app_secret.strip() or current.app_secret,
                verify_token=current.verify_token,
                page_access_token=page_access_token.strip() or current.page_access_token,
            ),
        )
    locked.save()
    return locked


@transaction.atomic
def ad_connection_rotate_secret(*, connection: AdConnection) -> AdConnection:
    """A new generated secret (Google's key, Meta's verify token): the old one stops working at
    once, so paste the new one into the platform right away."""
    locked = AdConnection.objects.select_for_update().get(pk=connection.pk)
    current = connection_secrets(connection=locked)
    if locked.platform == AdPlatform.GOOGLE:
        fresh = ConnectionSecrets(google_key=random_secrets.token_urlsafe(24))
    else:
        fresh = ConnectionSecrets(
            app_secret=current.app_secret,
            verify_token=random_secrets.token_urlsafe(24),
            page_access_token=current.page_access_token,
        )
    _seal_secrets(locked, fresh)
    locked.save(update_fields=["secrets_key_id", "secrets_blob", "updated_at"])
    return locked


@transaction.atomic
def ad_connection_delete(*, connection: AdConnection) -> None:
    """Remove a connection and its events (the leads it made stay): its URL stops answering."""
    AdConnection.objects.filter(pk=connection.pk).delete()
