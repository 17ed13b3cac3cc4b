"""The pipeline's records: idempotency keys and dead letters. They moved here from the marketplace
app with their tables (db_table) and data: the migrations only change Django's state."""

from django.db import models
from django.utils import timezone

from core.choices import DeadLetterStatus


class IdempotencyKey(models.Model):
    """One row per operation that must happen once; the row and the effect commit together."""

    scope = models.CharField(max_length=64)
    key = models.CharField(max_length=200)
    result = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "marketplace_idempotencykey"  # the table it had in the marketplace app
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="idempotency_scope_key_uniq")]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"


class DeadLetter(models.Model):
    """A pipeline task that exhausted its retries or failed permanently."""

    task_name = models.CharField(max_length=200)
    task_id = models.CharField(max_length=64, db_index=True)
    queue = models.CharField(max_length=100)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    exception_type = models.CharField(max_length=200)
    error = models.TextField()
    traceback = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=1)
    correlation_id = models.CharField(max_length=128, blank=True)
    status = models.CharField(max_length=16, choices=DeadLetterStatus.choices, default=DeadLetterStatus.PENDING)
    first_failed_at = models.DateTimeField(default=timezone.now)
    last_failed_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    replayed_task_id = models.CharField(max_length=64, blank=True)

    class Meta:
        db_table = "marketplace_deadletter"  # the table it had in the marketplace app
        indexes = [
            models.Index(fields=["status", "last_failed_at"], name="deadletter_status_idx"),
            models.Index(fields=["task_name", "status"], name="deadletter_task_status_idx"),
        ]
        ordering = ["-last_failed_at"]

    def __str__(self) -> str:
        return f"{self.task_name} [{self.task_id}]"

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.queue}.dead"
