"""How the site writes money and moments, in one place: templates use the `display` filters
(core/templatetags/display.py), views use these for their messages, and static/js/live.js
writes live values the same way (its `money` and status labels)."""

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.dates import MONTHS_3

from core.money import USDC_DECIMAL_PLACES

DAY_FORMAT = "j M Y"  # 5 Dec 2026
MOMENT_FORMAT = "j M Y, H:i T"  # 5 Dec 2026, 19:21 UTC
MOMENT_SECONDS_FORMAT = "j M Y, H:i:s T"
EMPTY = "—"


def usdc_text(value, *, unit: bool = True) -> str:
    """52.5 -> "52.50 USDC": grouped thousands, at least two decimals and at most six (the ledger's
    precision: 0.000001 is never shown as 0.00). None -> "—"."""
    if value is None or value == "":
        return EMPTY
    try:
        amount = Decimal(str(value)).quantize(Decimal(1).scaleb(-USDC_DECIMAL_PLACES))
    except (InvalidOperation, ValueError):
        return str(value)
    whole, _, fraction = f"{amount:,f}".partition(".")
    fraction = fraction.rstrip("0").ljust(2, "0")
    text = f"{whole}.{fraction}"
    return f"{text} USDC" if unit else text


def moment_text(value, *, seconds: bool = False) -> str:
    """An aware datetime in the current time zone: "5 Dec 2026, 19:21 UTC". None -> "—"."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, str):
        from django.utils.dateparse import parse_datetime

        parsed = parse_datetime(value)
        if parsed is None:
            return value
        value = parsed
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
            zone = value.tzname()
            if zone:
                # What date_format writes for MOMENT_FORMAT, without its per-character dispatch
                # (a table of 50 rows wrote 50 of these; tests compare both).
                clock = f"{value:%H:%M:%S}" if seconds else f"{value:%H:%M}"
                return f"{value.day} {str(MONTHS_3[value.month]).title()} {value.year:04d}, {clock} {zone}"
        return date_format(value, MOMENT_SECONDS_FORMAT if seconds else MOMENT_FORMAT)
    if isinstance(value, date):
        return date_format(value, DAY_FORMAT)
    return str(value)


def day_text(value) -> str:
    """A date (or a datetime's day in the current time zone): "5 Dec 2026"."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    return date_format(value, DAY_FORMAT)


def bps_text(value) -> str:
    """Basis points as a percentage: 200 -> "2%", 250 -> "2.5%"."""
    if value is None or value == "":
        return EMPTY
    try:
        percent = (Decimal(str(value)) / 100).normalize()
    except (InvalidOperation, ValueError):
        return str(value)
    return f"{percent:f}%"
