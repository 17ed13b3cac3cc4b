"""A lead's field values in words, from its vertical's field schema: the label (without its unit)
and the value with its unit — "Owns the home: Yes", "Average monthly electric bill: 220.50 USD",
"Roof age: 12 years" — never the key or the stored value ("homeowner True", "220.0").

Pure functions, no database: callers pass the schema (verticals.selectors.vertical_schemas).
Pages, the live payloads and the API's display fields all go through field_values_display, so
they read alike.
"""

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.utils.dateformat import format as date_format
from django.utils.text import capfirst

from verticals.choices import FieldType

# A numeric field's label carries its unit in trailing parentheses: "Roof age (years)". Only these
# are units; other parentheses are part of the label ("Days at Camp Lejeune (1953-1987)").
UNITS = {"USD": "USD", "%": "%", "years": "years", "sq ft": "sq ft"}
_UNIT_RE = re.compile(r"^(?P<label>.+?)\s*\((?P<unit>[^()]+)\)\s*$")
DATE_FORMAT = "j M Y"  # 5 Dec 2026


@dataclass(frozen=True)
class FieldValue:
    key: str  # for code and tests; never shown
    label: str
    text: str

    def as_dict(self) -> dict:
        return {"key": self.key, "label": self.label, "text": self.text}


def split_unit(field) -> tuple[str, str]:
    """(label without the unit, unit) for numeric fields whose label ends in a known unit."""
    if field.type in (FieldType.INTEGER, FieldType.DECIMAL):
        match = _UNIT_RE.match(field.label or "")
        if match and match.group("unit").strip() in UNITS:
            return match.group("label"), UNITS[match.group("unit").strip()]
    return field.label, ""


def number_text(value, *, places: int | None = None) -> str:
    """1234567.5 -> "1,234,567.5"; four-digit numbers stay ungrouped (years such as 2015).
    `places` fixes the decimals (money); otherwise trailing zeros go ("220.0" -> "220")."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if not number.is_finite():
        return str(value)
    if places is not None:
        number = number.quantize(Decimal(1).scaleb(-places))
    elif number == number.to_integral_value():
        number = number.quantize(Decimal(1))
    else:
        number = number.normalize()
    text = f"{number:,f}" if abs(number) >= 10000 else f"{number:f}"
    return text


def _money_text(value) -> str:
    """Whole amounts without cents ("350,000"), others with two places ("220.50")."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if number.is_finite() and number == number.to_integral_value():
        return number_text(number)
    return number_text(value, places=2)


def date_text(value) -> str:
    try:
        return date_format(date.fromisoformat(str(value)), DATE_FORMAT)
    except ValueError:
        return str(value)


def field_text(field, value) -> str:
    """One stored value in words, with its unit."""
    if value is None or value == "" or value == []:
        return "—"
    kind = field.type
    if kind == FieldType.BOOLEAN:
        return "Yes" if value is True or str(value).lower() in ("true", "1", "yes") else "No"
    if kind == FieldType.CHOICE:
        return capfirst(str(value))
    if kind == FieldType.MULTI_CHOICE:
        items = value if isinstance(value, list) else [value]
        return capfirst(", ".join(str(v) for v in items))
    if kind in (FieldType.INTEGER, FieldType.DECIMAL):
        _, unit = split_unit(field)
        if unit == "USD":
            return f"{_money_text(value)} USD"
        text = number_text(value)
        if unit == "%":
            return f"{text}%"
        return f"{text} {unit}" if unit else text
    if kind == FieldType.DATE:
        return date_text(value)
    return str(value)


def _fallback_label(key: str) -> str:
    return capfirst(str(key).replace("_", " "))


def field_values_display(*, schema: list, values: dict, biddable_only: bool) -> list[FieldValue]:
    """The values in schema order. `biddable_only`: only fields buyers may see before buying (never
    PII) — what marketplace pages and broadcasts show. Otherwise every value given (the caller
    passes only what its reader may see: a lead's fields, or the contact details' PII fields to
    their owner), values for keys the schema no longer knows last, labelled from the key."""
    values = values or {}
    out = []
    known = set()
    for field in schema:
        known.add(field.key)
        if biddable_only and (field.pii or not field.biddable):
            continue
        if field.key not in values:
            continue
        label, _ = split_unit(field)
        out.append(FieldValue(field.key, label, field_text(field, values[field.key])))
    if not biddable_only:
        for key, value in values.items():
            if key not in known:
                if isinstance(value, bool):
                    text = "Yes" if value else "No"
                elif isinstance(value, list):
                    text = ", ".join(map(str, value))
                else:
                    text = str(value)
                out.append(FieldValue(key, _fallback_label(key), text))
    return out


# Filter operators (autobid rules and bounties share them) in words.
OP_WORDS = {
    "eq": "is",
    "ne": "is not",
    "in": "is one of",
    "not_in": "is none of",
    "gt": ">",
    "gte": "≥",
    "lt": "<",
    "lte": "≤",
    "between": "is between",
    "contains": "contains",
}


def filter_text(*, field, key: str, op: str, value) -> str:
    """A field filter in words: "Owns the home is Yes", "Roof age ≥ 10 years",
    "Credit score (self-reported) is one of Excellent (720+), Good (680-719)". `field` is the
    schema's field for `key` (None when the schema no longer has it: the key is shown humanized)."""
    if field is None:
        label = _fallback_label(key)

        def text(v):
            return ("Yes" if v else "No") if isinstance(v, bool) else str(v)
    else:
        label, _ = split_unit(field)

        def text(v):
            return field_text(field, v) if field.type != FieldType.MULTI_CHOICE else capfirst(str(v))

    words = OP_WORDS.get(op, op)
    if op == "between" and isinstance(value, (list, tuple)) and len(value) == 2:
        return f"{label} {words} {text(value[0])} and {text(value[1])}"
    if isinstance(value, (list, tuple)):
        return f"{label} {words} {', '.join(text(v) for v in value)}"
    return f"{label} {words} {text(value)}"


# ---------------------------------------------------------------- brand colours

INK, WHITE, BLACK = "#0f172a", "#ffffff", "#000000"  # site.css's --ink, white, black
READABLE = 4.5  # WCAG 1.4.3 (AA), normal-size text


def _luminance(hex_colour: str) -> float:
    """WCAG 2 relative luminance of "#rrggbb"."""
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two "#rrggbb" colours, 1 to 21."""
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def text_colour_on(background: str) -> str:
    """A text colour readable on `background` ("#rrggbb") at 4.5:1 (WCAG 1.4.3): white where it
    reads, else the site's ink, else black (one of white and black always does). A vertical's
    brand colour may be light (amber, sky) or dark."""
    for colour in (WHITE, INK):
        if contrast_ratio(colour, background) >= READABLE:
            return colour
    return BLACK
