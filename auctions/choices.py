from django.db import models


class AuctionStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class AuctionResult(models.TextChoices):
    SOLD = "sold", "Sold"
    UNSOLD = "unsold", "Unsold (no bid at or above reserve)"


class BidSource(models.TextChoices):
    WEB = "web", "Web page"
    API = "api", "API"
    AUTOBID = "autobid", "Autobid rule"
    ADMIN = "admin", "Admin"


class BidderStatus(models.TextChoices):
    """A caller's standing in one auction, as the API reports it."""

    NONE = "none", "No bid"
    LEADING = "leading", "Leading"
    OUTBID = "outbid", "Outbid"
    WON = "won", "Won"
    LOST = "lost", "Lost"


class BuyNowStatus(models.TextChoices):
    OPEN = "open", "Open"
    SOLD = "sold", "Sold"
    EXPIRED = "expired", "Expired"


class BountyStatus(models.TextChoices):
    """A bounty pays only while active; paused keeps its pool; closed has given its pool back."""

    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    CLOSED = "closed", "Closed"


class DispositionStatus(models.TextChoices):
    """What became of a purchased lead, as its buyer reports it (auctions.services.dispositions).
    CONTACTED_STATUSES reached the consumer; no answer and bad did not."""

    CONTACTED = "contacted", "Contacted"
    NO_ANSWER = "no_answer", "No answer"
    APPOINTMENT = "appointment", "Appointment"
    QUOTED = "quoted", "Quoted"
    SOLD = "sold", "Sold"
    BAD = "bad", "Bad lead"


CONTACTED_STATUSES = frozenset(
    {DispositionStatus.CONTACTED, DispositionStatus.APPOINTMENT, DispositionStatus.QUOTED, DispositionStatus.SOLD}
)


class DispositionChannel(models.TextChoices):
    """Where a disposition was set."""

    PAGE = "page", "My purchases"
    API = "api", "API"
    CSV = "csv", "CSV upload"
    WEBHOOK = "webhook", "CRM webhook"
