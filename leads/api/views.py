"""Lead ingestion and the seller's leads for integrators. Thin: leads.services does the work."""

import hashlib
import io
import json
import re

from django.conf import settings
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import APIException, ParseError, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from core import correlation
from core.api import errors as api_errors
from core.api.errors import ApiError
from core.api.money import IDEMPOTENCY_HEADER, idempotency_key, idempotency_parameter
from core.services import IdempotencyKeyReused, idempotent
from leads import selectors, services
from leads.api.filters import LEAD_LIST_PARAMETERS
from leads.api.serializers import (
    BulkInputSerializer,
    BulkResultSerializer,
    IngestResultSerializer,
    LeadDetailSerializer,
    LeadInputSerializer,
    LeadPageSerializer,
    LeadSerializer,
)
from leads.bulk import lead_submit_many
from leads.choices import LeadSource
from leads.models import Lead, PiiAccess
from leads.pii_access import lead_pii_read_logged

REQUIRED_ROLE = "seller"
BOOLEAN_PARAMETERS = ("has_phone", "has_email", "stats")
# The API's forms of created_from/created_to (the seller's page also takes looser ones): a date, or
# an RFC 3339 date-time with its offset.
MOMENT = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2}))?$"
)


def _require_seller(request):
    if not request.user.is_seller:
        raise ApiError(
            "Only seller accounts can submit and list leads. Enable selling on your account page.",
            status=status.HTTP_403_FORBIDDEN,
            code="seller_required",
        )


def result_body(result: services.IngestResult) -> tuple[int, dict, dict]:
    """(HTTP status, body, headers) for one submission: the lead, or the error envelope."""
    if result.outcome == services.Outcome.CREATED:
        return status.HTTP_201_CREATED, {"status": result.lead.status, "id": result.lead.pk}, {}
    if result.outcome == services.Outcome.EXISTING:
        return status.HTTP_200_OK, {"status": result.lead.status, "id": result.lead.pk, "existing": True}, {}
    errors = api_errors.field_errors(result.errors)
    if result.outcome == services.Outcome.DUPLICATE:
        return (
            status.HTTP_409_CONFLICT,
            api_errors.envelope(
                status=status.HTTP_409_CONFLICT,
                code="duplicate",
                message=errors[0]["message"],
                errors=[],
                lead_id=result.lead.pk,
                duplicate_of=result.duplicate_of_id,
            ),
            {},
        )
    if result.outcome == services.Outcome.CAPPED:
        retry = max(1, int((result.cap_resets_at - timezone.now()).total_seconds()))
        return (
            status.HTTP_429_TOO_MANY_REQUESTS,
            api_errors.envelope(
                status=status.HTTP_429_TOO_MANY_REQUESTS,
                code="daily_cap_reached",
                message=errors[0]["message"],
                cap=result.cap,
                resets_at=result.cap_resets_at.isoformat(),
                retry_after=retry,
            ),
            {"Retry-After": str(retry)},
        )
    if result.errors == {"vertical": [services.UNKNOWN_VERTICAL]}:
        return (
            status.HTTP_404_NOT_FOUND,
            api_errors.envelope(
                status=status.HTTP_404_NOT_FOUND,
                code="resource_missing",
                message="No such vertical.",
                param="vertical",
                errors=[{"param": "vertical", "code": "resource_missing", "message": "No such vertical."}],
            ),
            {},
        )
    return status.HTTP_400_BAD_REQUEST, api_errors.validation_envelope(errors), {}


# Answers an Idempotency-Key does not remember (the key can be used again once the cause is gone).
NOT_DEFINITE = (status.HTTP_400_BAD_REQUEST, status.HTTP_404_NOT_FOUND, status.HTTP_429_TOO_MANY_REQUESTS)


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


MAX_JSON_DEPTH = 32  # a bulk lead is 5 deep ({leads: [{fields: {key: [..]}}]})


def _valid_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_json_shape(data) -> None:
    """Raise ParseError for nesting deeper than MAX_JSON_DEPTH or unpaired surrogates (iteratively)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ParseError(f"JSON parse error - nested more than {MAX_JSON_DEPTH} levels deep.")
        if isinstance(value, dict):
            for key, item in value.items():
                if not _valid_unicode(key):
                    raise ParseError("JSON parse error - a key is not valid Unicode (unpaired surrogate).")
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, str) and not _valid_unicode(value):
            raise ParseError("JSON parse error - a string is not valid Unicode (unpaired surrogate).")


def _too_large() -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The request body is larger than {settings.LEAD_MAX_BODY_BYTES} bytes; send fewer leads per request."
    )


def check_body_size(request) -> None:
    """413 for a declared body over LEAD_MAX_BODY_BYTES, before anything reads it.

    Call before touching request.data: DRF reads JSON through request.body, where Django
    refuses bodies over DATA_UPLOAD_MAX_MEMORY_SIZE with an HTML 400.
    """
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > settings.LEAD_MAX_BODY_BYTES:
        raise _too_large()


class LeadJSONParser(JSONParser):
    """JSON of at most LEAD_MAX_BODY_BYTES; too-deep nesting and unpaired surrogates are 400s.

    Deep nesting would exhaust the recursion limit (a 500) and an unpaired surrogate can be
    neither stored nor rendered. The views call check_body_size first.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read(settings.LEAD_MAX_BODY_BYTES + 1)
        if len(raw) > settings.LEAD_MAX_BODY_BYTES:
            raise _too_large()
        try:
            data = super().parse(io.BytesIO(raw), media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - nested more than {MAX_JSON_DEPTH} levels deep.") from None
        _check_json_shape(data)
        return data


class LeadListCreateApi(generics.ListAPIView):
    """GET: your leads (keyset-paginated, filterable, sortable). POST: submit one lead."""

    serializer_class = LeadSerializer
    parser_classes = [LeadJSONParser]
    throttle_scope = "ingest"
    required_role = REQUIRED_ROLE
    error_statuses = {
        "get": {404: "No such vertical (the `vertical` filter)."},
        "post": {
            404: "No such vertical.",
            409: "A duplicate of a lead already received; `error.duplicate_of` names yours.",
            429: "Too many requests, or the vertical's daily cap is reached "
            "(`error.code` daily_cap_reached, `error.resets_at`).",
        },
    }
    # Paging and filters are the seller table's own (leads.selectors): the same spec, sorts and
    # keyset cursor as /seller/leads/, so DRF's filter backends and paginator stay out.
    filter_backends: list = []
    pagination_class = None

    def get_throttles(self):
        if self.request.method != "POST":
            self.throttle_scope = "api"
        return super().get_throttles()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Lead.objects.none()
        _require_seller(self.request)
        return selectors.lead_list_for_seller(seller=self.request.user)

    @extend_schema(parameters=LEAD_LIST_PARAMETERS, responses={200: LeadPageSerializer})
    def get(self, request, *args, **kwargs):
        _require_seller(request)
        params = request.query_params
        for name in BOOLEAN_PARAMETERS:
            if params.get(name, "true") not in ("true", "false"):
                raise ValidationError({name: ["true or false."]})
        for name in ("created_from", "created_to"):
            if name in params and not MOMENT.fullmatch(params[name]):
                raise ValidationError(
                    {name: ["A date (YYYY-MM-DD) or an RFC 3339 date and time with its offset (2025-01-31T12:00:00Z)."]}
                )
        try:
            spec = selectors.lead_table_spec_parse(params)
            page_size = selectors.lead_table_page_size(params.get("page_size"))
            page = selectors.lead_table_page(request.user, spec, params.get("cursor") or None, page_size)
        except selectors.LeadTableError as exc:
            if set(exc.errors) == {"vertical"}:
                raise ApiError(
                    "No such vertical.", status=status.HTTP_404_NOT_FOUND, code="resource_missing", param="vertical"
                ) from None
            raise ValidationError(exc.errors) from None
        url = request.build_absolute_uri()
        body = {
            "results": LeadSerializer(page.rows, many=True).data,
            "next": replace_query_param(url, "cursor", page.next_cursor) if page.next_cursor else None,
            "previous": replace_query_param(url, "cursor", page.previous_cursor) if page.previous_cursor else None,
        }
        if params.get("stats") == "true":
            body["stats"] = selectors.lead_table_stats(seller=request.user, spec=spec)
        return Response(body)

    @extend_schema(
        request=LeadInputSerializer,
        responses={
            201: IngestResultSerializer,
            200: OpenApiResponse(IngestResultSerializer, "external_id already submitted"),
        },
        parameters=[
            idempotency_parameter(
                required=False, description="Optional: replays of the same key return the first answer."
            )
        ],
    )
    def post(self, request):
        _require_seller(request)
        check_body_size(request)
        key = idempotency_key(request, required=False)
        data = request.data
        if not key:
            code, body, headers = result_body(
                services.lead_submit(seller=request.user, data=data, source=LeadSource.API)
            )
            return Response(body, status=code, headers=headers)
        return self._idempotent(request, key, data)

    def _idempotent(self, request, key: str, data):
        fingerprint = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
        headers: dict = {}

        def operation() -> dict:
            code, body, extra = result_body(services.lead_submit(seller=request.user, data=data, source=LeadSource.API))
            headers.update(extra)
            return {"status": code, "body": body}

        try:
            result, ran_now = idempotent(
                scope=f"leads.api:{request.user.pk}",
                key=key,
                operation=operation,
                fingerprint=fingerprint,
                remember=lambda result: result["status"] not in NOT_DEFINITE,
            )
        except IdempotencyKeyReused as exc:
            raise ApiError(
                str(exc),
                status=status.HTTP_422_UNPROCESSABLE_ENTITY,
                code="idempotency_key_reused",
                param=IDEMPOTENCY_HEADER,
            ) from None
        if ran_now:
            return Response(result["body"], status=result["status"], headers=headers)
        body = result["body"]
        if "error" in body:  # a stored refusal (409) answers with this request's id
            body = {**body, "request_id": correlation.get()}
        return Response(body, status=result["status"], headers={"Idempotent-Replay": "true"})


class LeadBulkApi(APIView):
    """Submit up to 500 leads; each gets its own result (accepted with id, or rejected with errors)."""

    parser_classes = [LeadJSONParser]
    throttle_scope = "ingest"
    required_role = REQUIRED_ROLE

    @extend_schema(request=BulkInputSerializer, responses={200: BulkResultSerializer})
    def post(self, request):
        _require_seller(request)
        check_body_size(request)
        items = request.data.get("leads") if isinstance(request.data, dict) else None
        if not isinstance(items, list):
            raise ValidationError({"leads": [f'Send {{"leads": [...]}} with up to {settings.LEAD_MAX_BULK} leads.']})
        if not items:
            raise ValidationError({"leads": ["Send at least one lead."]})
        if len(items) > settings.LEAD_MAX_BULK:
            raise ValidationError(
                {"leads": [f"At most {settings.LEAD_MAX_BULK} leads per request; this one has {len(items)}."]}
            )
        results = []
        for index, result in enumerate(lead_submit_many(seller=request.user, items=items)):
            _, body, _ = result_body(result)
            if "error" in body:
                item = {"index": index, "accepted": False, "status": "rejected", "error": body["error"]}
                if result.lead is not None:
                    item["id"] = result.lead.pk
            else:
                item = {"index": index, "accepted": result.accepted, **body}
            results.append(item)
        accepted = sum(1 for r in results if r["accepted"])
        return Response({"accepted": accepted, "rejected": len(results) - accepted, "results": results})


class LeadDetailApi(generics.RetrieveAPIView):
    """One of your leads with its score breakdown, status history and the contact details you sent
    (each read is recorded in the PII access log)."""

    serializer_class = LeadDetailSerializer
    required_role = REQUIRED_ROLE

    def get_object(self):
        _require_seller(self.request)
        try:
            return selectors.lead_get_for_seller_detail(seller=self.request.user, lead_id=self.kwargs["pk"])
        except Lead.DoesNotExist:
            raise Http404 from None

    def retrieve(self, request, *args, **kwargs):
        lead = self.get_object()
        # The seller's read of its own lead's contact details is logged like a buyer's.
        contact = lead_pii_read_logged(
            user=request.user, lead=lead, role=PiiAccess.Role.SELLER, channel=PiiAccess.Channel.API
        )
        body = self.get_serializer(lead, context={**self.get_serializer_context(), "contact": contact}).data
        return Response(body, headers={"Cache-Control": "private, no-store"})
