"""Delivery destinations and the delivery log for integrators: destinations CRUD (DELETE archives:
the log stays), rotate the webhook signing secret (shown once), test-send the sample lead, a
purchase's deliveries with their attempts, and redeliver. Buyers only; anyone else's is a 404.
Thin: integrations.services write, integrations.selectors read."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.errors import ApiError
from core.api.fields import StrictBooleanField, StrictCharField
from core.api.money import field_errors
from integrations import selectors
from integrations.choices import BodyFormat, CrmPreset, DestinationKind, DestinationScope
from integrations.models import Delivery, DeliveryAttempt, Destination
from integrations.services import deliveries, destinations
from integrations.tasks import delivery_queue
from verticals.api.fields import VerticalSlugField


class _VerticalField(VerticalSlugField):
    """A vertical slug or null; an empty string is neither (DRF would take it as null)."""

    def run_validation(self, data=serializers.empty):
        if data == "":  # RelatedField.run_validation would turn it into null first
            self.fail("invalid")
        return super().run_validation(data)


class DestinationSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = StrictCharField(max_length=100)
    kind = serializers.ChoiceField(choices=DestinationKind.choices, help_text="Fixed once created.")
    scope = serializers.ChoiceField(choices=DestinationScope.choices, required=False)
    vertical = _VerticalField(allow_null=True, required=False, help_text="scope=vertical: the vertical's slug.")
    rule = serializers.IntegerField(
        source="rule_id", allow_null=True, required=False, min_value=1, help_text="scope=rule: your autobid rule's id."
    )
    url = serializers.URLField(max_length=500, required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    crm_preset = serializers.ChoiceField(choices=CrmPreset.choices, required=False, allow_blank=True)
    body_format = serializers.ChoiceField(choices=BodyFormat.choices, required=False)
    mapping = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=1000),
        required=False,
        help_text='CRM: {"their field": "{{ contact.email }}", …}; a preset fills it when empty.',
    )
    wrap_key = serializers.CharField(max_length=40, required=False, allow_blank=True)
    authorization = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=500,
        help_text="An Authorization header value to send (e.g. HubSpot's Bearer token); stored sealed, never shown.",
    )
    active = StrictBooleanField(required=False)
    secret_hint = serializers.CharField(read_only=True, help_text="The signing secret's last 4 characters.")
    created_at = serializers.DateTimeField(read_only=True)


class DestinationCreatedSerializer(DestinationSerializer):
    signing_secret = serializers.CharField(
        read_only=True, help_text="Webhooks: the signing secret, shown this once (rotate it to get a new one)."
    )


class SecretSerializer(serializers.Serializer):
    signing_secret = serializers.CharField(read_only=True)


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["number", "outcome", "status_code", "latency_ms", "response_excerpt", "error", "started_at"]
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer):
    idempotency_key = serializers.UUIDField(source="public_id", read_only=True)
    attempt_log = DeliveryAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "idempotency_key",
            "destination",
            "sale",
            "is_test",
            "redelivery_of",
            "state",
            "attempts",
            "next_attempt_at",
            "delivered_at",
            "last_error",
            "correlation_id",
            "created_at",
            "attempt_log",
        ]
        read_only_fields = fields


class _BuyerOnly:
    required_role = "buyer"

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not request.user.is_buyer:
            raise ApiError(
                "Only buyer accounts deliver purchases. Enable buying on your account page.",
                status=status.HTTP_403_FORBIDDEN,
                code="buyer_required",
            )


def _destination_or_404(request, pk: int) -> Destination:
    try:
        return selectors.destination_get_for_owner(owner=request.user, destination_id=pk)
    except Destination.DoesNotExist:
        raise NotFound("No such destination.") from None


def _fields(data: dict) -> dict:
    return dict(data)


class DestinationListCreateApi(_BuyerOnly, generics.ListCreateAPIView):
    """GET: your delivery destinations (cursor-paginated, newest first). POST: create one; a
    webhook's signing secret is in the answer this once."""

    serializer_class = DestinationSerializer
    error_statuses = {"post": {404: "No such vertical."}}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Destination.objects.none()
        return selectors.destination_list_for_owner(owner=self.request.user)

    @extend_schema(request=DestinationSerializer, responses={201: DestinationCreatedSerializer})
    def post(self, request, *args, **kwargs):
        serializer = DestinationSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = _fields(serializer.validated_data)
        try:
            destination, secret = destinations.destination_create(
                owner=request.user, kind=data.pop("kind"), name=data.pop("name"), **data
            )
        except DjangoValidationError as exc:
            raise field_errors(exc) from None
        body = DestinationCreatedSerializer(destination).data
        body["signing_secret"] = secret
        return Response(body, status=status.HTTP_201_CREATED)


class DestinationDetailApi(_BuyerOnly, generics.RetrieveUpdateDestroyAPIView):
    """GET, PATCH (any field but kind) or DELETE (archive: nothing more is sent, the log stays)."""

    serializer_class = DestinationSerializer
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Destination.objects.none()
        return selectors.destination_list_for_owner(owner=self.request.user)

    def get_object(self):
        return _destination_or_404(self.request, self.kwargs["pk"])

    def perform_update(self, serializer):
        data = _fields(serializer.validated_data)
        if "kind" in data and data.pop("kind") != serializer.instance.kind:
            raise field_errors(DjangoValidationError({"kind": "The kind of a destination is fixed."}))
        authorization = data.pop("authorization", None)
        try:
            serializer.instance = destinations.destination_update(
                destination=serializer.instance, authorization=authorization, **data
            )
        except DjangoValidationError as exc:
            raise field_errors(exc) from None

    def perform_destroy(self, instance):
        destinations.destination_archive(destination=instance)


class DestinationRotateSecretApi(_BuyerOnly, APIView):
    """A new webhook signing secret, shown this once; the old one stops signing at once."""

    error_statuses = {"post": {409: "Not a webhook: only webhooks have a signing secret."}}

    @extend_schema(request=None, responses=SecretSerializer)
    def post(self, request, pk: int):
        try:
            secret = destinations.destination_secret_rotate(destination=_destination_or_404(request, pk))
        except DjangoValidationError:
            raise ApiError(
                "Only webhooks have a signing secret.", status=status.HTTP_409_CONFLICT, code="not_a_webhook"
            ) from None
        return Response({"signing_secret": secret})


class DestinationTestSendApi(_BuyerOnly, APIView):
    """Send the made-up sample lead (no real contact details) to this destination now; the answer
    is the queued delivery (poll it in the destination's page, or watch your receiver)."""

    @extend_schema(request=None, responses={202: DeliverySerializer})
    def post(self, request, pk: int):
        delivery = deliveries.delivery_test_send(destination=_destination_or_404(request, pk))
        delivery_queue(delivery_id=delivery.pk)
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class PurchaseDeliveryListApi(_BuyerOnly, generics.ListAPIView):
    """A purchase's deliveries to your destinations with every attempt (status, latency, a response
    excerpt with the contact details redacted), newest first (cursor-paginated)."""

    serializer_class = DeliverySerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Delivery.objects.none()
        return selectors.delivery_list_for_purchase(owner=self.request.user, sale_id=self.kwargs["pk"])


class DeliveryRedeliverApi(_BuyerOnly, APIView):
    """Send this delivery's purchase to its destination again: a new delivery with a new
    Idempotency-Key (so your receiver does not drop it as a repeat)."""

    @extend_schema(request=None, responses={202: DeliverySerializer})
    def post(self, request, pk: int):
        try:
            delivery = selectors.delivery_get_for_owner(owner=request.user, delivery_id=pk)
        except Delivery.DoesNotExist:
            raise NotFound("No such delivery.") from None
        again = deliveries.delivery_redeliver(delivery=delivery)
        delivery_queue(delivery_id=again.pk)
        return Response(DeliverySerializer(again).data, status=status.HTTP_202_ACCEPTED)


urlpatterns = [
    path("delivery-destinations/", DestinationListCreateApi.as_view(), name="api-destination-list"),
    path("delivery-destinations/<int:pk>/", DestinationDetailApi.as_view(), name="api-destination-detail"),
    path(
        "delivery-destinations/<int:pk>/rotate-secret/",
        DestinationRotateSecretApi.as_view(),
        name="api-destination-rotate-secret",
    ),
    path("delivery-destinations/<int:pk>/test-send/", DestinationTestSendApi.as_view(), name="api-destination-test"),
    path("purchases/<int:pk>/deliveries/", PurchaseDeliveryListApi.as_view(), name="api-purchase-deliveries"),
    path("deliveries/<int:pk>/redeliver/", DeliveryRedeliverApi.as_view(), name="api-delivery-redeliver"),
]
