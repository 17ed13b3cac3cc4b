"""Admin: the PII access log, read-only. Rows are written only by escrow.purchases (one per read
of a sold lead's contact details); staff see who read which sale, how and when, never the
contact details themselves."""

from django.contrib import admin

from escrow.models import PiiAccess


@admin.register(PiiAccess)
class PiiAccessAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "sale", "channel", "as_owner", "accessed_at", "correlation_id")
    list_filter = ("channel", "as_owner", "accessed_at")
    search_fields = ("=sale__id", "user__email", "=correlation_id")
    list_select_related = ("user", "sale")
    date_hierarchy = "accessed_at"
    ordering = ("-accessed_at", "-id")
    fields = ("user", "sale", "channel", "as_owner", "correlation_id", "accessed_at")
    readonly_fields = fields
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
