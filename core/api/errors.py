"""One error envelope for every API error (docs/api.md, "Errors"):

    {"error": {"type": "invalid_request", "code": "validation_error",
               "message": "max_amount: Ensure this value is greater than or equal to 0.",
               "param": "max_amount",
               "errors": [{"param": "max_amount", "code": "min_value", "message": "Ensure …"}]},
     "request_id": "6f1c…"}

`type` follows the HTTP status (TYPES), `code` is the machine-readable reason, `param` names the
first input at fault (a dotted path such as `consent.timestamp` or `leads.2.email`, a header name
such as `Idempotency-Key`, or null), and `errors` lists every input at fault (empty when the
error is not about an input). Some errors add facts of their own (`retry_after`, `duplicate_of`…).
"""

from django.http import JsonResponse
from rest_framework import status as http
from rest_framework.exceptions import APIException, ErrorDetail

from core import correlation

API_PREFIX = "/api/"
NON_FIELD = ("non_field_errors", "__all__")

TYPES = {
    400: "invalid_request",
    405: "invalid_request",
    406: "invalid_request",
    413: "invalid_request",
    415: "invalid_request",
    401: "authentication",
    403: "permission",
    404: "not_found",
    409: "conflict",
    422: "idempotency",
    429: "rate_limit",
    503: "unavailable",
}
# The code and message of an error that carries nothing more specific (a bare status).
GENERIC = {
    400: ("bad_request", "The request is malformed."),
    401: ("not_authenticated", "Authentication credentials were not provided."),
    403: ("permission_denied", "You do not have permission to perform this action."),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "This method is not allowed here."),
    406: ("not_acceptable", "Only application/json responses are available."),
    409: ("conflict", "The request conflicts with the current state."),
    413: ("payload_too_large", "The request body is too large."),
    415: ("unsupported_media_type", "Send the body as application/json."),
    422: ("idempotency_key_reused", "This Idempotency-Key was used with a different request."),
    429: ("rate_limited", "Too many requests."),
    500: ("internal_error", "Something went wrong on our side; quote the request_id when you contact support."),
    503: ("unavailable", "The service is temporarily unavailable; try again shortly."),
}


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIX)


def error_type(status: int) -> str:
    return TYPES.get(status, "api_error" if status >= 500 else "invalid_request")


class ApiError(APIException):
    """A refusal with its own code, message and param (and extra facts for the error object).

    Raise it from a view; the exception handler renders the envelope."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str,
        param: str | None = None,
        errors: list[dict] | None = None,
        headers: dict | None = None,
        **extra,
    ):
        super().__init__(detail=message, code=code)
        self.status_code = status
        self.code, self.message, self.param = code, message, param
        self.errors = (
            errors if errors is not None else ([{"param": param, "code": code, "message": message}] if param else [])
        )
        self.extra, self.headers = extra, headers or {}


def _join(prefix: str | None, key) -> str | None:
    key = None if key in NON_FIELD else str(key)
    if prefix is None:
        return key
    return prefix if key is None else f"{prefix}.{key}"


def flatten(detail, param: str | None = None) -> list[dict]:
    """DRF's nested error detail (dicts by field, lists per item) as [{param, code, message}]."""
    if isinstance(detail, dict):
        return [item for key, value in detail.items() for item in flatten(value, _join(param, key))]
    if isinstance(detail, (list, tuple)):
        out = []
        for index, value in enumerate(detail):
            if isinstance(value, (dict, list, tuple)):
                out.extend(flatten(value, _join(param, index)))
            else:
                out.extend(flatten(value, param))
        return out
    code = getattr(detail, "code", None) or "invalid"
    return [{"param": param, "code": str(code), "message": str(detail)}]


def field_errors(errors: dict, *, code: str = "invalid") -> list[dict]:
    """A plain {field: [messages]} dict (services, validation) as [{param, code, message}]."""
    return flatten(
        {
            key: [ErrorDetail(str(m), code=code) for m in (msgs if isinstance(msgs, (list, tuple)) else [msgs])]
            for key, msgs in errors.items()
        }
    )


def _summary(errors: list[dict]) -> str:
    first = errors[0]
    text = f"{first['param']}: {first['message']}" if first["param"] else first["message"]
    return text if len(errors) == 1 else f"{text} (and {len(errors) - 1} more in `errors`)"


def error_object(
    *, status: int, code: str, message: str, param: str | None = None, errors: list[dict] | None = None, **extra
) -> dict:
    return {
        "type": error_type(status),
        "code": code,
        "message": message,
        "param": param,
        "errors": list(errors or []),
        **extra,
    }


def envelope(
    *,
    status: int,
    code: str | None = None,
    message: str | None = None,
    param: str | None = None,
    errors: list[dict] | None = None,
    **extra,
) -> dict:
    generic_code, generic_message = GENERIC.get(status, GENERIC[500 if status >= 500 else 400])
    return {
        "error": error_object(
            status=status,
            code=code or generic_code,
            message=message or generic_message,
            param=param,
            errors=errors,
            **extra,
        ),
        "request_id": correlation.get(),
    }


def validation_envelope(
    errors: list[dict], *, status: int = http.HTTP_400_BAD_REQUEST, code: str = "validation_error", **extra
) -> dict:
    if not errors:
        return envelope(status=status, code=code, **extra)
    return envelope(
        status=status, code=code, message=_summary(errors), param=errors[0]["param"], errors=errors, **extra
    )


def envelope_for_exception(exc: APIException) -> dict:
    """The envelope for a DRF exception (ApiError included)."""
    status = exc.status_code
    if isinstance(exc, ApiError):
        return envelope(
            status=status, code=exc.code, message=exc.message, param=exc.param, errors=exc.errors, **exc.extra
        )
    if isinstance(exc.detail, (dict, list)):
        return validation_envelope(flatten(exc.detail), status=status)
    code = getattr(exc.detail, "code", None) or exc.default_code
    extra = {}
    if getattr(exc, "wait", None):
        extra["retry_after"] = int(exc.wait)
    return envelope(status=status, code=str(code), message=str(exc.detail), **extra)


def json_error(*, status: int, headers: dict | None = None, **fields) -> JsonResponse:
    """An envelope outside DRF (middleware, Django's error handlers)."""
    response = JsonResponse(envelope(status=status, **fields), status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response
