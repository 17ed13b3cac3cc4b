"""Admin building blocks shared by every app."""

from django import forms
from django.core.exceptions import ValidationError


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
