"""Returns and disputes for integrators (docs/api.md, "Disputes"): a buyer opens one on a purchase
within its dispute window, the seller answers (accept, offer a partial refund, contest), the buyer
answers an offer, either party adds evidence files while it is open, and both read it and download
its files. Staff decide contested disputes in the admin. Thin: escrow.services.disputes and
escrow.selectors.disputes do the work.

Writes take JSON, or multipart/form-data where files come along (`evidence`, up to
DISPUTE_EVIDENCE_MAX_FILES files of DISPUTE_EVIDENCE_MAX_BYTES each, checked by content). A dispute
(or purchase) that is not the caller's is a 404, the same as a missing one; refusals of the input
or of the dispute's state are 400s naming the field.
"""

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import FileResponse
from django.urls import path, reverse
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotAcceptable, NotFound, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from auctions.api.serializers import usdc
from core.api.errors import ApiError
from core.api.fields import StrictBooleanField, StrictCharField, StrictIntegerField
from core.api.money import field_errors
from core.errors import NotFoundError
from escrow.choices import (
    DisputeDecider,
    DisputeOutcome,
    DisputeParty,
    DisputeReason,
    DisputeRecommendation,
    DisputeResponse,
    DisputeState,
)
from escrow.models import Dispute
from escrow.selectors import disputes as dispute_selectors
from escrow.services import disputes
from escrow.services.evidence import ALLOWED_TYPES

ROLES = ("buyer", "seller")
MAX_ID = 2**63 - 1
THROTTLE_SCOPE = "disputes"
NO_STORE = {"Cache-Control": "private, no-store"}


def multipart_max_bytes() -> int:
    """The largest multipart body taken: every evidence file at its maximum, and 1 MiB for the
    text fields and the parts' headers."""
    return settings.DISPUTE_EVIDENCE_MAX_FILES * settings.DISPUTE_EVIDENCE_MAX_BYTES + 1024 * 1024


# ---------------------------------------------------------------- fields


class LabelledChoiceField(serializers.Field):
    """A choice as {"key": "invalid_phone", "label": "Invalid or disconnected phone"}: the key for
    programs, the label for people; null when the value is unset."""

    def __init__(self, choices, **kwargs):
        self.labels = dict(choices.choices)
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value):
        if value in (None, ""):
            return None
        return {"key": value, "label": self.labels.get(value, value)}


class LabelledChoiceFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "escrow.api.disputes.LabelledChoiceField"

    def map_serializer_field(self, auto_schema, direction):
        schema = {
            "type": "object",
            "properties": {
                "key": {"type": "string", "enum": list(self.target.labels)},
                "label": {"type": "string"},
            },
            "required": ["key", "label"],
        }
        if self.target.allow_null:
            schema["nullable"] = True
        return schema


def evidence_files(**kwargs) -> serializers.ListField:
    # The service checks each file's size and type by content and names the file in its message.
    return serializers.ListField(
        child=serializers.FileField(allow_empty_file=True, use_url=False),
        max_length=settings.DISPUTE_EVIDENCE_MAX_FILES,
        help_text=f"Up to {settings.DISPUTE_EVIDENCE_MAX_FILES} files of at most "
        f"{settings.DISPUTE_EVIDENCE_MAX_BYTES // (1024 * 1024)} MB each: "
        + ", ".join(sorted(set(ALLOWED_TYPES.values())))
        + " (the type is read from the content).",
        **kwargs,
    )


# ---------------------------------------------------------------- serializers: requests


class DisputeOpenSerializer(serializers.Serializer):
    sale_id = StrictIntegerField(min_value=1, max_value=MAX_ID, help_text="The purchase (sale) to dispute.")
    reason = serializers.ChoiceField(choices=DisputeReason.choices)
    statement = StrictCharField(max_length=disputes.MAX_STATEMENT, help_text="What is wrong, in a few words.")


class DisputeOpenFormSerializer(serializers.Serializer):
    """The same as multipart/form-data, with evidence files."""

    sale_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="The purchase (sale) to dispute.")
    reason = serializers.ChoiceField(choices=DisputeReason.choices)
    statement = serializers.CharField(max_length=disputes.MAX_STATEMENT, help_text="What is wrong, in a few words.")
    evidence = evidence_files(required=False)


class DisputeRespondSerializer(serializers.Serializer):
    response = serializers.ChoiceField(
        choices=DisputeResponse.choices,
        help_text="accept: refund in full; offer: a partial refund of offer_amount (the buyer answers); "
        "contest: staff decide (a statement is required).",
    )
    statement = StrictCharField(max_length=disputes.MAX_STATEMENT, required=False, allow_blank=True, default="")
    offer_amount = usdc(
        positive=True, required=False, allow_null=True, help_text="With offer: more than 0, less than the price."
    )


class DisputeRespondFormSerializer(serializers.Serializer):
    """The same as multipart/form-data, with evidence files."""

    response = serializers.ChoiceField(choices=DisputeResponse.choices)
    statement = serializers.CharField(max_length=disputes.MAX_STATEMENT, required=False, allow_blank=True, default="")
    offer_amount = usdc(positive=True, required=False, help_text="With offer: more than 0, less than the price.")
    evidence = evidence_files(required=False)


class DisputeOfferReplySerializer(serializers.Serializer):
    accept = StrictBooleanField(help_text="true: take the seller's offer (the outcome); false: staff decide.")


class DisputeEvidenceAddSerializer(serializers.Serializer):
    evidence = evidence_files(min_length=1)


# ---------------------------------------------------------------- serializers: responses


class DisputeEvidenceSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True, help_text="The file name as uploaded.")
    content_type = serializers.CharField(read_only=True, help_text="As read from the content.")
    size = serializers.IntegerField(read_only=True, help_text="Bytes.")
    party = serializers.ChoiceField(choices=DisputeParty.choices, read_only=True, help_text="Who attached it.")
    created_at = serializers.DateTimeField(read_only=True)
    url = serializers.SerializerMethodField(help_text="Download it here (parties only).")

    def get_url(self, evidence) -> str:
        return reverse("api-dispute-evidence", kwargs={"pk": evidence.dispute_id, "evidence_id": evidence.pk})


class DisputeSerializer(serializers.Serializer):
    """A dispute in a list."""

    id = serializers.IntegerField(read_only=True)
    sale_id = serializers.IntegerField(read_only=True, help_text="The purchase disputed.")
    lead_id = serializers.IntegerField(source="sale.lead_id", read_only=True)
    vertical = serializers.SlugField(source="vertical.slug", read_only=True)
    role = serializers.SerializerMethodField(help_text="Yours in it: buyer (you opened it) or seller.")
    state = LabelledChoiceField(DisputeState)
    reason = LabelledChoiceField(DisputeReason)
    price = usdc(read_only=True, help_text="What the buyer paid.")
    respond_by = serializers.DateTimeField(
        read_only=True, help_text="While it waits for the seller (or the buyer's reply to an offer): the deadline."
    )
    outcome = LabelledChoiceField(DisputeOutcome, allow_null=True, help_text="Null until decided.")
    refund_amount = usdc(read_only=True, allow_null=True, help_text="Null unless the outcome is a refund.")
    created_at = serializers.DateTimeField(read_only=True)
    closed_at = serializers.DateTimeField(read_only=True, allow_null=True)

    @extend_schema_field({"type": "string", "enum": list(ROLES)})
    def get_role(self, dispute: Dispute) -> str:
        return "buyer" if dispute.buyer_id == self.context["request"].user.pk else "seller"


class DisputeDetailSerializer(DisputeSerializer):
    """One dispute, as both parties read it."""

    statement = serializers.CharField(read_only=True, help_text="The buyer's statement.")
    checks = serializers.DictField(
        read_only=True, help_text="The automatic checks at opening: phone, contact, consent, listing, rescore."
    )
    recommendation = LabelledChoiceField(DisputeRecommendation, help_text="What the checks recommend.")
    recommendation_reasons = serializers.ListField(child=serializers.CharField(), read_only=True)
    seller_response = LabelledChoiceField(DisputeResponse, allow_null=True, help_text="Null until the seller answers.")
    seller_statement = serializers.CharField(read_only=True, allow_blank=True)
    offer_amount = usdc(read_only=True, allow_null=True, help_text="The seller's partial-refund offer.")
    responded_at = serializers.DateTimeField(read_only=True, allow_null=True)
    buyer_reply = serializers.ChoiceField(
        choices=["accepted", "declined", ""],
        read_only=True,
        help_text="The buyer's answer to the offer; empty until given.",
    )
    buyer_replied_at = serializers.DateTimeField(read_only=True, allow_null=True)
    decider = LabelledChoiceField(DisputeDecider, allow_null=True, help_text="Who or what decided; null until then.")
    decision_reason = serializers.CharField(read_only=True, allow_blank=True)
    decided_at = serializers.DateTimeField(read_only=True, allow_null=True)
    updated_at = serializers.DateTimeField(read_only=True)
    evidence = DisputeEvidenceSerializer(many=True, read_only=True)


# ---------------------------------------------------------------- helpers


def _check_body_size(request) -> None:
    """413 for a declared body over the limit (multipart: multipart_max_bytes(); JSON: the API's
    LEAD_MAX_BODY_BYTES), before anything reads it."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    multipart = request.content_type.startswith("multipart/")
    limit = multipart_max_bytes() if multipart else settings.LEAD_MAX_BODY_BYTES
    if declared > limit:
        raise ApiError(
            f"The request body is larger than {limit} bytes"
            + (f" ({settings.DISPUTE_EVIDENCE_MAX_FILES} files at most)." if multipart else "."),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            code="payload_too_large",
        )


def _valid(request, *, json_serializer, form_serializer=None) -> dict:
    """The body checked by the serializer of its media type (JSON, or multipart/form-data with files)."""
    _check_body_size(request)
    if request.content_type.startswith("multipart/") and form_serializer is not None:
        serializer = form_serializer(data=request.data)
    else:
        if not isinstance(request.data, dict):
            raise ValidationError({"non_field_errors": ["Send a JSON object."]})
        serializer = json_serializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _refused(exc: DjangoValidationError, *, rename: dict | None = None) -> Exception:
    """A service's refusal: not the caller's (NotFoundError) is a 404; the rest a 400 by field."""
    rename = rename or {}
    if isinstance(exc, NotFoundError):
        name, messages = next(iter(exc.message_dict.items()))
        if name in rename:  # a body field names something that is not there (or not yours)
            return ApiError(messages[0], status=status.HTTP_404_NOT_FOUND, code="resource_missing", param=rename[name])
        return NotFound(messages[0])
    errors = field_errors(exc)
    return ValidationError({rename.get(name, name): messages for name, messages in errors.detail.items()})


def _detail(request, dispute_id: int, *, status_code: int = status.HTTP_200_OK) -> Response:
    dispute, _role = dispute_selectors.dispute_get_for_party(user=request.user, dispute_id=dispute_id)
    if dispute is None:
        raise NotFound("No such dispute of yours.")
    body = DisputeDetailSerializer(dispute, context={"request": request}).data
    return Response(body, status=status_code, headers=NO_STORE)


def _party_or_404(request, dispute_id: int) -> None:
    """Strangers get a 404 before their input is looked at."""
    if dispute_selectors.dispute_get_for_party(user=request.user, dispute_id=dispute_id)[0] is None:
        raise NotFound("No such dispute of yours.")


class _WritesThrottled:
    """Dispute writes (each may carry files) count in their own, smaller rate limit."""

    def get_throttles(self):
        if self.request.method == "POST":
            self.throttle_scope = THROTTLE_SCOPE
        return super().get_throttles()


class _AnyAccept(DefaultContentNegotiation):
    """A download answers with the file's own type whatever the client accepts (errors stay JSON)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except NotAcceptable:
            return renderers[0], renderers[0].media_type


def _body(json_serializer, form_serializer=None) -> dict:
    body = {"application/json": json_serializer}
    if form_serializer is not None:
        body["multipart/form-data"] = form_serializer
    return body


# ---------------------------------------------------------------- views

TOO_LARGE = "The request body is too large (multipart: every evidence file at its maximum and 1 MiB of fields)."


class DisputeListCreateApi(_WritesThrottled, generics.ListAPIView):
    """GET: disputes you opened as a buyer and received as a seller, newest first, cursor-paginated
    (`role` keeps one side). POST: open a dispute on one of your purchases within its dispute window,
    with evidence files as multipart/form-data (or JSON without files)."""

    serializer_class = DisputeSerializer
    parser_classes = [JSONParser, MultiPartParser]
    error_statuses = {
        "post": {
            404: "No such purchase of yours (`sale_id`, code `resource_missing`).",
            413: TOO_LARGE,
            415: "The body is neither JSON nor multipart/form-data.",
        }
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Dispute.objects.none()
        role = self.request.query_params.get("role")
        if role is not None and role not in ROLES:
            raise ValidationError({"role": ["buyer or seller (leave it out for both)."]})
        return dispute_selectors.dispute_list_for(user=self.request.user, role=role)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "role", str, enum=list(ROLES), description="Only the disputes you opened (buyer) or received (seller)."
            )
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=_body(DisputeOpenSerializer, DisputeOpenFormSerializer),
        responses={201: DisputeDetailSerializer},
    )
    def post(self, request):
        data = _valid(request, json_serializer=DisputeOpenSerializer, form_serializer=DisputeOpenFormSerializer)
        try:
            dispute = disputes.dispute_open(
                buyer=request.user,
                sale_id=data["sale_id"],
                reason=data["reason"],
                statement=data["statement"],
                files=data.get("evidence") or [],
            )
        except DjangoValidationError as exc:
            raise _refused(exc, rename={"sale": "sale_id"}) from None
        return _detail(request, dispute.pk, status_code=status.HTTP_201_CREATED)


class DisputeDetailApi(APIView):
    """One dispute of yours (as its buyer or its seller): the checks and their recommendation, the
    seller's answer, the outcome and the evidence files. Anyone else's is a 404."""

    @extend_schema(responses={200: DisputeDetailSerializer})
    def get(self, request, pk: int):
        return _detail(request, pk)


class DisputeRespondApi(_WritesThrottled, APIView):
    """The seller answers by `respond_by`: accept (a full refund), offer a partial refund
    (`offer_amount`; the buyer answers) or contest (a statement; staff decide), with evidence
    files as multipart/form-data. Only the dispute's seller; anyone else gets a 404."""

    parser_classes = [JSONParser, MultiPartParser]
    error_statuses = {"post": {413: TOO_LARGE, 415: "The body is neither JSON nor multipart/form-data."}}

    @extend_schema(
        request=_body(DisputeRespondSerializer, DisputeRespondFormSerializer),
        responses={200: DisputeDetailSerializer},
    )
    def post(self, request, pk: int):
        _party_or_404(request, pk)
        data = _valid(request, json_serializer=DisputeRespondSerializer, form_serializer=DisputeRespondFormSerializer)
        try:
            disputes.dispute_respond(
                seller=request.user,
                dispute_id=pk,
                response=data["response"],
                statement=data.get("statement", ""),
                offer_amount=data.get("offer_amount"),
                files=data.get("evidence") or [],
            )
        except DjangoValidationError as exc:
            raise _refused(exc) from None
        return _detail(request, pk)


class DisputeOfferReplyApi(_WritesThrottled, APIView):
    """The buyer answers the seller's partial-refund offer: accept (the outcome) or decline (staff
    decide). Only the dispute's buyer; anyone else gets a 404."""

    @extend_schema(request=DisputeOfferReplySerializer, responses={200: DisputeDetailSerializer})
    def post(self, request, pk: int):
        data = _valid(request, json_serializer=DisputeOfferReplySerializer)
        try:
            disputes.dispute_offer_reply(buyer=request.user, dispute_id=pk, accept=data["accept"])
        except DjangoValidationError as exc:
            raise _refused(exc) from None
        return _detail(request, pk)


class DisputeEvidenceAddApi(_WritesThrottled, APIView):
    """Either party adds evidence files (multipart/form-data) while the dispute is open."""

    parser_classes = [MultiPartParser]
    error_statuses = {"post": {413: TOO_LARGE, 415: "The body is not multipart/form-data."}}

    @extend_schema(
        request={"multipart/form-data": DisputeEvidenceAddSerializer},
        responses={200: DisputeDetailSerializer},
    )
    def post(self, request, pk: int):
        _check_body_size(request)
        _party_or_404(request, pk)
        serializer = DisputeEvidenceAddSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            disputes.dispute_evidence_add(user=request.user, dispute_id=pk, files=serializer.validated_data["evidence"])
        except DjangoValidationError as exc:
            raise _refused(exc) from None
        return _detail(request, pk)


class DisputeEvidenceDownloadApi(APIView):
    """One evidence file, as an attachment with its type as read from the content. The dispute's
    parties only; anyone else gets a 404."""

    content_negotiation_class = _AnyAccept

    @extend_schema(
        responses={
            (200, content_type): OpenApiResponse(OpenApiTypes.BINARY, description="The file.")
            for content_type in ALLOWED_TYPES
        }
    )
    def get(self, request, pk: int, evidence_id: int):
        evidence = dispute_selectors.dispute_evidence_get_for_party(
            user=request.user, dispute_id=pk, evidence_id=evidence_id
        )
        if evidence is None:
            raise NotFound("No such evidence file of yours.")
        response = FileResponse(
            evidence.file.open("rb"), as_attachment=True, filename=evidence.name, content_type=evidence.content_type
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = NO_STORE["Cache-Control"]
        return response


urlpatterns = [
    path("disputes/", DisputeListCreateApi.as_view(), name="api-dispute-list"),
    path("disputes/<int:pk>/", DisputeDetailApi.as_view(), name="api-dispute-detail"),
    path("disputes/<int:pk>/respond/", DisputeRespondApi.as_view(), name="api-dispute-respond"),
    path("disputes/<int:pk>/offer-reply/", DisputeOfferReplyApi.as_view(), name="api-dispute-offer-reply"),
    path("disputes/<int:pk>/evidence/", DisputeEvidenceAddApi.as_view(), name="api-dispute-evidence-add"),
    path(
        "disputes/<int:pk>/evidence/<int:evidence_id>/",
        DisputeEvidenceDownloadApi.as_view(),
        name="api-dispute-evidence",
    ),
]
