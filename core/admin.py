"""Admin building blocks shared by every app, and staff's views of the pipeline's records (dead
letters to replay or discard, idempotency keys)."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from core import services
from core.choices import DeadLetterStatus
from core.models import DeadLetter, IdempotencyKey


class ReadOnlyAdminMixin:
    """Staff read these rows; only the services write them: no add, change or delete in admin
    (for a ModelAdmin or an inline; put it before the admin class in the bases)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ServiceCheckedModelForm(forms.ModelForm):
    """An admin form whose instance the app's own service checks, so staff meet the same rules as
    the pages and the API (models keep no clean() that imports services). `service_check(instance)`
    raises ValidationError by field; an error on a field the form lacks goes to the form's top."""

    def service_check(self, instance) -> None:
        raise NotImplementedError

    def _post_clean(self):
        super()._post_clean()
        try:
            self.service_check(self.instance)
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
            for name, messages in errors.items():
                for message in messages:
                    self.add_error(name if name in self.fields else None, message)


@admin.register(DeadLetter)
class DeadLetterAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "task_name",
        "queue",
        "exception_type",
        "short_error",
        "attempts",
        "status",
        "first_failed_at",
        "last_failed_at",
    )
    list_filter = ("status", "queue", "task_name")
    search_fields = ("task_name", "task_id", "error", "correlation_id")
    date_hierarchy = "last_failed_at"
    readonly_fields = (
        "task_name",
        "task_id",
        "queue",
        "args",
        "kwargs",
        "exception_type",
        "error",
        "traceback",
        "attempts",
        "correlation_id",
        "status",
        "first_failed_at",
        "last_failed_at",
        "resolved_at",
        "replayed_task_id",
    )
    actions = ["replay", "discard"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="error")
    def short_error(self, obj):
        return obj.error[:80]

    def _apply(self, request, queryset, service, verb):
        done, skipped = 0, 0
        for letter_id in queryset.filter(status=DeadLetterStatus.PENDING).values_list("pk", flat=True):
            try:
                service(dead_letter_id=letter_id)
            except ValueError:  # someone else replayed or discarded it meanwhile
                continue
            done += 1
        skipped = queryset.count() - done
        self.message_user(
            request, f"{verb} {done} dead letter(s)" + (f"; {skipped} were not pending." if skipped else ".")
        )

    @admin.action(description="Replay selected dead letters")
    def replay(self, request, queryset):
        self._apply(request, queryset, services.dead_letter_replay, "Replayed")

    @admin.action(description="Discard selected dead letters")
    def discard(self, request, queryset):
        self._apply(request, queryset, services.dead_letter_discard, "Discarded")


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    list_display = ("scope", "key", "created_at")
    list_filter = ("scope",)
    search_fields = ("key",)
    readonly_fields = ("scope", "key", "result", "created_at")

    def has_add_permission(self, request):
        return False
