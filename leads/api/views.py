"""Lead ingestion and the seller's leads for integrators. Thin: leads.services does the work."""

import hashlib
import json

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from leads import selectors, services
from leads.api.filters import LeadFilter
from leads.api.serializers import (BulkInputSerializer, IngestResultSerializer, LeadDetailSerializer,
                                   LeadInputSerializer, LeadSerializer)
from leads.choices import LeadSource
from leads.models import Lead
from marketplace.models import IdempotencyKey

IDEMPOTENCY_HEADER = "Idempotency-Key"


def _require_seller(request):
    if not request.user.is_seller:
        raise PermissionDenied("Only seller accounts can submit and list leads. Enable selling on your account page.")


def result_body(result: services.IngestResult) -> tuple[int, dict, dict]:
    """(HTTP status, body, headers) for one submission."""
    if result.outcome == services.Outcome.CREATED:
        return status.HTTP_201_CREATED, {"status": result.lead.status, "id": result.lead.pk}, {}
    if result.outcome == services.Outcome.EXISTING:
        return status.HTTP_200_OK, {"status": result.lead.status, "id": result.lead.pk, "existing": True}, {}
    if result.outcome == services.Outcome.DUPLICATE:
        return status.HTTP_409_CONFLICT, {"status": "rejected", "reason": "duplicate", "id": result.lead.pk,
                                          "duplicate_of": result.duplicate_of_id, "errors": result.errors}, {}
    if result.outcome == services.Outcome.CAPPED:
        retry = max(1, int((result.cap_resets_at - timezone.now()).total_seconds()))
        return status.HTTP_429_TOO_MANY_REQUESTS, {
            "status": "rejected", "reason": "cap", "cap": result.cap,
            "resets_at": result.cap_resets_at.isoformat(), "errors": result.errors}, {"Retry-After": str(retry)}
    return status.HTTP_400_BAD_REQUEST, {"status": "rejected", "reason": "invalid", "errors": result.errors}, {}


class _NotStored(Exception):
    """Roll the idempotency key back: only definite outcomes are remembered."""

    def __init__(self, response):
        self.response = response


class LeadListCreateApi(generics.ListAPIView):
    """GET: your leads (cursor-paginated, filterable). POST: submit one lead."""

    serializer_class = LeadSerializer
    parser_classes = [JSONParser]
    throttle_scope = "ingest"
    filter_backends = [filters.DjangoFilterBackend]
    filterset_class = LeadFilter

    def get_throttles(self):
        if self.request.method != "POST":
            self.throttle_scope = "api"
        return super().get_throttles()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Lead.objects.none()
        _require_seller(self.request)
        return selectors.lead_list_for_seller(seller=self.request.user)

    @extend_schema(request=LeadInputSerializer, responses={
        201: IngestResultSerializer, 200: OpenApiResponse(IngestResultSerializer, "external_id already submitted"),
        400: OpenApiResponse(IngestResultSerializer, "field errors"), 409: OpenApiResponse(IngestResultSerializer, "duplicate"),
        429: OpenApiResponse(IngestResultSerializer, "daily cap reached")},
        parameters=[OpenApiParameter(IDEMPOTENCY_HEADER, str, OpenApiParameter.HEADER, required=False,
                                     description="Replays of the same key return the first answer.")])
    def post(self, request):
        _require_seller(request)
        data = request.data
        key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
        if not key:
            code, body, headers = result_body(services.lead_submit(seller=request.user, data=data, source=LeadSource.API))
            return Response(body, status=code, headers=headers)
        if len(key) > 200:
            raise ValidationError({IDEMPOTENCY_HEADER: ["At most 200 characters."]})
        return self._idempotent(request, key, data)

    def _idempotent(self, request, key: str, data):
        fingerprint = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
        scope = f"leads.api:{request.user.pk}"
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(scope=scope, key=key, result={"fingerprint": fingerprint})
                code, body, headers = result_body(services.lead_submit(seller=request.user, data=data,
                                                                       source=LeadSource.API))
                if code in (status.HTTP_400_BAD_REQUEST, status.HTTP_429_TOO_MANY_REQUESTS):
                    raise _NotStored(Response(body, status=code, headers=headers))
                record.result = {"fingerprint": fingerprint, "status": code, "body": body}
                record.save(update_fields=["result"])
        except _NotStored as exc:
            return exc.response
        except IntegrityError:
            stored = IdempotencyKey.objects.get(scope=scope, key=key).result
            if stored.get("fingerprint") != fingerprint:
                return Response({"errors": {IDEMPOTENCY_HEADER: ["This key was used with a different request body."]}},
                                status=status.HTTP_422_UNPROCESSABLE_ENTITY)
            return Response(stored["body"], status=stored["status"], headers={"Idempotent-Replay": "true"})
        return Response(body, status=code, headers=headers)


class LeadBulkApi(APIView):
    """Submit up to 500 leads; each gets its own result (accepted with id, or rejected with errors)."""

    parser_classes = [JSONParser]
    throttle_scope = "ingest"

    @extend_schema(request=BulkInputSerializer, responses={200: IngestResultSerializer(many=True)})
    def post(self, request):
        _require_seller(request)
        items = request.data.get("leads") if isinstance(request.data, dict) else request.data
        if not isinstance(items, list):
            raise ValidationError({"leads": ["Send {\"leads\": [...]} with up to %d leads." % settings.LEAD_MAX_BULK]})
        if not items:
            raise ValidationError({"leads": ["Send at least one lead."]})
        if len(items) > settings.LEAD_MAX_BULK:
            raise ValidationError({"leads": [f"At most {settings.LEAD_MAX_BULK} leads per request; "
                                             f"this one has {len(items)}."]})
        results = []
        for index, result in enumerate(services.lead_submit_many(seller=request.user, items=items)):
            code, body, _ = result_body(result)
            body = {"index": index, "accepted": result.accepted, **body}
            results.append(body)
        accepted = sum(1 for r in results if r["accepted"])
        return Response({"accepted": accepted, "rejected": len(results) - accepted, "results": results})


class LeadDetailApi(generics.RetrieveAPIView):
    """One of your leads with its score breakdown, status history and the contact details you sent."""

    serializer_class = LeadDetailSerializer

    def get_object(self):
        _require_seller(self.request)
        try:
            lead = selectors.lead_get_for_seller(seller=self.request.user, lead_id=self.kwargs["pk"])
        except Lead.DoesNotExist:
            raise Http404 from None
        return Lead.objects.select_related("vertical", "pii").prefetch_related("history").get(pk=lead.pk)


