"""Shared by the API endpoints that move money: the required Idempotency-Key header and Django
ValidationErrors turned into DRF field errors (a service's `idempotency_key` field is named after
the header the caller sent)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import ValidationError

IDEMPOTENCY_HEADER = "Idempotency-Key"


def idempotency_key(request) -> str:
    """The request's Idempotency-Key; a 400 naming the header when it is missing."""
    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    if not key:
        raise ValidationError({IDEMPOTENCY_HEADER: ["Send an Idempotency-Key header (any unique string) with "
                                                    "every request that moves money."]})
    return key


def field_errors(exc: DjangoValidationError) -> ValidationError:
    """A service's ValidationError as a 400 with the same field names ("__all__" → non_field_errors)."""
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
    names = {"__all__": "non_field_errors", "idempotency_key": IDEMPOTENCY_HEADER}
    return ValidationError({names.get(name, name): messages for name, messages in errors.items()})
