"""How a sale's price is split at release, and when it is released: pure functions shared by the
release itself (escrow.settlement) and the seller's pending earnings (escrow.selectors_earnings),
so what a seller is told to expect is what the release pays."""

from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from django.conf import settings

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
