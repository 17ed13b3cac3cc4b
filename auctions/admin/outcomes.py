"""Admin for what buyers report back: dispositions with their history, the CRM webhooks' calls,
and autobid tuning changes. Read-only: dispositions are the buyer's word (set through
auctions.services.dispositions by page, API, CSV or webhook), tunings are made and reverted by the
tuning service."""

from django.contrib import admin

from auctions.models import AutobidTuning, Disposition, DispositionChange, DispositionWebhook, DispositionWebhookEvent
from core.admin import ReadOnlyAdminMixin


@admin.register(Disposition)
class DispositionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("sale", "status", "revenue", "reason", "channel", "set_by", "version", "updated_at")
    list_filter = ("status", "channel")
    search_fields = ("sale__id", "set_by__email")
    list_select_related = ("set_by",)
    raw_id_fields = ("sale", "set_by")


@admin.register(DispositionChange)
class DispositionChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("sale", "from_status", "status", "revenue", "channel", "by", "at")
    list_filter = ("status", "channel")
    search_fields = ("sale__id", "by__email")
    list_select_related = ("by",)
    raw_id_fields = ("sale", "by")


class DispositionWebhookEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = DispositionWebhookEvent
    extra = 0
    fields = ("received_at", "status_code", "error_code", "error", "rows", "applied", "body_bytes")
    ordering = ("-received_at",)


@admin.register(DispositionWebhook)
class DispositionWebhookAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The secret is sealed and never shown here; the buyer rotates it on their page."""

    list_display = ("buyer", "created_at", "rotated_at")
    search_fields = ("buyer__email",)
    fields = ("buyer", "created_at", "rotated_at")
    inlines = [DispositionWebhookEventInline]


@admin.register(AutobidTuning)
class AutobidTuningAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("rule", "old_max_bid", "new_max_bid", "reason", "created_at", "reverted_at")
    search_fields = ("rule__id", "rule__buyer__email")
    list_select_related = ("rule",)
