from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from verticals.models import Vertical, VerticalField


class VerticalFieldSerializer(serializers.ModelSerializer):
    inherited_from = serializers.SerializerMethodField()

    class Meta:
        model = VerticalField
        fields = (
            "key",
            "label",
            "type",
            "required",
            "choices",
            "min_value",
            "max_value",
            "biddable",
            "pii",
            "help_text",
            "inherited_from",
        )

    def get_inherited_from(self, obj) -> str | None:
        source = self.context.get("inherited", {}).get(obj.pk)
        return source.slug if source else None


class VerticalSerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(
        slug_field="slug",
        read_only=True,
        allow_null=True,
        help_text="The parent vertical's slug; null for a top-level vertical.",
    )
    children_count = serializers.IntegerField(read_only=True)
    buy_now_price = serializers.DecimalField(max_digits=18, decimal_places=6, read_only=True)
    exclusive = serializers.SerializerMethodField()

    class Meta:
        model = Vertical
        fields = (
            "slug",
            "name",
            "parent",
            "status",
            "description",
            "tagline",
            "brand_color",
            "logo_url",
            "reserve_price",
            "buy_now_multiplier",
            "buy_now_price",
            "auction_duration_seconds",
            "dispute_window_hours",
            "dispute_response_hours",
            "return_rate_threshold",
            "quality_floor",
            "daily_cap_per_seller",
            "dedupe_window_days",
            "owner_address",
            "royalty_bps",
            "exclusive",
            "children_count",
            "created_at",
            "updated_at",
        )

    def get_exclusive(self, obj) -> bool:
        return bool(getattr(obj, "exclusive_count", 0))


class VerticalDetailSerializer(VerticalSerializer):
    field_schema = serializers.SerializerMethodField()

    class Meta(VerticalSerializer.Meta):
        fields = (*VerticalSerializer.Meta.fields, "field_schema")

    @extend_schema_field(VerticalFieldSerializer(many=True))
    def get_field_schema(self, obj):
        effective = self.context["effective_fields"]
        inherited = {ef.field.pk: ef.inherited_from for ef in effective}
        return VerticalFieldSerializer([ef.field for ef in effective], many=True, context={"inherited": inherited}).data
