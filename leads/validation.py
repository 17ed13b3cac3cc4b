"""Validation of a submitted lead against its vertical's schema, contact and consent rules.

One function serves every channel (API, bulk, hosted form, CSV, webhooks): `check_lead_input`
returns a `CleanLead` or raises `LeadInvalid` whose `errors` map a field path ("email",
"fields.roof_age_years", "consent.timestamp") to messages. Messages never repeat the value:
they may reach logs and error reports, and values may be personal data.
"""

import functools
import ipaddress
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

import phonenumbers
import zipcodes
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from verticals.choices import FieldType

US_STATES = {
    "AL",
    "AK",
    "AZ",
    "AR",
    "CA",
    "CO",
    "CT",
    "DE",
    "DC",
    "FL",
    "GA",
    "HI",
    "ID",
    "IL",
    "IN",
    "IA",
    "KS",
    "KY",
    "LA",
    "ME",
    "MD",
    "MA",
    "MI",
    "MN",
    "MS",
    "MO",
    "MT",
    "NE",
    "NV",
    "NH",
    "NJ",
    "NM",
    "NY",
    "NC",
    "ND",
    "OH",
    "OK",
    "OR",
    "PA",
    "RI",
    "SC",
    "SD",
    "TN",
    "TX",
    "UT",
    "VT",
    "VA",
    "WA",
    "WV",
    "WI",
    "WY",
    "PR",
    "VI",
    "GU",
    "AS",
    "MP",
}
US_STATE_CODES = sorted(US_STATES)  # for the API schema's one enum of states
MAX_TEXT = 500
MAX_NAME = 100
CLOCK_SKEW = timedelta(minutes=5)
TOP_LEVEL_KEYS = {
    "vertical",
    "external_id",
    "campaign",
    "sub_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "street_address",
    "city",
    "state",
    "zip",
    "country",
    "fields",
    "consent",
}
CONSENT_KEYS = {"text", "timestamp", "ip", "user_agent", "page_url", "certificate_url"}
# ASCII digits only: "\d" would admit other scripts' digits, which the ZIP library panics on.
_ZIP = re.compile(r"^(\d{5})(?:-\d{4})?\Z", re.ASCII)
# +1, a 3-digit area code, then 555-01xx.
_FICTIONAL_NANP = re.compile(r"^\+1\d{3}55501\d{2}\Z", re.ASCII)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_email_validator = EmailValidator()
_url_validator = URLValidator(schemes=["http", "https"])
# Domains that never belong to a real consumer.
_PLACEHOLDER_DOMAINS = {"example.com", "example.org", "example.net", "test.com", "mailinator.com", "invalid"}


class LeadInvalid(Exception):
    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("lead failed validation")
        self.errors = errors


@dataclass
class CleanLead:
    external_id: str = ""
    campaign: str = ""
    sub_id: str = ""
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone: str = ""  # E.164
    phone_type: str = ""  # mobile, fixed_line, voip, …, "" when unknown
    street_address: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""
    country: str = "US"
    fields: dict = field(default_factory=dict)  # non-PII vertical fields
    pii_fields: dict = field(default_factory=dict)  # vertical fields flagged as PII (go to the vault)
    consent_text: str = ""
    consent_at: datetime | None = None
    consent_ip: str = ""
    consent_user_agent: str = ""
    consent_page_url: str = ""
    consent_certificate_url: str = ""

    @property
    def pii(self) -> dict:
        return {
            k: v
            for k, v in {
                "first_name": self.first_name,
                "last_name": self.last_name,
                "email": self.email,
                "phone": self.phone,
                "street_address": self.street_address,
                "fields": self.pii_fields,
            }.items()
            if v
        }


def _is_unicode(text: str) -> bool:
    """False for strings with unpaired surrogates (legal in JSON escapes, unencodable as UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _path_label(key) -> str:
    """A submitted key as it may appear in an error path: short, never empty, printable, valid UTF-8."""
    label = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(key)[:64])
    return label.encode("utf-8", "replace").decode("utf-8") or '""'


class _Errors:
    def __init__(self):
        self.errors: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)


def _text(value, path: str, errs: _Errors, *, max_len: int = MAX_TEXT, required: bool = False) -> str:
    if value is None or value == "":
        if required:
            errs.add(path, "This field is required.")
        return ""
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        errs.add(path, "Must be a string.")
        return ""
    text = _CONTROL.sub("", str(value)).strip()
    if not _is_unicode(text):
        errs.add(path, "Must be valid Unicode text.")
        return ""
    if len(text) > max_len:
        errs.add(path, f"At most {max_len} characters.")
        return ""
    if required and not text:
        errs.add(path, "This field is required.")
    return text


def normalize_email(raw: str) -> str:
    return raw.strip().lower()


def check_email(value, errs: _Errors) -> str:
    text = _text(value, "email", errs, max_len=254)
    if not text:
        return ""
    email = normalize_email(text)
    try:
        _email_validator(email)
    except ValidationError:
        errs.add("email", "Enter a valid email address.")
        return ""
    domain = email.rsplit("@", 1)[1]
    if domain in _PLACEHOLDER_DOMAINS or domain.endswith((".invalid", ".test", ".example", ".localhost")):
        errs.add("email", "The email domain cannot receive mail.")
        return ""
    return email


_PHONE_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE: "mobile",
    phonenumbers.PhoneNumberType.FIXED_LINE: "fixed_line",
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
    phonenumbers.PhoneNumberType.VOIP: "voip",
    phonenumbers.PhoneNumberType.TOLL_FREE: "toll_free",
    phonenumbers.PhoneNumberType.PREMIUM_RATE: "premium_rate",
}


def parse_phone(raw: str, region: str = "US") -> tuple[str, str] | None:
    """(E.164, line type) for a valid number, else None."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    kind = _PHONE_TYPES.get(phonenumbers.number_type(number), "")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), kind


def check_phone(value, errs: _Errors, region: str) -> tuple[str, str]:
    text = _text(value, "phone", errs, max_len=40)
    if not text:
        return "", ""
    parsed = parse_phone(text, region)
    if parsed is None:
        errs.add("phone", "Enter a valid phone number (E.164 such as +14155552671, or a 10-digit US number).")
        return "", ""
    if parsed[1] in ("premium_rate", "toll_free"):
        errs.add("phone", "Toll-free and premium-rate numbers are not consumer numbers.")
        return "", ""
    if is_fictional_phone(parsed[0]):
        errs.add(
            "phone", "555-0100 to 555-0199 are fictional numbers (reserved for films and examples), not a consumer's."
        )
        return "", ""
    return parsed


def is_fictional_phone(e164: str) -> bool:
    """NANP's fictional range: 555-0100 … 555-0199 in any area code, never assigned to anyone."""
    return bool(_FICTIONAL_NANP.match(e164))


@functools.cache
def _zip_index() -> dict[str, dict]:
    """Every ZIP code by its 5 digits, built once per process (about a second): a lookup in
    `zipcodes.matching` costs ~7 ms, which a 50,000-row CSV import would pay per row."""
    index: dict[str, dict] = {}
    for info in zipcodes.list_all():
        index.setdefault(info["zip_code"], info)  # the first match, as zipcodes.matching()[0]
    return index


def zip_info(zip5: str) -> dict | None:
    return _zip_index().get(zip5) if isinstance(zip5, str) else None


def check_geo(data: dict, errs: _Errors) -> tuple[str, str, str, str]:
    country = _text(data.get("country") or "US", "country", errs, max_len=2).upper()
    if country and country != "US":
        errs.add("country", "Only US leads are accepted for now.")
    state = _text(data.get("state"), "state", errs, max_len=2, required=True).upper()
    if state and state not in US_STATES:
        errs.add("state", "Use a two-letter US state code such as CA.")
        state = ""
    raw_zip = _text(data.get("zip"), "zip", errs, max_len=10, required=True)
    zip5 = ""
    if raw_zip:
        match = _ZIP.match(raw_zip)
        if not match:
            errs.add("zip", "Use a 5-digit US ZIP code.")
        else:
            zip5 = match.group(1)
            info = zip_info(zip5)
            if info is None:
                errs.add("zip", "This ZIP code does not exist.")
            elif state and info["state"] != state:
                errs.add("zip", f"This ZIP code is not in {state}.")
    city = _text(data.get("city"), "city", errs, max_len=MAX_NAME)
    return country or "US", state, zip5, city


def check_consent(value, errs: _Errors, now: datetime) -> dict:
    if not isinstance(value, dict):
        errs.add("consent", "Consent is required: text, timestamp and ip of the consumer's agreement.")
        return {}
    unknown = set(value) - CONSENT_KEYS
    for key in sorted(unknown):
        errs.add(f"consent.{_path_label(key)}", "Unknown consent field.")
    text = _text(value.get("text"), "consent.text", errs, max_len=5000, required=True)
    at = None
    raw_ts = value.get("timestamp")
    if raw_ts in (None, ""):
        errs.add("consent.timestamp", "This field is required.")
    elif not isinstance(raw_ts, str) or (parsed := _parse_ts(raw_ts)) is None:
        errs.add("consent.timestamp", "Use an ISO 8601 date-time with a time zone, e.g. 2026-11-21T14:03:00Z.")
    else:
        if parsed > now + CLOCK_SKEW:
            errs.add("consent.timestamp", "Consent cannot be in the future.")
        elif now - parsed > timedelta(days=settings.LEAD_CONSENT_MAX_AGE_DAYS):
            errs.add("consent.timestamp", f"Consent is older than {settings.LEAD_CONSENT_MAX_AGE_DAYS} days.")
        else:
            at = parsed
    ip = _text(value.get("ip"), "consent.ip", errs, max_len=45, required=True)
    if ip:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            address = None
        # A zone index ("fe80::1%eth0") is local to the sender's host, and PostgreSQL's inet rejects it.
        if address is None or getattr(address, "scope_id", None):
            errs.add("consent.ip", "Enter a valid IPv4 or IPv6 address.")
            ip = ""
        else:
            ip = str(address)
    urls = {}
    for key in ("page_url", "certificate_url"):
        url = _text(value.get(key), f"consent.{key}", errs, max_len=500)
        if url:
            try:
                _url_validator(url)
            except ValidationError:
                errs.add(f"consent.{key}", "Enter a valid http(s) URL.")
                url = ""
        urls[key] = url
    return {
        "consent_text": text,
        "consent_at": at,
        "consent_ip": ip,
        "consent_user_agent": _text(value.get("user_agent"), "consent.user_agent", errs, max_len=500),
        "consent_page_url": urls["page_url"],
        "consent_certificate_url": urls["certificate_url"],
    }


def _parse_ts(raw: str) -> datetime | None:
    try:
        parsed = parse_datetime(raw.strip())
    except ValueError:
        return None
    if parsed is None or parsed.tzinfo is None:
        return None
    return parsed


_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}


def _field_value(spec, raw, errs: _Errors):  # noqa: C901 - one branch per type, kept together
    path = f"fields.{spec.key}"
    kind = spec.type
    if kind == FieldType.TEXT:
        return _text(raw, path, errs) or None
    if kind in (FieldType.INTEGER, FieldType.DECIMAL):
        if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
            errs.add(path, "Must be a number.")
            return None
        try:
            number = Decimal(str(raw).strip().replace(",", ""))
        except (InvalidOperation, ValueError):
            errs.add(path, "Must be a number.")
            return None
        if not number.is_finite():
            errs.add(path, "Must be a finite number.")
            return None
        if spec.min_value is not None and number < spec.min_value:
            errs.add(path, f"Must be at least {spec.min_value.normalize():f}.")
            return None
        if spec.max_value is not None and number > spec.max_value:
            errs.add(path, f"Must be at most {spec.max_value.normalize():f}.")
            return None
        # adjusted() is exact; abs(), rounding and to_integral_value() of a huge exponent
        # (e.g. "1e9999999") overflow the decimal context and raise.
        if number and number.adjusted() >= 15:
            errs.add(path, "Too large.")
            return None
        if kind == FieldType.INTEGER and number != number.to_integral_value():
            errs.add(path, "Must be a whole number.")
            return None
        return int(number) if kind == FieldType.INTEGER else float(round(number, 6))
    if kind == FieldType.BOOLEAN:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, (str, int)) and str(raw).strip().lower() in _TRUE | _FALSE:
            return str(raw).strip().lower() in _TRUE
        errs.add(path, "Must be true or false.")
        return None
    if kind == FieldType.CHOICE:
        if not isinstance(raw, str):
            errs.add(path, "Must be one of the listed choices.")
            return None
        canonical = {c.lower(): c for c in spec.choices}.get(raw.strip().lower())
        if canonical is None:
            errs.add(path, f"Must be one of: {', '.join(spec.choices)}.")
        return canonical
    if kind == FieldType.MULTI_CHOICE:
        items = [part.strip() for part in raw.split(",")] if isinstance(raw, str) else raw
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items) or len(items) > len(spec.choices):
            errs.add(path, "Must be a list of the listed choices.")
            return None
        lookup = {c.lower(): c for c in spec.choices}
        chosen = []
        for item in items:
            canonical = lookup.get(item.lower())
            if canonical is None:
                errs.add(path, f"Each must be one of: {', '.join(spec.choices)}.")
                return None
            if canonical not in chosen:
                chosen.append(canonical)
        return chosen or None
    if kind == FieldType.DATE:
        if not isinstance(raw, str):
            errs.add(path, "Use a date such as 2026-11-21.")
            return None
        try:
            return date.fromisoformat(raw.strip()).isoformat()
        except ValueError:
            errs.add(path, "Use a date such as 2026-11-21.")
            return None
    if kind == FieldType.US_ZIP:
        match = _ZIP.match(str(raw).strip()) if isinstance(raw, (str, int)) and not isinstance(raw, bool) else None
        if not match or zip_info(match.group(1)) is None:
            errs.add(path, "Use an existing 5-digit US ZIP code.")
            return None
        return match.group(1)
    errs.add(path, "This field has an unknown type.")
    return None


def check_fields(raw, schema: list, errs: _Errors) -> tuple[dict, dict]:
    """Validate vertical fields; returns (non-PII values, PII values)."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        errs.add("fields", "Must be an object of the vertical's fields.")
        return {}, {}
    by_key = {spec.key: spec for spec in schema}
    for key in raw:
        if key not in by_key:
            errs.add(f"fields.{_path_label(key)}", "Unknown field for this vertical.")
    values, pii = {}, {}
    for spec in schema:
        present = spec.key in raw and raw[spec.key] not in (None, "", [])
        if not present:
            if spec.required:
                errs.add(f"fields.{spec.key}", "This field is required.")
            continue
        value = _field_value(spec, raw[spec.key], errs)
        if value is not None:
            (pii if spec.pii else values)[spec.key] = value
    return values, pii


def check_lead_input(data, *, schema: list, now: datetime | None = None, allow_keys: set | None = None) -> CleanLead:
    """Validate one submitted lead. `schema` is the vertical's effective fields (VerticalField)."""
    now = now or timezone.now()
    errs = _Errors()
    if not isinstance(data, dict):
        raise LeadInvalid({"non_field_errors": ["Each lead must be a JSON object."]})
    for key in sorted(set(data) - TOP_LEVEL_KEYS - (allow_keys or set())):
        errs.add(_path_label(key), "Unknown field.")
    clean = CleanLead()
    clean.external_id = _text(data.get("external_id"), "external_id", errs, max_len=100)
    clean.campaign = _text(data.get("campaign"), "campaign", errs, max_len=100)
    clean.sub_id = _text(data.get("sub_id"), "sub_id", errs, max_len=100)
    clean.first_name = _text(data.get("first_name"), "first_name", errs, max_len=MAX_NAME)
    clean.last_name = _text(data.get("last_name"), "last_name", errs, max_len=MAX_NAME)
    clean.street_address = _text(data.get("street_address"), "street_address", errs, max_len=200)
    clean.email = check_email(data.get("email"), errs)
    clean.phone, clean.phone_type = check_phone(data.get("phone"), errs, "US")
    # On the cleaned values: a blank or whitespace-only phone is no contact at all.
    if not clean.email and not clean.phone and not ({"email", "phone"} & set(errs.errors)):
        errs.add("phone", "A phone number or an email address is required.")
    clean.country, clean.state, clean.zip, clean.city = check_geo(data, errs)
    clean.fields, clean.pii_fields = check_fields(data.get("fields"), schema, errs)
    for name, value in check_consent(data.get("consent"), errs, now).items():
        setattr(clean, name, value)
    if errs.errors:
        raise LeadInvalid(errs.errors)
    return clean
