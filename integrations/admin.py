"""Staff views of lead delivery: destinations (secrets never shown) and deliveries with their
attempt log; a redeliver action (a new delivery, a new Idempotency-Key). Dead-lettered deliveries
are the "dead" filter. No contact details here: attempts keep a redacted response excerpt only."""

from django.contrib import admin, messages

from core.admin import ReadOnlyAdminMixin
from integrations.models import Delivery, DeliveryAttempt, Destination
from integrations.services.deliveries import delivery_redeliver
from integrations.tasks import delivery_queue


@admin.register(Destination)
class DestinationAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "kind", "scope", "url", "email", "active", "created_at")
    list_filter = ("kind", "scope", "active", "crm_preset")
    search_fields = ("name", "url", "email", "owner__email")
    raw_id_fields = ("owner", "vertical", "rule")
    readonly_fields = ("secret_hint", "created_at", "updated_at", "archived_at")
    exclude = ("secret_key_id", "secret_sealed")


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ("number", "outcome", "status_code", "latency_ms", "error", "response_excerpt", "started_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "sale", "destination", "state", "attempts", "next_attempt_at", "delivered_at", "is_test")
    list_filter = ("state", "is_test", "destination__kind")
    search_fields = ("=sale__id", "=public_id", "correlation_id", "destination__name")
    list_select_related = ("destination", "sale")
    readonly_fields = [f.name for f in Delivery._meta.fields]
    inlines = [DeliveryAttemptInline]
    actions = ["redeliver"]

    @admin.action(description="Redeliver the selected deliveries (new deliveries, new idempotency keys)")
    def redeliver(self, request, queryset):
        count = 0
        for delivery in queryset:
            delivery_queue(delivery_id=delivery_redeliver(delivery=delivery).pk)
            count += 1
        self.message_user(request, f"{count} delivery(ies) queued again.", messages.SUCCESS)
