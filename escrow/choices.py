"""Choices of the escrow app that are not a model's own state."""

from django.db import models


class ContactStatus(models.TextChoices):
    """Whether a purchase's contact details may be read now (escrow.selectors.purchases): only once
    the money arrived — the escrow deal funded on chain, or, for a sale settled in the ledger only,
    the price captured (which happens with the sale)."""

    AVAILABLE = "available", "Available"
    AWAITING_PAYMENT = "awaiting_payment", "After your payment reaches escrow"
    PAYMENT_FAILED = "payment_failed", "Locked: your payment did not reach escrow"
    REFUNDED = "refunded", "Refunded: no longer yours"


# What the buyer reads (pages) and gets as `contact_status_message` (API): the state and what
# happens next, in plain words. Empty when the details are available.
CONTACT_STATUS_MESSAGES = {
    ContactStatus.AVAILABLE: "",
    ContactStatus.AWAITING_PAYMENT: (
        "Your payment is on its way into escrow on the blockchain. The contact details appear here as "
        "soon as the escrow deal is confirmed on chain, usually within a minute."
    ),
    ContactStatus.PAYMENT_FAILED: (
        "Your payment could not be moved into escrow on the blockchain (usually because the USDC in your "
        "vault on chain was short of the price), so the contact details stay locked. Deposit USDC into the "
        "vault from your wallet page; our staff then retry the payment, and the contact details appear "
        "here once it is confirmed."
    ),
    ContactStatus.REFUNDED: (
        "This purchase was refunded: the price is going (or went) back to your available balance, and the "
        "lead's contact details are no longer yours to read."
    ),
}
