"""Serializer fields for referring to a vertical by slug."""

import re

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from verticals.models import Vertical

SLUG_PATTERN = r"^[-a-zA-Z0-9_]{1,100}$"
_SLUG = re.compile(SLUG_PATTERN)


@extend_schema_field({"type": "string", "pattern": SLUG_PATTERN, "example": "solar"})
class VerticalSlugField(serializers.SlugRelatedField):
    """A writable vertical-by-slug field that never sends an impossible slug to the database
    (PostgreSQL refuses a NUL byte in a query with an error, a 500, not a miss). A well-formed slug
    of no vertical fails with `does_not_exist`, which the API answers with 404 resource_missing."""

    default_error_messages = {
        "does_not_exist": "No such vertical: {value}.",
        "invalid": "A vertical slug: letters, digits, - and _.",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Vertical.objects.all())
        super().__init__(slug_field="slug", **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str) or not _SLUG.fullmatch(data):
            self.fail("invalid")
        return super().to_internal_value(data)
