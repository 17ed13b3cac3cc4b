"""DRF's exception handler, answering with the one error envelope (core/api/errors.py)."""

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent, TooManyFilesSent
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.views import exception_handler as drf_exception_handler

from core.api.errors import ApiError, envelope_for_exception, flatten


def _from_django(exc):
    """Django's refusals of a request body (raised while DRF parses it) as API errors."""
    if isinstance(exc, (TooManyFieldsSent, TooManyFilesSent)):
        return ApiError(
            "The form has too many fields; send the body as JSON.",
            status=status.HTTP_400_BAD_REQUEST,
            code="too_many_fields",
        )
    if isinstance(exc, RequestDataTooBig):
        return ApiError(
            "The request body is too large.", status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, code="payload_too_large"
        )
    if isinstance(exc, SuspiciousOperation):
        return ApiError("The request is malformed.", status=status.HTTP_400_BAD_REQUEST, code="bad_request")
    return exc


def _missing_reference(exc):
    """A body that names a resource that does not exist (a vertical slug, an id) is a 404
    `resource_missing` naming the parameter, whatever else is wrong with it."""
    if not isinstance(exc, ValidationError):
        return exc
    errors = flatten(exc.detail)
    missing = next((e for e in errors if e["code"] == "does_not_exist"), None)
    if missing is None:
        return exc
    return ApiError(
        missing["message"],
        status=status.HTTP_404_NOT_FOUND,
        code="resource_missing",
        param=missing["param"],
        errors=errors,
    )


def exception_handler(exc, context):
    """Every error a DRF view raises, as the envelope with the request id. Anything unexpected
    is re-raised (Django logs it and answers 500; core.middleware makes that JSON too)."""
    exc = _missing_reference(_from_django(exc))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ApiError):
        for name, value in exc.headers.items():
            response[name] = value
    if not hasattr(exc, "status_code"):  # Http404 / Django's PermissionDenied, as DRF converted them
        exc = NotFound() if response.status_code == status.HTTP_404_NOT_FOUND else PermissionDenied()
    response.data = envelope_for_exception(exc)
    return response
