"""Notifications: one row per fact told to a user (in the app, by email, or both), the user's
channel choices per event, and their low-balance threshold."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.money import usdc_field
from notifications.choices import EmailStatus, NotificationEvent


class Notification(models.Model):
    """A fact told to one user. `key` makes telling it twice store it once (per user). A row with
    in_app=False exists only for its email (the user turned the list off for this event)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    event = models.CharField(max_length=32, choices=NotificationEvent.choices)
    key = models.CharField(max_length=200, help_text="Idempotency key: one notification per user and key.")
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True, help_text="Where the notification leads (a path on this site).")
    context = models.JSONField(default=dict, blank=True, help_text="Extra facts for the email templates (no PII).")
    in_app = models.BooleanField(default=True, help_text="Shown in the user's notification list.")
    email_status = models.CharField(max_length=10, choices=EmailStatus.choices, default=EmailStatus.NONE)
    emailed_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(db_default=models.functions.Now())

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="notification_user_key_unique")]
        indexes = [
            # The list (newest first, keyset on (created_at, id)) and the header's unread count.
            models.Index(fields=["user", "-created_at", "-id"], name="notification_user_list"),
            models.Index(
                fields=["user"], name="notification_user_unread", condition=Q(in_app=True, read_at__isnull=True)
            ),
            # The digest sweep reads only the rows still waiting for it.
            models.Index(fields=["user", "id"], name="notification_digest_due", condition=Q(email_status="digest")),
        ]

    def __str__(self) -> str:
        return f"{self.event} for user {self.user_id}: {self.title}"


class NotificationPreference(models.Model):
    """A user's choice of channels for one event; without a row the event's defaults apply
    (notifications.choices.DEFAULTS)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    event = models.CharField(max_length=32, choices=NotificationEvent.choices)
    in_app = models.BooleanField()
    email = models.BooleanField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "event"], name="notification_preference_unique")]

    def __str__(self) -> str:
        return f"user {self.user_id} {self.event}: in_app={self.in_app} email={self.email}"


class NotificationSettings(models.Model):
    """Per-user settings that are not per event: the low-balance threshold (a buyer is told when
    their available balance falls below it; null: never)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="notification_settings"
    )
    low_balance_threshold = usdc_field(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "notification settings"

    def __str__(self) -> str:
        return f"notification settings of user {self.user_id}"
