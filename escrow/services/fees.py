"""How a sale's price is split at release, and when it is released: pure functions shared by the
release itself (escrow.services.settlement) and the seller's pending earnings (escrow.selectors.earnings),
so what a seller is told to expect is what the release pays."""

from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.db.models import (
    BigIntegerField,
    Case,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    Func,
    Q,
    Value,
    When,
)
from django.db.models.functions import Cast, Round

BPS = Decimal(10_000)
QUANTUM = Decimal("0.000001")


def release_amounts(*, price: Decimal, vertical_has_owner: bool) -> tuple[Decimal, Decimal, Decimal]:
    """(seller, platform fee, vertical royalty) of `price`: the fee is PLATFORM_FEE_BPS of it, the
    royalty VERTICAL_ROYALTY_BPS when the vertical has an owner; both rounded down to the
    micro-USDC, the seller gets the rest, so the three always sum to the price exactly."""
    fee = (price * settings.PLATFORM_FEE_BPS / BPS).quantize(QUANTUM, rounding=ROUND_DOWN)
    royalty = Decimal(0)
    if vertical_has_owner:
        royalty = (price * settings.VERTICAL_ROYALTY_BPS / BPS).quantize(QUANTUM, rounding=ROUND_DOWN)
    return price - fee - royalty, fee, royalty


def release_after_for(*, sold_at: datetime, dispute_window_hours: int) -> datetime:
    """When a sale's escrow may be released: once the vertical's dispute window has passed."""
    return sold_at + timedelta(hours=dispute_window_hours)


# ---------------------------------------------------------------- the same in SQL

MICRO_PER_USDC = 10**6


def micro_usdc_expression(amount) -> Cast:
    """A USDC amount expression as whole micro-USDC (a bigint): exact sums on every database."""
    return Cast(Round(amount * Value(MICRO_PER_USDC)), output_field=BigIntegerField())


def release_amounts_micro_expression(*, price, vertical_has_owner: Q) -> tuple:
    """release_amounts() as SQL expressions in micro-USDC (seller, platform fee, vertical royalty):
    integer division rounds the fee and the royalty down to the micro-USDC, as release_amounts
    does, for lists that sum many sales in one query (escrow.selectors.earnings)."""
    price_micro = micro_usdc_expression(price)
    fee = price_micro * Value(settings.PLATFORM_FEE_BPS) / Value(int(BPS))
    royalty = Case(
        When(vertical_has_owner, then=price_micro * Value(settings.VERTICAL_ROYALTY_BPS) / Value(int(BPS))),
        default=Value(0),
        output_field=BigIntegerField(),
    )
    return price_micro - fee - royalty, fee, royalty


class _Hours(Func):
    """A whole number of hours as a duration: an interval in PostgreSQL, microseconds in SQLite
    (Django's storage of durations there), so `datetime + _Hours(n)` works on both."""

    output_field = DurationField()
    template = "(%(expressions)s * INTERVAL '1 hour')"

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="(%(expressions)s * 3600000000)", **extra_context)


def release_after_expression(*, sold_at, dispute_window_hours) -> ExpressionWrapper:
    """release_after_for() as an SQL expression (the sale's time plus the window in hours)."""
    return ExpressionWrapper(sold_at + _Hours(dispute_window_hours), output_field=DateTimeField())
