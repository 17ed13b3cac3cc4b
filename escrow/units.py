"""USDC amounts between the ledger (Decimal, 6 places) and the contracts (integer base units)."""

from decimal import Decimal

USDC_UNITS = Decimal(10) ** 6
QUANTUM = Decimal("0.000001")


def to_units(amount: Decimal) -> int:
    """USDC Decimal (6 places) → integer base units for the contracts."""
    return int((amount * USDC_UNITS).to_integral_value())


def from_units(units: int) -> Decimal:
    """Integer base units → USDC Decimal with 6 places."""
    return (Decimal(units) / USDC_UNITS).quantize(QUANTUM)
