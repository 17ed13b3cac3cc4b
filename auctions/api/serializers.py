"""Serializers for asks and the marketplace API. USDC amounts are strings with 6 decimals."""

import re

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from auctions.choices import AuctionResult, AuctionStatus, BidderStatus
from auctions.models import MAX_DURATION_SECONDS, MIN_DURATION_SECONDS, Ask, Auction
from auctions.selectors.auctions import auction_time_left
from core.api.fields import StrictBooleanField, StrictIntegerField
from core.api.money import UsdcField
from leads.api.serializers import SellerReputationSerializer
from leads.seller_reputation import seller_reputation_of
from leads.validation import US_STATES
from verticals.api.fields import VerticalSlugField


def usdc(**kwargs) -> UsdcField:
    # A decimal string: JSON numbers are floats to most clients, and USDC must not be.
    return UsdcField(**kwargs)


MULTIPLIER_PATTERN = r"^[1-9][0-9]{0,2}(?:\.[0-9]{1,3})?$"


@extend_schema_field({"type": "string", "format": "decimal", "pattern": MULTIPLIER_PATTERN, "example": "1.25"})
class MultiplierField(serializers.DecimalField):
    """A buy-now multiplier as a decimal string from 1 to 999.999 ("1.25"); the schema's pattern is
    the check."""

    default_error_messages = {"invalid": 'A multiplier from 1 to 999.999 as a decimal string such as "1.25".'}

    def __init__(self, **kwargs):
        super().__init__(max_digits=6, decimal_places=3, coerce_to_string=True, **kwargs)

    def validate_empty_values(self, data):
        return serializers.Field.validate_empty_values(self, data)  # "" is not null

    def to_internal_value(self, data):
        if not isinstance(data, str) or not re.fullmatch(MULTIPLIER_PATTERN, data):
            self.fail("invalid")
        return super().to_internal_value(data)


class AskSerializer(serializers.ModelSerializer):
    # A buy-now price or a multiplier, not both (null leaves either unset).
    openapi_extra = {
        "not": {
            "required": ["buy_now_price", "buy_now_multiplier"],
            "properties": {"buy_now_price": {"type": "string"}, "buy_now_multiplier": {"type": "string"}},
        }
    }

    vertical = VerticalSlugField()
    states = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(US_STATES)),
        required=False,
        max_length=60,
        help_text="Two-letter US states; empty or omitted = all states.",
    )
    reserve_price = usdc(required=False, allow_null=True, help_text="USDC; null = the vertical's reserve.")
    buy_now_price = usdc(
        required=False,
        allow_null=True,
        help_text="USDC, at least the reserve; null = reserve × multiplier. Not with a multiplier.",
    )
    buy_now_multiplier = MultiplierField(
        required=False, allow_null=True, help_text="1 to 999.999; null = the vertical's. Not with a buy-now price."
    )
    duration_seconds = StrictIntegerField(
        required=False,
        allow_null=True,
        min_value=MIN_DURATION_SECONDS,
        max_value=MAX_DURATION_SECONDS,
        help_text="30 to 86400; null = the vertical's duration.",
    )
    auto_list = StrictBooleanField(required=False, help_text="List scored leads automatically (default true).")
    active = StrictBooleanField(required=False, help_text="Inactive asks list nothing (default true).")

    class Meta:
        model = Ask
        fields = (
            "id",
            "vertical",
            "states",
            "reserve_price",
            "buy_now_price",
            "buy_now_multiplier",
            "duration_seconds",
            "auto_list",
            "active",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("id", "created_at", "updated_at")
        # Uniqueness is the service's rule (with a clear message), not DRF's generic one.
        validators: list = []


class AuctionSerializer(serializers.ModelSerializer):
    """An auction as every signed-in user sees it (no PII: geo, score and biddable fields only)."""

    vertical = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    lead_id = serializers.IntegerField(read_only=True)
    state = serializers.CharField(source="lead.state", read_only=True)
    zip3 = serializers.SerializerMethodField()
    quality_score = serializers.IntegerField(source="lead.quality_score", read_only=True)
    reserve_price = usdc(read_only=True)
    buy_now_price = usdc(read_only=True)
    price = usdc(read_only=True, allow_null=True, help_text="The visible price; null until the first bid.")
    reserve_met = serializers.BooleanField(read_only=True, help_text="The price has reached the reserve.")
    time_left = serializers.SerializerMethodField(help_text="Seconds until the deadline (0 once closed).")
    status = serializers.ChoiceField(choices=AuctionStatus.choices, read_only=True)
    result = serializers.ChoiceField(
        choices=AuctionResult.choices,
        allow_blank=True,
        read_only=True,
        help_text="sold or unsold once closed; empty while open.",
    )
    seller_reputation = serializers.SerializerMethodField(
        help_text="The seller's reputation in this vertical (score, label, sales, return rate); never who they are."
    )
    returned = serializers.SerializerMethodField(
        help_text="A returned lead: an earlier buyer disputed it and was refunded in full (docs/disputes.md)."
    )

    class Meta:
        model = Auction
        fields = (
            "id",
            "lead_id",
            "vertical",
            "state",
            "zip3",
            "quality_score",
            "status",
            "result",
            "reserve_price",
            "buy_now_price",
            "price",
            "reserve_met",
            "bid_count",
            "bidder_count",
            "opened_at",
            "deadline",
            "extensions",
            "closed_at",
            "time_left",
            "seller_reputation",
            "returned",
        )
        read_only_fields = fields

    @extend_schema_field(SellerReputationSerializer)
    def get_seller_reputation(self, auction) -> dict:
        return SellerReputationSerializer(seller_reputation_of(auction)).data

    def get_returned(self, auction) -> bool:
        return auction.lead.returned_at is not None

    def get_zip3(self, auction) -> str:
        return auction.lead.zip[:3]

    def get_time_left(self, auction) -> float:
        return round(auction_time_left(auction=auction, now=self.context.get("now")), 3)


class AuctionDetailSerializer(AuctionSerializer):
    my_max = usdc(read_only=True, allow_null=True, source="view.my_max")
    my_status = serializers.ChoiceField(choices=BidderStatus.choices, read_only=True, source="view.my_status")
    my_ref = serializers.CharField(
        read_only=True, source="view.my_ref", help_text="Your pseudonym in this auction's bid log."
    )
    minimum_bid = usdc(
        read_only=True, allow_null=True, source="view.minimum_bid", help_text="The least maximum you may state now."
    )
    fields_preview = serializers.SerializerMethodField()

    class Meta(AuctionSerializer.Meta):
        fields = (*AuctionSerializer.Meta.fields, "my_max", "my_status", "my_ref", "minimum_bid", "fields_preview")
        read_only_fields = fields

    def get_fields_preview(self, auction) -> dict:
        return self.context.get("preview", {})


class BidInputSerializer(serializers.Serializer):
    max_amount = usdc(positive=True, help_text='Your maximum in USDC, as a string: "12.50".')


class BidLogEntrySerializer(serializers.Serializer):
    auction = serializers.IntegerField()
    sequence = serializers.IntegerField()
    bidder = serializers.CharField()
    max_amount = serializers.CharField()
    price = serializers.CharField()
    leader = serializers.CharField()
    at = serializers.CharField()
    prev_hash = serializers.CharField()
    hash = serializers.CharField()


class BidLogSerializer(serializers.Serializer):
    auction = serializers.IntegerField()
    status = serializers.CharField()
    head = serializers.CharField()
    length = serializers.IntegerField()
    sale_digest = serializers.CharField(allow_null=True)
    published = serializers.BooleanField(help_text="False while the auction is open: entries reveal maxima.")
    entries = BidLogEntrySerializer(many=True, allow_null=True)
