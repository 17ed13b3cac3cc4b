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


class DisputeReason(models.TextChoices):
    """Why a buyer returns a lead (the industry's return reasons)."""

    INVALID_PHONE = "invalid_phone", "Invalid or disconnected phone"
    WRONG_PERSON = "wrong_person", "Wrong person"
    DUPLICATE = "duplicate", "Duplicate (already sold to me or elsewhere here)"
    NO_CONSENT = "no_consent", "No consent / never asked to be contacted"
    NOT_AS_LISTED = "not_as_listed", "Outside what the listing showed"
    FRAUD = "fraud", "Fraud"
    OTHER = "other", "Other"


class DisputeState(models.TextChoices):
    """A dispute's life (escrow.services.disputes). Open states hold the escrow release."""

    AWAITING_SELLER = "awaiting_seller", "Waiting for the seller"
    AWAITING_BUYER = "awaiting_buyer", "Seller offered a partial refund"
    AWAITING_STAFF = "awaiting_staff", "Waiting for staff arbitration"
    DECIDED = "decided", "Decided: money moving"
    CLOSED = "closed", "Closed"


OPEN_DISPUTE_STATES = (DisputeState.AWAITING_SELLER, DisputeState.AWAITING_BUYER, DisputeState.AWAITING_STAFF)


class DisputeOutcome(models.TextChoices):
    REFUND_FULL = "refund_full", "Full refund"
    REFUND_PARTIAL = "refund_partial", "Partial refund"
    DISMISSED = "dismissed", "Dismissed"


class DisputeResponse(models.TextChoices):
    """The seller's answer."""

    ACCEPT = "accept", "Accept: refund in full"
    OFFER = "offer", "Offer a partial refund"
    CONTEST = "contest", "Contest"


class DisputeDecider(models.TextChoices):
    """Who or what decided the outcome."""

    SELLER = "seller", "The seller accepted the return"
    BUYER = "buyer", "The buyer accepted the seller's offer"
    DEADLINE = "deadline", "The seller did not answer in time: the automatic recommendation stands"
    STAFF = "staff", "Staff arbitration"


class DisputeRecommendation(models.TextChoices):
    REFUND = "refund", "Refund"
    DISMISS = "dismiss", "Dismiss"


class DisputeParty(models.TextChoices):
    BUYER = "buyer", "Buyer"
    SELLER = "seller", "Seller"


class EarningStatus(models.TextChoices):
    """Where a seller's sale stands, for their earnings (escrow.selectors.earnings_history)."""

    IN_ESCROW = "in_escrow", "In escrow"
    DISPUTED = "disputed", "Disputed: release on hold"
    PARTLY_REFUNDED = "partly_refunded", "Partly refunded"
    REFUNDED = "refunded", "Refunded"
    RELEASED = "released", "Released"
