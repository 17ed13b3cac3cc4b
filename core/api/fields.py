"""Serializer fields whose OpenAPI pattern is exactly the check the server makes."""

import re

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers


class PatternField(serializers.CharField):
    """A string that must match `pattern` in full (the schema publishes the same pattern, or only
    `format` when a generator must make the values, say checksummed addresses)."""

    default_error_messages = {"invalid": "Does not have the expected form."}

    def __init__(
        self,
        pattern: str,
        *,
        message: str | None = None,
        format: str | None = None,
        publish_pattern: bool = True,
        **kwargs,
    ):
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)
        self.pattern, self._regex, self.format = pattern, re.compile(pattern), format
        self.publish_pattern = publish_pattern
        if message:
            self.error_messages = {**self.error_messages, "invalid": message}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        value = super().to_internal_value(data)
        if not self._regex.fullmatch(value):
            self.fail("invalid")
        return value


class PatternFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "core.api.fields.PatternField"

    def map_serializer_field(self, auto_schema, direction):
        schema = {"type": "string"}
        if self.target.publish_pattern:
            schema["pattern"] = self.target.pattern
        if self.target.format:
            schema["format"] = self.target.format
        return schema


class StrictBooleanField(serializers.BooleanField):
    """true or false, nothing else (DRF also takes "yes", 1, "on"… which the schema does not allow)."""

    default_error_messages = {"invalid": "true or false."}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer, nothing else (DRF also takes "12" and 12.0, which the schema does not allow)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    """A JSON string, nothing else (DRF also takes numbers, which the schema does not allow)."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)
