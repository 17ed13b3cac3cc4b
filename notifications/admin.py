"""Staff views of notifications (read-only: they are facts already told) and of users' channel
choices and thresholds (edits go through the service, which empties the caches)."""

from django.contrib import admin, messages

from notifications import services
from notifications.choices import Channels
from notifications.models import Notification, NotificationPreference, NotificationSettings


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "event", "title", "in_app", "email_status", "created_at", "read_at")
    list_filter = ("event", "email_status", "in_app")
    search_fields = ("user__email", "title", "key")
    list_select_related = ("user",)
    ordering = ("-created_at", "-id")
    show_full_result_count = False
    readonly_fields = [f.name for f in Notification._meta.fields]
    actions = ["mark_read"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Mark selected notifications read")
    def mark_read(self, request, queryset):
        count = 0
        for row in queryset.filter(in_app=True, read_at__isnull=True).select_related("user"):
            services.notification_mark_read(user=row.user, notification_id=row.pk)
            count += 1
        self.message_user(request, f"Marked {count} read.", messages.SUCCESS)


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ("user", "event", "in_app", "email", "updated_at")
    list_filter = ("event", "in_app", "email")
    search_fields = ("user__email",)
    list_select_related = ("user",)
    raw_id_fields = ("user",)

    def save_model(self, request, obj, form, change):
        services.preferences_update(user=obj.user, choices={obj.event: Channels(in_app=obj.in_app, email=obj.email)})


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(admin.ModelAdmin):
    list_display = ("user", "low_balance_threshold", "updated_at")
    search_fields = ("user__email",)
    list_select_related = ("user",)
    raw_id_fields = ("user",)

    def save_model(self, request, obj, form, change):
        services.preferences_update(
            user=obj.user, choices={}, low_balance_threshold=obj.low_balance_threshold, threshold=True
        )
