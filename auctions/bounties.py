"""Bounties: buyer-funded pools that pay a seller extra for a lead matching their criteria."""

from datetime import datetime

from auctions.models import Sale


def bounty_pay_for_sale(*, sale: Sale, now: datetime) -> list:
    """Pay every matching bounty for this sale from its pool (none yet)."""
    return []
