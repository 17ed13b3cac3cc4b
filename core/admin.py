"""Admin building blocks shared by every app."""


class ReadOnlyAdminMixin:
    """Staff read these rows; only the services write them: no add, change or delete in admin
    (for a ModelAdmin or an inline; put it before the admin class in the bases)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
