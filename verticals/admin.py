from django.contrib import admin
from django.db.models import Count

from core.admin import ServiceCheckedModelForm
from verticals.models import Vertical, VerticalField
from verticals.services import check_field_definition, check_vertical


class VerticalForm(ServiceCheckedModelForm):
    """The service's checks apply here too (verticals.services.check_vertical)."""

    def service_check(self, instance) -> None:
        check_vertical(vertical=instance)


class VerticalFieldForm(ServiceCheckedModelForm):
    """The service's checks apply here too (verticals.services.check_field_definition)."""

    def service_check(self, instance) -> None:
        check_field_definition(
            key=instance.key,
            type=instance.type,
            choices=instance.choices,
            min_value=instance.min_value,
            max_value=instance.max_value,
            biddable=instance.biddable,
            pii=instance.pii,
        )


class VerticalFieldInline(admin.TabularInline):
    model = VerticalField
    form = VerticalFieldForm
    extra = 0
    fields = (
        "position",
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
    )
    ordering = ("position", "id")


@admin.register(Vertical)
class VerticalAdmin(admin.ModelAdmin):
    form = VerticalForm
    list_display = (
        "name",
        "slug",
        "parent",
        "status",
        "reserve_price",
        "auction_duration_seconds",
        "quality_floor",
        "daily_cap_per_seller",
        "field_count",
        "royalty_bps",
    )
    list_filter = ("status", ("parent", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name", "slug", "description")
    prepopulated_fields = {"slug": ("name",)}
    list_select_related = ("parent",)
    autocomplete_fields = ("parent",)
    filter_horizontal = ("exclusive_buyers",)
    inlines = [VerticalFieldInline]
    fieldsets = (
        (None, {"fields": ("name", "slug", "parent", "status", "description")}),
        (
            "Sale defaults",
            {
                "fields": (
                    "reserve_price",
                    "buy_now_multiplier",
                    "auction_duration_seconds",
                    "dispute_window_hours",
                    "dispute_response_hours",
                    "return_rate_threshold",
                    "quality_floor",
                    "daily_cap_per_seller",
                    "dedupe_window_days",
                )
            },
        ),
        ("Branding", {"fields": ("brand_color", "logo_url", "tagline")}),
        ("Access and ownership", {"fields": ("exclusive_buyers", "owner_address", "royalty_bps")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_field_count=Count("fields"))

    @admin.display(description="fields", ordering="_field_count")
    def field_count(self, obj):
        return obj._field_count


@admin.register(VerticalField)
class VerticalFieldAdmin(admin.ModelAdmin):
    form = VerticalFieldForm
    list_display = ("key", "label", "vertical", "type", "required", "biddable", "pii")
    list_filter = ("type", "required", "biddable", "pii")
    search_fields = ("key", "label", "vertical__slug")
    list_select_related = ("vertical",)
    autocomplete_fields = ("vertical",)
