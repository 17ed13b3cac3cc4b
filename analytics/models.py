"""Rollups: the marketplace's facts summed per hour, so a dashboard reads a few thousand rows
instead of scanning a million leads (analytics/rollups.py keeps them; docs/analytics.md).

Two tables, each keyed by an hour (UTC) and the dimensions a dashboard groups by:
- SellerHour: the leads a seller received in that hour (a cohort) and everything that became of
  them since: accepted, rejected by reason, scored, listed, sold, bought now, unsold, returned,
  revenue, bounties, fees, disputes and refunds, the buyers' dispositions.
- BuyerHour: what a buyer did in that hour: auctions entered, auctions won and leads bought now
  (at the sale's time), spend, and what became of those purchases.
A row is a pure function of the facts in its hour: recomputing it any number of times gives the
same row, which is what makes the incremental refresh equal to a rebuild.
"""

from django.conf import settings
from django.db import models

from core.money import usdc_field


def _usdc():
    return usdc_field(default=0)


def _count():
    return models.PositiveIntegerField(default=0)


class OutcomeMeasures(models.Model):
    """What became of sold leads: disputes, refunds and the buyers' dispositions (both tables)."""

    disputes = _count()
    refunds = _count()  # disputes decided with a full or partial refund
    refunded_amount = _usdc()
    dispositions = _count()  # purchases with a reported outcome
    contacted = _count()  # the buyer reached the consumer (contacted, appointment, quoted, sold)
    converted = _count()  # the buyer sold to the consumer
    bad = _count()
    disposition_revenue = _usdc()  # what the buyers reported earning from their sales

    class Meta:
        abstract = True


class SellerMeasures(OutcomeMeasures):
    seller = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    vertical = models.ForeignKey("verticals.Vertical", on_delete=models.CASCADE, related_name="+")
    source = models.CharField(max_length=16)
    campaign = models.CharField(max_length=100, blank=True)

    received = _count()
    accepted = _count()
    rejected_invalid = _count()
    rejected_duplicate = _count()
    rejected_low_quality = _count()
    rejected_consent = _count()
    scored = _count()
    score_sum = models.PositiveBigIntegerField(default=0)
    listed = _count()
    sold = _count()  # by auction or buy-now, including those returned since
    bought_now = _count()
    unsold = _count()  # unsold or expired, not sold since
    returned = _count()
    revenue = _usdc()  # sale prices
    bounties = _usdc()  # bounty awards on top of the price
    platform_fee = _usdc()  # the marketplace's take on released sales
    # For the seller's lead table's cards (leads.selectors.lead_table_stats).
    status_sold = _count()  # leads whose status is sold right now (not returned, not re-scored)
    with_phone = _count()
    with_email = _count()
    with_both = _count()

    class Meta:
        abstract = True


class SellerHour(SellerMeasures):
    bucket = models.DateTimeField(help_text="The hour (UTC) the leads were received in.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["bucket", "seller", "vertical", "source", "campaign"], name="sellerhour_key_uniq"
            )
        ]
        indexes = [
            models.Index(fields=["seller", "bucket"], name="sellerhour_seller_idx"),
            models.Index(fields=["bucket"], name="sellerhour_bucket_idx"),
        ]

    def __str__(self) -> str:
        return f"Seller {self.seller_id}, {self.bucket:%Y-%m-%d %H:00} UTC: {self.received} leads"


class BuyerMeasures(OutcomeMeasures):
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    vertical = models.ForeignKey("verticals.Vertical", on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=2, blank=True)
    rule_id = models.PositiveBigIntegerField(default=0, help_text="The autobid rule that bid (0: by hand).")

    entered = _count()  # auctions the buyer bid in
    won = _count()  # auctions won
    bought_now = _count()
    spend = _usdc()

    class Meta:
        abstract = True


class BuyerHour(BuyerMeasures):
    bucket = models.DateTimeField(help_text="The hour (UTC) of the purchase or the first bid.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["bucket", "buyer", "vertical", "state", "rule_id"], name="buyerhour_key_uniq"
            )
        ]
        indexes = [models.Index(fields=["buyer", "bucket"], name="buyerhour_buyer_idx")]

    def __str__(self) -> str:
        return f"Buyer {self.buyer_id}, {self.bucket:%Y-%m-%d %H:00} UTC: {self.won + self.bought_now} purchases"


class SellerDay(SellerMeasures):
    """SellerHour summed per day in the seller's time zone (`time_zone`, as it was when the row was
    computed): what the seller's dashboard reads, a 24th of the rows. A seller who changes time
    zone reads the hours until the refresh has recomputed their days."""

    day = models.DateField()
    time_zone = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "seller", "vertical", "source", "campaign"], name="sellerday_key_uniq"
            )
        ]
        indexes = [models.Index(fields=["seller", "day"], name="sellerday_seller_idx")]

    def __str__(self) -> str:
        return f"Seller {self.seller_id}, {self.day} ({self.time_zone}): {self.received} leads"


class BuyerDay(BuyerMeasures):
    """BuyerHour summed per day in the buyer's time zone, as SellerDay."""

    day = models.DateField()
    time_zone = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "buyer", "vertical", "state", "rule_id"], name="buyerday_key_uniq")
        ]
        indexes = [models.Index(fields=["buyer", "day"], name="buyerday_buyer_idx")]

    def __str__(self) -> str:
        return f"Buyer {self.buyer_id}, {self.day} ({self.time_zone}): {self.won + self.bought_now} purchases"


class VerticalDay(models.Model):
    """The funnel per vertical and day (UTC), summed from SellerHour: the staff dashboard."""

    day = models.DateField()
    vertical = models.ForeignKey("verticals.Vertical", on_delete=models.CASCADE, related_name="+")
    received = _count()
    accepted = _count()
    rejected = _count()
    listed = _count()
    sold = _count()
    bought_now = _count()
    unsold = _count()
    returned = _count()
    revenue = _usdc()
    platform_fee = _usdc()
    disputes = _count()
    refunded_amount = _usdc()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "vertical"], name="verticalday_key_uniq")]

    def __str__(self) -> str:
        return f"Vertical {self.vertical_id}, {self.day}: {self.received} leads"


class RollupZone(models.Model):
    """The time zone a user's day rows (SellerDay, BuyerDay) were computed in: one row per user,
    so finding the users who changed zone since is a join of two small tables, not a scan of the
    day rows."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+")
    time_zone = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"User {self.user_id}: days in {self.time_zone}"


class RollupWatermark(models.Model):
    """How far the incremental refresh has read the facts (one row per rollup job)."""

    name = models.CharField(max_length=32, primary_key=True)
    through = models.DateTimeField(help_text="Facts changed before this time are in the rollups.")
    runs = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} through {self.through:%Y-%m-%d %H:%M:%S} UTC"
