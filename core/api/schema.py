"""The OpenAPI schema tells the truth about errors: every operation declares each error status it
can answer, all with the one error envelope (core/api/errors.py) as a shared component.

Which statuses an operation declares:
- always 400 (a malformed query, NUL bytes, bad pagination parameters), 401 and 429;
- 404 where the path names a resource, 403 where the view needs a role (`required_role`),
  413 and 415 where there is a request body, 422 where it takes an Idempotency-Key;
- and what the view declares in `error_statuses` ({"post": {409: "why"}, "*": {...}}).
"""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from core.api.errors import TYPES
from core.api.money import IDEMPOTENCY_HEADER


class ErrorItemSerializer(serializers.Serializer):
    param = serializers.CharField(
        allow_null=True,
        help_text="The input at fault: a dotted path into the body "
        "(`consent.timestamp`, `leads.2.email`), a query "
        "parameter or a header; null for the request as a whole.",
    )
    code = serializers.CharField(help_text="Machine-readable: `required`, `invalid`, `min_value`, …")
    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    type = serializers.ChoiceField(
        choices=sorted({*TYPES.values(), "api_error"}), help_text="The kind of error; follows the HTTP status."
    )
    code = serializers.CharField(
        help_text="Machine-readable reason, e.g. `validation_error`, `not_found`, "
        "`already_sold`, `insufficient_funds`, `rate_limited`."
    )
    message = serializers.CharField(help_text="For people: what went wrong and what to do.")
    param = serializers.CharField(allow_null=True, help_text="The first input at fault, or null.")
    errors = ErrorItemSerializer(
        many=True, help_text="Every input at fault (empty when the error is not about an input)."
    )
    retry_after = serializers.IntegerField(required=False, help_text="429: seconds until a retry can succeed.")


class ErrorEnvelopeSerializer(serializers.Serializer):
    error = ErrorSerializer()
    request_id = serializers.CharField(
        help_text="This request's id (also the X-Request-ID header); quote it when you contact support."
    )


DESCRIPTIONS = {
    400: "Invalid input: `error.errors` names each parameter at fault.",
    401: "No API key, or an unknown or revoked one.",
    403: "Your account does not have the role this needs.",
    404: "No such resource, or it is not yours.",
    409: "Conflicts with the current state.",
    413: "The request body is too large.",
    415: "The body is not JSON.",
    422: "This Idempotency-Key was used with a different request.",
    429: "Too many requests: retry after `Retry-After` seconds.",
    503: "A service this needs is unavailable; nothing was done.",
}
BODY_METHODS = {"POST", "PUT", "PATCH"}


class AutoSchema(SpectacularAutoSchema):
    def _map_basic_serializer(self, serializer, direction):
        """A serializer's `openapi_extra` (say, a `not` between two fields) joins its component."""
        schema = super()._map_basic_serializer(serializer, direction)
        return {**schema, **getattr(serializer, "openapi_extra", {})}

    def error_statuses(self) -> dict[int, str]:
        statuses = {400: DESCRIPTIONS[400], 401: DESCRIPTIONS[401], 429: DESCRIPTIONS[429]}
        if "{" in self.path:
            statuses[404] = DESCRIPTIONS[404]
        if getattr(self.view, "required_role", None):
            statuses[403] = f"Only {self.view.required_role} accounts can do this."
        if self.method in BODY_METHODS and self.get_request_serializer() is not None:
            statuses[413], statuses[415] = DESCRIPTIONS[413], DESCRIPTIONS[415]
        if any(p.get("in") == "header" and p.get("name") == IDEMPOTENCY_HEADER for p in self._get_parameters()):
            statuses[422] = DESCRIPTIONS[422]
        declared = getattr(self.view, "error_statuses", {}) or {}
        for key in ("*", self.method.lower()):
            for status, description in declared.get(key, {}).items():
                statuses[status] = description or DESCRIPTIONS.get(status, "")
        return statuses

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        statuses = self.error_statuses()
        for code in [c for c in responses if c.isdigit() and int(c) >= 400]:
            statuses.setdefault(int(code), responses[code].get("description") or DESCRIPTIONS.get(int(code), ""))
        for status, description in sorted(statuses.items()):
            response = OpenApiResponse(ErrorEnvelopeSerializer, description=description)
            responses[str(status)] = self._get_response_for_code(response, str(status), direction=direction)
            if status == 429:
                responses[str(status)]["headers"] = {
                    "Retry-After": {"schema": {"type": "integer", "minimum": 0}, "description": "Seconds to wait."}
                }
        return responses
