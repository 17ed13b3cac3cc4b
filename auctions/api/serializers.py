"""Serializers for asks and the marketplace API. USDC amounts are strings with 6 decimals."""

from rest_framework import serializers

from auctions.choices import AuctionStatus, BidderStatus
from auctions.models import MAX_DURATION_SECONDS, MIN_DURATION_SECONDS, Ask, Auction
from marketplace.ledger_models import USDC_DECIMAL_PLACES, USDC_MAX_DIGITS
from verticals.api.fields import VerticalSlugField


def usdc(**kwargs) -> serializers.DecimalField:
    # coerce_to_string: JSON numbers are floats to most clients, and USDC must not be.
    return serializers.DecimalField(max_digits=USDC_MAX_DIGITS, decimal_places=USDC_DECIMAL_PLACES,
                                    coerce_to_string=True, **kwargs)


class AskSerializer(serializers.ModelSerializer):
    vertical = VerticalSlugField()
    states = serializers.ListField(child=serializers.CharField(max_length=2, min_length=2), required=False,
                                   max_length=60, help_text="Two-letter US states; empty or omitted = all states.")
    reserve_price = usdc(required=False, allow_null=True, min_value=0,
                         help_text="USDC; null = the vertical's reserve.")
    buy_now_price = usdc(required=False, allow_null=True, min_value=0,
                         help_text="USDC; null = reserve × multiplier.")
    buy_now_multiplier = serializers.DecimalField(max_digits=6, decimal_places=3, required=False, allow_null=True,
                                                  min_value=1, coerce_to_string=True)
    duration_seconds = serializers.IntegerField(required=False, allow_null=True, min_value=MIN_DURATION_SECONDS,
                                                max_value=MAX_DURATION_SECONDS,
                                                help_text="30 to 86400; null = the vertical's duration.")

    class Meta:
        model = Ask
        fields = ("id", "vertical", "states", "reserve_price", "buy_now_price", "buy_now_multiplier",
                  "duration_seconds", "auto_list", "active", "created_at", "updated_at")
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
    reserve_met = serializers.SerializerMethodField()
    time_left = serializers.SerializerMethodField(help_text="Seconds until the deadline (0 once closed).")
    status = serializers.ChoiceField(choices=AuctionStatus.choices, read_only=True)

    class Meta:
        model = Auction
        fields = ("id", "lead_id", "vertical", "state", "zip3", "quality_score", "status", "result", "reserve_price",
                  "buy_now_price", "price", "reserve_met", "bid_count", "bidder_count", "opened_at", "deadline",
                  "extensions", "closed_at", "time_left")
        read_only_fields = fields

    def get_zip3(self, auction) -> str:
        return auction.lead.zip[:3]

    def get_reserve_met(self, auction) -> bool:
        return auction.price is not None and auction.price >= auction.reserve_price

    def get_time_left(self, auction) -> float:
        from auctions.selectors import auction_time_left

        return round(auction_time_left(auction=auction, now=self.context.get("now")), 3)


class AuctionDetailSerializer(AuctionSerializer):
    my_max = usdc(read_only=True, allow_null=True, source="view.my_max")
    my_status = serializers.ChoiceField(choices=BidderStatus.choices, read_only=True, source="view.my_status")
    my_ref = serializers.CharField(read_only=True, source="view.my_ref",
                                   help_text="Your pseudonym in this auction's bid log.")
    minimum_bid = usdc(read_only=True, allow_null=True, source="view.minimum_bid",
                       help_text="The least maximum you may state now.")
    fields_preview = serializers.SerializerMethodField()

    class Meta(AuctionSerializer.Meta):
        fields = (*AuctionSerializer.Meta.fields, "my_max", "my_status", "my_ref", "minimum_bid", "fields_preview")
        read_only_fields = fields

    def get_fields_preview(self, auction) -> dict:
        return self.context.get("preview", {})


class BidInputSerializer(serializers.Serializer):
    max_amount = usdc(min_value=0, help_text='Your maximum in USDC, as a string: "12.50".')


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
