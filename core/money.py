"""USDC as the whole platform keeps it: Decimal with 6 places, never float. Every amount field
(ledger, auctions, escrow, the API) is built from these."""

from django.db import models

USDC_MAX_DIGITS = 20
USDC_DECIMAL_PLACES = 6


def usdc_field(**kwargs) -> models.DecimalField:
    """A model field for a USDC amount."""
    return models.DecimalField(max_digits=USDC_MAX_DIGITS, decimal_places=USDC_DECIMAL_PLACES, **kwargs)
