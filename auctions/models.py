"""Asks (a seller's listing policy), auctions, the standing maximum of each bidder, the bid log
(one append-only, hash-chained row per accepted bid) and sales.

Money is USDC: Decimal with 6 places, never float. See docs/auctions.md.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from auctions.bidlog import GENESIS_HASH
from auctions.choices import AuctionResult, AuctionStatus, BidSource, BuyNowStatus
from auctions.pricing import reserve_met
from core.money import usdc_field as _usdc

MIN_DURATION_SECONDS = 30
MAX_DURATION_SECONDS = 24 * 3600


class Ask(models.Model):
    """A seller's listing policy for one vertical, optionally limited to some US states.

    `states` is a sorted list of two-letter codes; empty means every state. Blank prices and
    duration fall back to the vertical's defaults (auctions.selectors.auctions.ask_terms_for_lead).
    """

    seller = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="asks")
    vertical = models.ForeignKey("verticals.Vertical", on_delete=models.CASCADE, related_name="asks")
    states = models.JSONField(default=list, blank=True, help_text="Two-letter US states; empty = all states.")
    reserve_price = _usdc(
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="USDC; blank = the vertical's reserve.",
    )
    buy_now_price = _usdc(
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="USDC; blank = reserve × multiplier.",
    )
    buy_now_multiplier = models.DecimalField(
        max_digits=6,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("1"))],
        help_text="Blank = the vertical's multiplier.",
    )
    duration_seconds = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(MIN_DURATION_SECONDS), MaxValueValidator(MAX_DURATION_SECONDS)],
        help_text="30 s to 24 h; blank = the vertical's duration.",
    )
    auto_list = models.BooleanField(default=True, help_text="Open an auction as soon as a lead is scored.")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["vertical_id", "id"]
        indexes = [
            models.Index(fields=["seller", "vertical", "active"], name="ask_seller_vertical_idx"),
            models.Index(fields=["seller", "created_at", "id"], name="ask_seller_created_idx"),
        ]
        constraints = [
            # One active policy per (seller, vertical, exact state set): matching stays unambiguous.
            models.UniqueConstraint(
                fields=["seller", "vertical", "states"],
                condition=Q(active=True),
                name="ask_active_seller_vertical_states_uniq",
            ),
            models.CheckConstraint(
                condition=Q(reserve_price__isnull=True) | Q(reserve_price__gte=0), name="ask_reserve_nonnegative"
            ),
            models.CheckConstraint(
                condition=Q(buy_now_multiplier__isnull=True) | Q(buy_now_multiplier__gte=1), name="ask_multiplier_min"
            ),
            models.CheckConstraint(
                condition=Q(duration_seconds__isnull=True)
                | Q(duration_seconds__gte=MIN_DURATION_SECONDS, duration_seconds__lte=MAX_DURATION_SECONDS),
                name="ask_duration_range",
            ),
        ]

    def __str__(self) -> str:
        where = ",".join(self.states) if self.states else "all states"
        return f"Ask {self.pk}: {self.vertical_id} · {where}"


class Auction(models.Model):
    """One ascending proxy auction of one lead (at most one per lead)."""

    lead = models.OneToOneField("leads.Lead", on_delete=models.PROTECT, related_name="auction")
    vertical = models.ForeignKey("verticals.Vertical", on_delete=models.PROTECT, related_name="auctions")
    seller = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="auctions_selling")
    ask = models.ForeignKey(Ask, null=True, blank=True, on_delete=models.SET_NULL, related_name="auctions")
    status = models.CharField(max_length=8, choices=AuctionStatus.choices, default=AuctionStatus.OPEN)
    result = models.CharField(max_length=8, choices=AuctionResult.choices, blank=True)

    reserve_price = _usdc(validators=[MinValueValidator(Decimal("0"))])
    buy_now_price = _usdc(validators=[MinValueValidator(Decimal("0"))])
    duration_seconds = models.PositiveIntegerField()
    opened_at = models.DateTimeField(default=timezone.now)
    deadline = models.DateTimeField()
    extensions = models.PositiveSmallIntegerField(default=0)
    closed_at = models.DateTimeField(null=True, blank=True)

    # Kept in step by bid_place under the auction's row lock.
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    price = _usdc(null=True, blank=True, help_text="The visible price (null until the first bid).")
    bid_count = models.PositiveIntegerField(default=0)
    bidder_count = models.PositiveIntegerField(default=0)
    # Bid log: a per-auction salt for bidder pseudonyms and the chain's running head.
    log_salt = models.CharField(max_length=32)
    log_head = models.CharField(max_length=64, default=GENESIS_HASH)

    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["created_at", "id"], name="auction_created_idx"),
            # The sweep: open auctions past their deadline.
            models.Index(fields=["deadline"], condition=Q(status="open"), name="auction_open_deadline_idx"),
            models.Index(fields=["vertical", "status", "deadline"], name="auction_vertical_status_idx"),
            models.Index(fields=["status", "closed_at"], name="auction_status_closed_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(reserve_price__gte=0), name="auction_reserve_nonnegative"),
            models.CheckConstraint(
                condition=Q(status="open", closed_at__isnull=True) | Q(status="closed", closed_at__isnull=False),
                name="auction_closed_at_iff_closed",
            ),
            models.CheckConstraint(
                condition=Q(price__isnull=True) | Q(price__gte=models.F("reserve_price")),
                name="auction_price_at_least_reserve",
            ),
        ]

    def __str__(self) -> str:
        return f"Auction {self.pk} (lead {self.lead_id}, {self.status})"

    @property
    def is_open(self) -> bool:
        return self.status == AuctionStatus.OPEN

    @property
    def reserve_met(self) -> bool:
        return reserve_met(reserve=self.reserve_price, price=self.price)


class AuctionBidder(models.Model):
    """A buyer's standing maximum in one auction and what the ledger holds for it."""

    auction = models.ForeignKey(Auction, on_delete=models.PROTECT, related_name="bidders")
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="auction_bids")
    max_amount = _usdc()
    held_amount = _usdc(default=Decimal("0"))
    # The bid-log sequence at which this maximum was set: the earlier maximum wins a tie.
    max_sequence = models.PositiveIntegerField()
    bidder_ref = models.CharField(max_length=32)
    released_at = models.DateTimeField(null=True, blank=True)
    # Set when the maximum was withdrawn before the close because the money behind it left the
    # vault (an exit on chain; escrow/services/exits.py): the bidder no longer ranks, a new bid re-enters.
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["auction", "buyer"], name="auctionbidder_auction_buyer_uniq"),
            models.CheckConstraint(condition=Q(max_amount__gt=0), name="auctionbidder_max_positive"),
            models.CheckConstraint(condition=Q(held_amount__gte=0), name="auctionbidder_held_nonnegative"),
        ]
        indexes = [
            models.Index(fields=["auction", "-max_amount", "max_sequence"], name="auctionbidder_rank_idx"),
            models.Index(fields=["buyer", "updated_at"], name="auctionbidder_buyer_idx"),
            models.Index(fields=["created_at"], name="auctionbidder_created_idx"),  # analytics refresh
        ]

    def __str__(self) -> str:
        return f"{self.buyer_id} max {self.max_amount} on auction {self.auction_id}"


class Bid(models.Model):
    """One accepted bid and its bid-log entry. Append-only: the database refuses UPDATE and
    DELETE (a trigger, PostgreSQL), and each entry hashes the one before it."""

    auction = models.ForeignKey(Auction, on_delete=models.PROTECT, related_name="bids")
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bids")
    source = models.CharField(max_length=8, choices=BidSource.choices)
    sequence = models.PositiveIntegerField(help_text="1, 2, 3 … within the auction.")
    bidder_ref = models.CharField(max_length=32, help_text="Salted pseudonym of the buyer (per auction).")
    max_amount = _usdc()
    previous_max = _usdc(default=Decimal("0"))
    price = _usdc(help_text="The visible price right after this bid.")
    leader_ref = models.CharField(max_length=32)
    created_at = models.DateTimeField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["auction_id", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["auction", "sequence"], name="bid_auction_sequence_uniq"),
            models.CheckConstraint(condition=Q(max_amount__gt=models.F("previous_max")), name="bid_raises_maximum"),
        ]
        indexes = [models.Index(fields=["buyer", "created_at"], name="bid_buyer_created_idx")]

    def __str__(self) -> str:
        return f"Bid #{self.sequence} on auction {self.auction_id}"

    @property
    def hold_amount(self) -> Decimal:
        return self.max_amount - self.previous_max


class Sale(models.Model):
    """A won auction, recorded for settlement: the price sits in `escrow_account`."""

    auction = models.OneToOneField(Auction, on_delete=models.PROTECT, related_name="sale")
    lead = models.OneToOneField("leads.Lead", on_delete=models.PROTECT, related_name="sale")
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="purchases")
    seller = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sales")
    price = _usdc()
    escrow_account = models.ForeignKey("ledger.LedgerAccount", on_delete=models.PROTECT, related_name="+")
    bid_log_digest = models.CharField(max_length=64)
    bid_log_length = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["buyer", "created_at", "id"], name="sale_buyer_created_idx"),
            models.Index(fields=["seller", "created_at", "id"], name="sale_seller_created_idx"),
            models.Index(fields=["created_at"], name="sale_created_idx"),  # analytics refresh
        ]
        constraints = [models.CheckConstraint(condition=Q(price__gt=0), name="sale_price_positive")]

    def __str__(self) -> str:
        return f"Sale {self.pk}: lead {self.lead_id} for {self.price} USDC"


class BuyNowListing(models.Model):
    """A lead whose auction ended without a valid bid, offered at a fixed price to the first buyer
    until `expires_at` (auctions.services.buynow). One per lead."""

    auction = models.OneToOneField(Auction, on_delete=models.PROTECT, related_name="buy_now_listing")
    lead = models.OneToOneField("leads.Lead", on_delete=models.PROTECT, related_name="buy_now_listing")
    seller = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="buy_now_selling")
    price = _usdc()
    opens_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    status = models.CharField(max_length=8, choices=BuyNowStatus.choices, default=BuyNowStatus.OPEN)
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="buy_now_purchases"
    )
    sold_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["created_at", "id"], name="buynow_created_idx"),
            # The expiry sweep: open listings past their expiry.
            models.Index(fields=["expires_at"], condition=Q(status="open"), name="buynow_open_expires_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0), name="buynow_price_positive"),
            models.CheckConstraint(condition=Q(expires_at__gt=models.F("opens_at")), name="buynow_expires_after_open"),
            models.CheckConstraint(
                condition=Q(status="sold", buyer__isnull=False, sold_at__isnull=False)
                | (~Q(status="sold") & Q(buyer__isnull=True, sold_at__isnull=True)),
                name="buynow_buyer_iff_sold",
            ),
        ]

    def __str__(self) -> str:
        return f"Buy-now {self.pk}: lead {self.lead_id} at {self.price} USDC ({self.status})"


class AutobidRule(models.Model):
    """A buyer's standing instruction: bid up to `max_bid` on every lead that matches, within a
    daily budget and lead cap (auctions.services.autobid). Definitions are checked by
    auctions.services.autobid.check_autobid_rule; `hours` is evaluated in the buyer's time zone."""

    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="autobid_rules")
    name = models.CharField(max_length=100)
    vertical = models.ForeignKey(
        "verticals.Vertical",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="autobid_rules",
        help_text="Blank = every vertical.",
    )
    states = models.JSONField(default=list, blank=True, help_text="Two-letter US states; empty = all states.")
    zips_include = models.JSONField(default=list, blank=True, help_text="5-digit ZIPs or 3-digit ZIP3 prefixes.")
    zips_exclude = models.JSONField(default=list, blank=True, help_text="5-digit ZIPs or 3-digit ZIP3 prefixes.")
    field_filters = models.JSONField(default=list, blank=True, help_text='[{"field", "op", "value"}, …]')
    min_score = models.PositiveSmallIntegerField(null=True, blank=True)
    max_bid = _usdc(help_text="The proxy maximum placed on each matching lead, USDC.")
    daily_budget = _usdc(help_text="USDC committed (as maxima) per day in the buyer's time zone.")
    daily_lead_cap = models.PositiveIntegerField()
    hours = models.JSONField(
        default=dict,
        blank=True,
        help_text='{"days": [0..6 (Monday = 0)], "start": "HH:MM", "end": "HH:MM"}; empty = always.',
    )
    priority = models.IntegerField(default=0, help_text="Higher runs first.")
    paused = models.BooleanField(default=False)
    # Tuned by outcomes (auctions.services.autobid_tuning, docs/autobid.md): the suggestion is
    # value per lead × target_margin; auto-tune (opt-in) moves max_bid to it within the bounds.
    target_margin = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.5"),
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("1"))],
        help_text="Share of a lead's value you are willing to bid (0.01–1).",
    )
    auto_tune = models.BooleanField(default=False, help_text="Let the daily auto-tune move the maximum bid.")
    tune_min_bid = _usdc(null=True, blank=True, help_text="Auto-tune never sets the maximum below this.")
    tune_max_bid = _usdc(null=True, blank=True, help_text="Auto-tune never sets the maximum above this.")
    last_tuned_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-priority", "id"]
        indexes = [
            models.Index(fields=["paused", "vertical"], name="autobidrule_active_idx"),
            models.Index(fields=["buyer", "-priority", "id"], name="autobidrule_buyer_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(max_bid__gt=0), name="autobidrule_max_bid_positive"),
            models.CheckConstraint(condition=Q(daily_budget__gte=0), name="autobidrule_budget_nonnegative"),
            models.CheckConstraint(
                condition=Q(min_score__isnull=True) | Q(min_score__lte=100), name="autobidrule_min_score_range"
            ),
            models.CheckConstraint(
                condition=Q(target_margin__gt=0, target_margin__lte=1), name="autobidrule_margin_range"
            ),
            # Auto-tune needs both bounds, positive and in order.
            models.CheckConstraint(
                condition=Q(auto_tune=False) | Q(tune_min_bid__gt=0, tune_max_bid__gte=models.F("tune_min_bid")),
                name="autobidrule_tune_bounds",
            ),
        ]

    def __str__(self) -> str:
        return f"Autobid rule {self.pk}: {self.name}"


class AutobidUsage(models.Model):
    """What one rule has committed on one day (the buyer's local date): the sum of the maxima it
    placed and the number of leads. Updated only by a conditional UPDATE (never overspent)."""

    rule = models.ForeignKey(AutobidRule, on_delete=models.CASCADE, related_name="usage")
    day = models.DateField()
    spent = _usdc(default=Decimal("0"))
    leads = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "day"], name="autobidusage_rule_day_uniq"),
            models.CheckConstraint(condition=Q(spent__gte=0), name="autobidusage_spent_nonnegative"),
        ]

    def __str__(self) -> str:
        return f"Rule {self.rule_id} on {self.day}: {self.spent} USDC, {self.leads} leads"


class AutobidTrace(models.Model):
    """Why one rule did or did not bid on one auction: one reason per check, then the outcome."""

    rule = models.ForeignKey(AutobidRule, on_delete=models.CASCADE, related_name="traces")
    auction = models.ForeignKey(Auction, on_delete=models.CASCADE, related_name="autobid_traces")
    matched = models.BooleanField()
    bid = models.ForeignKey(
        Bid, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", help_text="The bid placed, if any."
    )
    reasons = models.JSONField(default=list)
    budget_day = models.DateField(
        null=True, blank=True, help_text="The buyer-local day whose budget and cap the bid consumed."
    )
    settled_at = models.DateTimeField(
        null=True, blank=True, help_text="When the auction closed and the budget was trued up to the price paid."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["auction_id", "id"]
        constraints = [models.UniqueConstraint(fields=["rule", "auction"], name="autobidtrace_rule_auction_uniq")]
        indexes = [models.Index(fields=["auction", "rule"], name="autobidtrace_auction_idx")]

    def __str__(self) -> str:
        return f"Rule {self.rule_id} on auction {self.auction_id}: {'bid' if self.bid_id else 'no bid'}"

    @property
    def placed(self) -> bool:
        return self.bid_id is not None


# ---------------------------------------------------------------- bounties (auctions.services.bounties)

from auctions.choices import BountyStatus  # noqa: E402  (appended section: keeps the header untouched)

BOUNTY_MAX_LEAD_AGE_HOURS = 24 * 365


class Bounty(models.Model):
    """A buyer-funded pool paying the seller of every matching lead `amount_per_lead` on top of the
    price (auctions.services.bounties). The pool is the ledger account (bounty_pool, reference
    "bounty:<id>"): its balance is the ledger's, never a column here."""

    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bounties")
    vertical = models.ForeignKey(
        "verticals.Vertical",
        on_delete=models.PROTECT,
        related_name="bounties",
        help_text="Leads of this vertical or of its sub-verticals.",
    )
    name = models.CharField(max_length=100, help_text="Shown to you only; sellers see the criteria, not the name.")
    min_score = models.PositiveSmallIntegerField(null=True, blank=True)
    states = models.JSONField(default=list, blank=True, help_text="Two-letter US states; empty = all states.")
    field_filters = models.JSONField(default=list, blank=True, help_text='[{"field", "op", "value"}, …]')
    max_lead_age_hours = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(BOUNTY_MAX_LEAD_AGE_HOURS)],
        help_text="Lead age at sale (sale time − lead received); blank = any age.",
    )
    amount_per_lead = _usdc(help_text="USDC paid to the seller per matching sale (less if the pool runs short).")
    status = models.CharField(max_length=8, choices=BountyStatus.choices, default=BountyStatus.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The payout's lookup: active bounties of a vertical chain, oldest first.
            models.Index(
                fields=["vertical", "created_at", "id"], condition=Q(status="active"), name="bounty_active_vertical_idx"
            ),
            models.Index(fields=["buyer", "created_at", "id"], name="bounty_buyer_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount_per_lead__gt=0), name="bounty_amount_positive"),
            models.CheckConstraint(
                condition=Q(min_score__isnull=True) | Q(min_score__lte=100), name="bounty_min_score_range"
            ),
            models.CheckConstraint(
                condition=Q(max_lead_age_hours__isnull=True)
                | Q(max_lead_age_hours__gte=1, max_lead_age_hours__lte=BOUNTY_MAX_LEAD_AGE_HOURS),
                name="bounty_max_age_range",
            ),
            models.CheckConstraint(condition=Q(status__in=BountyStatus.values), name="bounty_status_valid"),
            models.CheckConstraint(
                condition=Q(status="closed", closed_at__isnull=False)
                | (~Q(status="closed") & Q(closed_at__isnull=True)),
                name="bounty_closed_at_iff_closed",
            ),
        ]

    def __str__(self) -> str:
        return f"Bounty {self.pk}: {self.name}"

    @property
    def pool_reference(self) -> str:
        return f"bounty:{self.pk}"


class BountyAward(models.Model):
    """One bounty's payout for one sale, from its pool into the sale's escrow (the seller is paid
    out of escrow at settlement). At most one per (bounty, sale)."""

    bounty = models.ForeignKey(Bounty, on_delete=models.PROTECT, related_name="awards")
    sale = models.ForeignKey(Sale, on_delete=models.PROTECT, related_name="bounty_awards")
    amount = _usdc()
    ledger_transaction = models.ForeignKey("ledger.LedgerTransaction", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["bounty", "created_at", "id"], name="bountyaward_bounty_idx"),
            models.Index(fields=["sale"], name="bountyaward_sale_idx"),
            models.Index(fields=["created_at", "id"], name="bountyaward_created_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["bounty", "sale"], name="bountyaward_bounty_sale_uniq"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="bountyaward_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"Bounty {self.bounty_id} paid {self.amount} USDC on sale {self.sale_id}"


# ---------------------------------------------------------------- dispositions (auctions.services.dispositions)

from auctions.choices import DispositionChannel, DispositionStatus  # noqa: E402

DISPOSITION_REASON_MAX = 200


class Disposition(models.Model):
    """What became of one purchase, as its reader (escrow.selectors.purchases) last reported it.
    One per sale; every change is also a DispositionChange row. Revenue only (and always) for
    sold, a reason only (and always) for bad: the database refuses anything else."""

    sale = models.OneToOneField(Sale, on_delete=models.CASCADE, related_name="disposition")
    status = models.CharField(max_length=12, choices=DispositionStatus.choices)
    revenue = _usdc(null=True, blank=True, help_text="USDC the buyer earned from the lead (sold only).")
    reason = models.CharField(max_length=DISPOSITION_REASON_MAX, blank=True, help_text="Why the lead was bad.")
    channel = models.CharField(max_length=8, choices=DispositionChannel.choices)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    version = models.PositiveIntegerField(default=1, help_text="Number of changes so far.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["set_by", "status"], name="disposition_setby_status_idx"),
            models.Index(fields=["updated_at"], name="disposition_updated_idx"),  # analytics refresh
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=DispositionStatus.values), name="disposition_status_valid"),
            models.CheckConstraint(
                condition=Q(status="sold", revenue__isnull=False, revenue__gte=0)
                | (~Q(status="sold") & Q(revenue__isnull=True)),
                name="disposition_revenue_iff_sold",
            ),
            models.CheckConstraint(
                condition=(Q(status="bad") & ~Q(reason="")) | (~Q(status="bad") & Q(reason="")),
                name="disposition_reason_iff_bad",
            ),
        ]

    def __str__(self) -> str:
        return f"Sale {self.sale_id}: {self.status}"


class DispositionChange(models.Model):
    """One change of a purchase's disposition: who, when, through which channel, from what to
    what. Append-only history; the autobid tuning reads it as of a moment (reproducible)."""

    sale = models.ForeignKey(Sale, on_delete=models.CASCADE, related_name="disposition_changes")
    from_status = models.CharField(max_length=12, choices=DispositionStatus.choices, blank=True)
    status = models.CharField(max_length=12, choices=DispositionStatus.choices)
    revenue = _usdc(null=True, blank=True)
    reason = models.CharField(max_length=DISPOSITION_REASON_MAX, blank=True)
    channel = models.CharField(max_length=8, choices=DispositionChannel.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["sale", "at", "id"], name="dispchange_sale_at_idx"),
            models.Index(fields=["by", "at"], name="dispchange_by_at_idx"),
        ]

    def __str__(self) -> str:
        return f"Sale {self.sale_id}: {self.from_status or '—'} → {self.status} ({self.channel})"


class DispositionWebhook(models.Model):
    """A buyer's inbound webhook for dispositions from their CRM: POST /hooks/dispositions/<token>/
    signed with the secret (sealed at rest, core.sealing; docs/integrations.md)."""

    buyer = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="disposition_webhook")
    token = models.CharField(max_length=32, unique=True)
    secret_sealed = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)
    rotated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Disposition webhook of {self.buyer_id}"


class DispositionWebhookEvent(models.Model):
    """One call received on a buyer's disposition webhook, whatever became of it (shown to the
    buyer). `signature` (the v1 hex of an accepted call) refuses its replay."""

    webhook = models.ForeignKey(DispositionWebhook, on_delete=models.CASCADE, related_name="events")
    received_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField()
    error_code = models.CharField(max_length=40, blank=True)
    error = models.CharField(max_length=500, blank=True)
    body_bytes = models.PositiveIntegerField(default=0)
    rows = models.PositiveIntegerField(default=0)
    applied = models.PositiveIntegerField(default=0)
    signature = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["webhook", "received_at", "id"], name="disphookevent_hook_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["webhook", "signature"], condition=~Q(signature=""), name="disphookevent_signature_uniq"
            )
        ]

    def __str__(self) -> str:
        return f"Webhook {self.webhook_id} call at {self.received_at:%Y-%m-%d %H:%M:%S}: {self.status_code}"


# ---------------------------------------------------------------- autobid tuning (auctions.services.autobid_tuning)


class AutobidTuning(models.Model):
    """One change of a rule's maximum by the daily auto-tune: from what to what, why, the
    evidence behind it (recomputable from the disposition history as of `created_at`), and
    whether the buyer reverted it."""

    rule = models.ForeignKey(AutobidRule, on_delete=models.CASCADE, related_name="tunings")
    old_max_bid = _usdc()
    new_max_bid = _usdc()
    reason = models.CharField(max_length=300)
    evidence = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    reverted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["rule", "created_at", "id"], name="autobidtuning_rule_idx")]

    def __str__(self) -> str:
        return f"Rule {self.rule_id}: {self.old_max_bid} → {self.new_max_bid}"
