"""How a dashboard figure is written, by its unit (analytics.selectors): USDC with two decimals
(six where they matter: a price per lead under a cent), percentages with one decimal, counts
grouped, a return on spend as "2.35×". The CSV exports write plain numbers instead."""

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from analytics.selectors import COUNT, PERCENT, RATIO, SCORE, USDC
from core.display import EMPTY, usdc_text

CENT = Decimal("0.01")


def value_text(value, unit: str) -> str:
    if value is None:
        return EMPTY
    if unit == USDC:
        amount = Decimal(value)
        if amount and abs(amount) < CENT:
            return usdc_text(amount)  # up to six places: never "0.00" for a real amount
        return usdc_text(amount.quantize(CENT, ROUND_HALF_UP))
    if unit == PERCENT:
        return f"{Decimal(value).quantize(Decimal('0.1'), ROUND_HALF_UP)} %"
    if unit == RATIO:
        return f"{Decimal(value).quantize(CENT, ROUND_HALF_UP)}×"
    if unit == SCORE:
        return f"{Decimal(value).quantize(Decimal('0.1'), ROUND_HALF_UP)}"
    if unit == COUNT:
        return f"{int(value):,}"
    return str(value)


def csv_value(value, unit: str) -> str:
    """A figure for a CSV cell: plain digits, USDC to six places, percentages to two."""
    if value is None:
        return ""
    if unit == USDC:
        return f"{Decimal(value).quantize(Decimal('0.000001')):f}"
    if unit in (PERCENT, RATIO, SCORE):
        return f"{Decimal(value).quantize(Decimal('0.01'), ROUND_HALF_UP):f}"
    if unit == COUNT:
        return str(int(value))
    return str(value)


def change_text(change) -> str:
    """+12.5 % / −3.0 % against the previous period; "—" when there is nothing to compare."""
    if change is None:
        return EMPTY
    rounded = Decimal(change).quantize(Decimal("0.1"), ROUND_HALF_UP)
    sign = "+" if rounded > 0 else ("−" if rounded < 0 else "±")
    return f"{sign}{abs(rounded)} %"


def age_text(age: timedelta | None) -> str:
    if age is None:
        return EMPTY
    seconds = int(age.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


def seconds_text(value) -> str:
    return EMPTY if value is None else f"{value:.2f} s"
