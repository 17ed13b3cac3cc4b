"""Serializer fields for referring to a vertical by slug."""

import re

from rest_framework import serializers

_SLUG = re.compile(r"^[-a-zA-Z0-9_]{1,100}$")


class VerticalSlugField(serializers.SlugRelatedField):
    """A writable vertical-by-slug field that never sends an impossible slug to the database:
    PostgreSQL refuses a NUL byte in a query with an error (a 500), not a miss."""

    def __init__(self, **kwargs):
        from verticals.models import Vertical

        kwargs.setdefault("queryset", Vertical.objects.all())
        super().__init__(slug_field="slug", **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str) and not _SLUG.match(data):
            self.fail("does_not_exist", slug_name=self.slug_field, value=data[:100].replace("\x00", "\\x00"))
        return super().to_internal_value(data)
