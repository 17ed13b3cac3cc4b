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
