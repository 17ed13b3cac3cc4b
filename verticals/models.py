from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from verticals.choices import FieldType, VerticalStatus
from verticals.display import text_colour_on

hex_colour = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a hex colour such as #2563eb.")
evm_address = RegexValidator(r"^0x[0-9a-fA-F]{40}$", "Use a 0x-prefixed 20-byte hex address.")
field_key = RegexValidator(r"^[a-z][a-z0-9_]{0,63}$", "Lower-case letters, digits and _, starting with a letter.")


class Vertical(models.Model):
    """A market of leads (solar, mortgage, …) with its field schema and sale defaults."""

    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=VerticalStatus.choices, default=VerticalStatus.ACTIVE)

    # Defaults for asks, auctions, disputes, quality and caps.
    reserve_price = models.DecimalField(
        max_digits=18,
        decimal_places=6,
        default=Decimal("10"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="USDC",
    )
    buy_now_multiplier = models.DecimalField(
        max_digits=6, decimal_places=3, default=Decimal("1.2"), validators=[MinValueValidator(Decimal("1"))]
    )
    auction_duration_seconds = models.PositiveIntegerField(
        default=60, validators=[MinValueValidator(30), MaxValueValidator(86400)]
    )
    dispute_window_hours = models.PositiveIntegerField(default=48, validators=[MaxValueValidator(24 * 30)])
    dispute_response_hours = models.PositiveIntegerField(
        default=48,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 14)],
        help_text="How long a seller has to answer a dispute.",
    )
    return_rate_threshold = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.25"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text="Above this share of a buyer's purchases returned (90 days), their new disputes go to staff first.",
    )
    quality_floor = models.PositiveSmallIntegerField(default=40, validators=[MaxValueValidator(100)])
    daily_cap_per_seller = models.PositiveIntegerField(default=500)
    dedupe_window_days = models.PositiveIntegerField(default=30, validators=[MaxValueValidator(365)])

    # Branding.
    brand_color = models.CharField(max_length=7, default="#2563eb", validators=[hex_colour])
    logo_url = models.URLField(blank=True)
    tagline = models.CharField(max_length=200, blank=True)

    exclusive_buyers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="exclusive_verticals",
        help_text="When not empty, only these buyers may bid in this vertical.",
    )

    # For the VerticalNFT.
    owner_address = models.CharField(max_length=42, blank=True, validators=[evm_address])
    royalty_bps = models.PositiveSmallIntegerField(default=200, validators=[MaxValueValidator(10000)])

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]
        indexes = [
            models.Index(fields=["status", "parent"], name="vertical_status_parent_idx"),
            models.Index(fields=["created_at", "id"], name="vertical_created_id_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quality_floor__lte=100), name="vertical_quality_floor_range"),
            models.CheckConstraint(condition=Q(royalty_bps__lte=10000), name="vertical_royalty_bps_range"),
            models.CheckConstraint(condition=Q(reserve_price__gte=0), name="vertical_reserve_nonnegative"),
            models.CheckConstraint(condition=Q(buy_now_multiplier__gte=1), name="vertical_buy_now_multiplier_min"),
            models.CheckConstraint(
                condition=Q(auction_duration_seconds__gte=30, auction_duration_seconds__lte=86400),
                name="vertical_duration_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def buy_now_price(self) -> Decimal:
        return (self.reserve_price * self.buy_now_multiplier).quantize(Decimal("0.000001"))

    @property
    def brand_text_color(self) -> str:
        """The text colour that reads on brand_color (the hosted form's button)."""
        return text_colour_on(self.brand_color)


class VerticalField(models.Model):
    """One typed field of a vertical's lead schema."""

    vertical = models.ForeignKey(Vertical, on_delete=models.CASCADE, related_name="fields")
    key = models.CharField(max_length=64, validators=[field_key])
    label = models.CharField(max_length=120)
    type = models.CharField(max_length=16, choices=FieldType.choices)
    required = models.BooleanField(default=False)
    choices = models.JSONField(default=list, blank=True, help_text='A JSON list of strings, e.g. ["own", "rent"].')
    min_value = models.DecimalField(max_digits=18, decimal_places=6, null=True, blank=True)
    max_value = models.DecimalField(max_digits=18, decimal_places=6, null=True, blank=True)
    biddable = models.BooleanField(default=False, help_text="Buyers may filter and bid on it.")
    pii = models.BooleanField(default=False, help_text="Personal data: encrypted, shown only to the paying buyer.")
    help_text = models.CharField(max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["vertical", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["vertical", "key"], name="verticalfield_vertical_key_uniq"),
            models.CheckConstraint(condition=~(Q(pii=True) & Q(biddable=True)), name="verticalfield_pii_not_biddable"),
            models.CheckConstraint(
                condition=Q(min_value__isnull=True)
                | Q(max_value__isnull=True)
                | Q(min_value__lte=models.F("max_value")),
                name="verticalfield_min_le_max",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.vertical.slug}.{self.key}"
