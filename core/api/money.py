"""Shared by the API endpoints that move money: USDC amount fields, the Idempotency-Key header
(required where money moves) and Django ValidationErrors turned into DRF field errors (a
service's `idempotency_key` field is named after the header the caller sent)."""

import re
from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from core.money import USDC_DECIMAL_PLACES, USDC_MAX_DIGITS

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_MAX = 200
# 1–200 printable ASCII characters, no spaces at either end (HTTP trims them anyway).
IDEMPOTENCY_PATTERN = r"^[!-~](?:[ -~]{0,198}[!-~])?$"
_IDEMPOTENCY = re.compile(IDEMPOTENCY_PATTERN)


def idempotency_parameter(
    *, required: bool = True, description: str = "", max_length: int = IDEMPOTENCY_MAX
) -> OpenApiParameter:
    return OpenApiParameter(
        IDEMPOTENCY_HEADER,
        {"type": "string", "minLength": 1, "maxLength": max_length, "pattern": IDEMPOTENCY_PATTERN},
        OpenApiParameter.HEADER,
        required=required,
        description=description
        or f"Any unique string of 1–{max_length} printable ASCII characters; a replay "
        "of the same key moves money once and answers as the first request did.",
    )


def idempotency_key(request, *, required: bool = True, max_length: int = IDEMPOTENCY_MAX) -> str:
    """The request's Idempotency-Key: a 400 naming the header when it is missing (where required)
    or not 1–max_length printable ASCII characters."""
    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    if not key and not required:
        return ""
    if not key:
        raise ValidationError(
            {
                IDEMPOTENCY_HEADER: [
                    serializers.ErrorDetail(
                        "Send an Idempotency-Key header (any unique string) with every request that moves money.",
                        code="required",
                    )
                ]
            }
        )
    if not _IDEMPOTENCY.fullmatch(key) or len(key) > max_length:
        raise ValidationError(
            {
                IDEMPOTENCY_HEADER: [
                    serializers.ErrorDetail(f"At most {max_length} printable ASCII characters.", code="invalid")
                ]
            }
        )
    return key


def field_errors(exc: DjangoValidationError) -> ValidationError:
    """A service's ValidationError as a 400 with the same field names ("__all__" → non_field_errors)."""
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
    names = {"__all__": "non_field_errors", "idempotency_key": IDEMPOTENCY_HEADER}
    return ValidationError({names.get(name, name): messages for name, messages in errors.items()})


class UsdcField(serializers.DecimalField):
    """A USDC amount sent as a decimal string ("12.50"): digits, at most 6 decimal places, no sign,
    below 10^whole_digits; `positive` also refuses zero. The OpenAPI pattern is the same regular
    expression the field checks, so what the schema allows is what the server takes."""

    default_error_messages = {
        "invalid": 'A USDC amount as a decimal string such as "12.50" (at most {places} '
        "decimal places, below {ceiling}{positive})."
    }

    def __init__(self, *, positive: bool = False, whole_digits: int = 12, **kwargs):
        kwargs.setdefault("max_digits", USDC_MAX_DIGITS)
        kwargs.setdefault("decimal_places", USDC_DECIMAL_PLACES)
        kwargs.setdefault("coerce_to_string", True)
        super().__init__(**kwargs)
        self.positive, self.whole_digits = positive, whole_digits
        self.pattern = usdc_pattern(positive=positive, whole_digits=whole_digits, places=self.decimal_places)
        self._regex = re.compile(self.pattern)

    def validate_empty_values(self, data):
        # Only null is "no amount": DRF would also read "" as null.
        return serializers.Field.validate_empty_values(self, data)

    def to_internal_value(self, data):
        if not isinstance(data, str) or not self._regex.fullmatch(data):
            self.fail(
                "invalid",
                places=self.decimal_places,
                ceiling=f"{Decimal(10) ** self.whole_digits:,}",
                positive=", above zero" if self.positive else "",
            )
        return super().to_internal_value(data)


def usdc_pattern(*, positive: bool, whole_digits: int, places: int) -> str:
    body = rf"[0-9]{{1,{whole_digits}}}(?:\.[0-9]{{1,{places}}})?"
    return rf"^(?!0*(?:\.0*)?$){body}$" if positive else rf"^{body}$"


class UsdcFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "core.api.money.UsdcField"

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        if direction == "response" or field.read_only:
            return {"type": "string", "format": "decimal", "pattern": rf"^-?[0-9]+\.[0-9]{{{field.decimal_places}}}$"}
        return {"type": "string", "format": "decimal", "pattern": field.pattern, "example": "12.50"}
