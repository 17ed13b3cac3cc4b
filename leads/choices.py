from django.db import models


class LeadSource(models.TextChoices):
    API = "api", "API"
    FORM = "form", "Hosted form"
    CSV = "csv", "CSV import"
    WEBHOOK = "webhook", "Ad-platform webhook"


class LeadStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    REJECTED = "rejected", "Rejected"
    SCORED = "scored", "Scored"
    LISTED = "listed", "Listed"
    SOLD = "sold", "Sold"
    UNSOLD = "unsold", "Unsold"
    EXPIRED = "expired", "Expired"
    RETURNED = "returned", "Returned (refunded to its buyer)"


ACCEPTED_STATUSES = (
    LeadStatus.RECEIVED,
    LeadStatus.SCORED,
    LeadStatus.LISTED,
    LeadStatus.SOLD,
    LeadStatus.UNSOLD,
    LeadStatus.EXPIRED,
    LeadStatus.RETURNED,
)

# Which status may follow which (a lead never goes back to "received").
TRANSITIONS = {
    LeadStatus.RECEIVED: {LeadStatus.SCORED, LeadStatus.REJECTED},
    LeadStatus.SCORED: {LeadStatus.LISTED, LeadStatus.REJECTED, LeadStatus.SCORED},
    LeadStatus.LISTED: {LeadStatus.SOLD, LeadStatus.UNSOLD},
    LeadStatus.UNSOLD: {LeadStatus.LISTED, LeadStatus.SOLD, LeadStatus.EXPIRED},
    LeadStatus.SOLD: {LeadStatus.SCORED, LeadStatus.RETURNED},  # a dispute re-score keeps it sold
    # A fully refunded lead is offered again only as a new, returned lead (lead_relist_returned).
    LeadStatus.RETURNED: set(),
    LeadStatus.EXPIRED: {LeadStatus.LISTED},
    LeadStatus.REJECTED: set(),
}


class RejectionReason(models.TextChoices):
    INVALID = "invalid", "Failed validation"
    DUPLICATE = "duplicate", "Duplicate"
    LOW_QUALITY = "low_quality", "Below the vertical's quality floor"
    CONSENT = "consent", "Consent missing or stale"


class CsvImportStatus(models.TextChoices):
    UPLOADED = "uploaded", "Uploaded"
    MAPPED = "mapped", "Columns mapped"
    IMPORTING = "importing", "Importing"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class PiiReaderRole(models.TextChoices):
    """Who read a lead's contact details (leads.models.PiiAccess)."""

    SELLER = "seller", "Seller (own lead)"
    BUYER = "buyer", "Buyer"
    NFT_OWNER = "nft_owner", "LeadNFT owner (after a resale)"


class PiiChannel(models.TextChoices):
    PAGE = "page", "Page"
    API = "api", "API"
    # A purchase delivered into the buyer's systems (integrations: webhook, email, CRM).
    PUSH = "push", "Delivery (webhook, email, CRM)"


class DisputeOutcomeForReputation(models.TextChoices):
    """How a decided dispute counts in its seller's reputation (leads.reputation): the escrow app
    maps its dispute decisions onto these."""

    REFUND_FULL = "refund_full", "Upheld: full refund"
    REFUND_PARTIAL = "refund_partial", "Upheld: partial refund"
    DISMISSED = "dismissed", "Dismissed"


class SellerReputationLevel(models.TextChoices):
    """The label buyers see beside a seller's reputation score (docs/scoring.md)."""

    NEW = "new", "New seller"
    TRUSTED = "trusted", "Trusted"
    GOOD = "good", "Good"
    FAIR = "fair", "Fair"
    POOR = "poor", "Frequent returns"


class AdPlatform(models.TextChoices):
    """Ad platforms whose lead forms deliver leads by webhook (leads.adplatforms)."""

    GOOGLE = "google", "Google Ads lead form"
    META = "meta", "Meta Lead Ads"


class AdEventStatus(models.TextChoices):
    """What became of one delivery of an ad platform's webhook (leads.models.AdLeadEvent)."""

    RECEIVED = "received", "Received, not processed yet"
    PROCESSED = "processed", "Processed"
    FAILED = "failed", "Failed (can be replayed)"
    REJECTED = "rejected", "Refused at the door"
    IGNORED_TEST = "ignored_test", "Test lead (not turned into a lead)"
