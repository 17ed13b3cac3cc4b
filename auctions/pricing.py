"""The proxy-price rule and the increment ladder: pure functions, no database.

See docs/auctions.md ("Proxy rule"). Amounts are USDC Decimals.
"""

from decimal import Decimal

USDC_QUANTUM = Decimal("0.000001")

# (price below which this increment applies, increment); the last row has no upper bound.
INCREMENT_LADDER: tuple[tuple[Decimal | None, Decimal], ...] = (
    (Decimal("10"), Decimal("0.25")),
    (Decimal("50"), Decimal("0.50")),
    (Decimal("100"), Decimal("1.00")),
    (Decimal("500"), Decimal("2.50")),
    (None, Decimal("5.00")),
)
# A sale is never free: with a zero reserve the opening price is the smallest increment.
MIN_OPENING_PRICE = INCREMENT_LADDER[0][1]


def increment_for(amount: Decimal) -> Decimal:
    """The bidding increment at this price level."""
    for below, step in INCREMENT_LADDER:
        if below is None or amount < below:
            return step
    raise AssertionError("unreachable: the ladder's last row is unbounded")


def opening_price(reserve: Decimal) -> Decimal:
    """What a single bidder pays: the reserve (at least MIN_OPENING_PRICE)."""
    return max(reserve, MIN_OPENING_PRICE).quantize(USDC_QUANTUM)


def proxy_price(*, reserve: Decimal, maxima: list[Decimal]) -> Decimal | None:
    """The visible price for standing maxima ranked best first (ties already broken by time).

    None without bids; the opening price with one; otherwise the second-highest maximum plus
    one increment, capped at the leader's maximum and never below the opening price.
    """
    if not maxima:
        return None
    floor = opening_price(reserve)
    if len(maxima) == 1:
        return floor
    leader, second = maxima[0], maxima[1]
    return min(leader, max(floor, second + increment_for(second))).quantize(USDC_QUANTUM)


def reserve_met(*, reserve: Decimal, price: Decimal | None) -> bool:
    """The one "reserve met" rule (model, API, pages, pushes): the price has reached the reserve."""
    return price is not None and price >= reserve


def minimum_bid(*, reserve: Decimal, price: Decimal | None) -> Decimal:
    """The least maximum a buyer who is not leading may state now."""
    if price is None:
        return opening_price(reserve)
    return (price + increment_for(price)).quantize(USDC_QUANTUM)
