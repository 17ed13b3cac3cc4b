"""The seller's ad-platform connections and their events for integrators: connections CRUD, the
connection's secret (read, rotate), its events (newest first, cursor-paginated) and replay.
Thin: leads.adplatforms does the work. The inbound hooks are not here (leads/views/adhooks.py)."""

from django.urls import path, reverse
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.errors import ApiError
from core.api.pagination import ValidatedCursorPagination
from core.errors import NotFoundError
from leads.adplatforms import connections, processing, selectors
from leads.choices import AdPlatform
from leads.models import AdConnection, AdLeadEvent
from verticals.choices import VerticalStatus
from verticals.models import Vertical

REQUIRED_ROLE = "seller"


def _require_seller(request):
    if not request.user.is_seller:
        raise ApiError(
            "Only seller accounts can connect lead forms. Enable selling on your account page.",
            status=status.HTTP_403_FORBIDDEN,
            code="seller_required",
        )


def _invalid(exc: connections.ConnectionInvalid):
    return serializers.ValidationError(exc.errors)


class AdConnectionSerializer(serializers.ModelSerializer):
    vertical = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    webhook_url = serializers.SerializerMethodField(help_text="Paste this into the platform's webhook settings.")

    class Meta:
        model = AdConnection
        fields = [
            "id",
            "platform",
            "vertical",
            "name",
            "webhook_url",
            "form_ids",
            "mapping",
            "consent_text",
            "active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_webhook_url(self, connection) -> str:
        name = "hook-google" if connection.platform == AdPlatform.GOOGLE else "hook-meta"
        return self.context["request"].build_absolute_uri(reverse(name, args=[connection.token]))


class AdConnectionInputSerializer(serializers.Serializer):
    platform = serializers.ChoiceField(choices=AdPlatform.choices)
    vertical = serializers.SlugRelatedField(
        slug_field="slug", queryset=Vertical.objects.filter(status=VerticalStatus.ACTIVE)
    )
    name = serializers.CharField(max_length=100)
    form_ids = serializers.ListField(child=serializers.CharField(max_length=100), max_length=50)
    mapping = serializers.DictField(
        child=serializers.CharField(max_length=200),
        required=False,
        help_text="Lead field (email, fields.roof_type, full_name…) → the platform's field id or name; "
        "absent: the platform's standard fields.",
    )
    consent_text = serializers.CharField(max_length=5000)
    app_secret = serializers.CharField(max_length=500, required=False, write_only=True, help_text="Meta only.")
    page_access_token = serializers.CharField(max_length=500, required=False, write_only=True, help_text="Meta only.")


class AdConnectionUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    form_ids = serializers.ListField(child=serializers.CharField(max_length=100), max_length=50, required=False)
    mapping = serializers.DictField(child=serializers.CharField(max_length=200), required=False)
    consent_text = serializers.CharField(max_length=5000, required=False)
    active = serializers.BooleanField(required=False)
    app_secret = serializers.CharField(max_length=500, required=False, write_only=True)
    page_access_token = serializers.CharField(max_length=500, required=False, write_only=True)


class AdSecretSerializer(serializers.Serializer):
    google_key = serializers.CharField(help_text="Google: the key of the lead form's webhook (empty for Meta).")
    verify_token = serializers.CharField(help_text="Meta: the webhook's verify token (empty for Google).")


class AdLeadEventSerializer(serializers.ModelSerializer):
    replayable = serializers.BooleanField(read_only=True)

    class Meta:
        model = AdLeadEvent
        fields = [
            "id",
            "platform",
            "platform_lead_id",
            "form_id",
            "is_test",
            "status",
            "error",
            "http_status",
            "lead",
            "attempts",
            "received_at",
            "processed_at",
            "replayable",
        ]
        read_only_fields = fields


class ReceivedCursorPagination(ValidatedCursorPagination):
    ordering = ("-received_at", "-id")
    page_size = 50


def _connection(request, pk: int) -> AdConnection:
    _require_seller(request)
    try:
        return connections.access_ad_connection(seller=request.user, connection_id=pk)
    except NotFoundError:
        raise NotFound("No such connection.") from None


class AdConnectionListApi(generics.ListCreateAPIView):
    """Your lead form connections (newest first); POST creates one with fresh secrets."""

    serializer_class = AdConnectionSerializer
    required_role = REQUIRED_ROLE
    error_statuses = {"post": {404: "No such vertical accepting leads (`vertical`)."}}

    def get_queryset(self):
        _require_seller(self.request)
        return AdConnection.objects.filter(seller=self.request.user).select_related("vertical")

    @extend_schema(request=AdConnectionInputSerializer, responses={201: AdConnectionSerializer})
    def post(self, request):
        _require_seller(request)
        data = AdConnectionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            created = connections.ad_connection_create(seller=request.user, **data.validated_data)
        except connections.ConnectionInvalid as exc:
            raise _invalid(exc) from None
        return Response(AdConnectionSerializer(created, context={"request": request}).data, status=201)


class AdConnectionDetailApi(APIView):
    """One of your connections: read, change (mapping, form ids, consent text, active, Meta secrets), delete."""

    required_role = REQUIRED_ROLE

    @extend_schema(responses={200: AdConnectionSerializer})
    def get(self, request, pk: int):
        return Response(AdConnectionSerializer(_connection(request, pk), context={"request": request}).data)

    @extend_schema(request=AdConnectionUpdateSerializer, responses={200: AdConnectionSerializer})
    def patch(self, request, pk: int):
        connection = _connection(request, pk)
        data = AdConnectionUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            updated = connections.ad_connection_update(connection=connection, **data.validated_data)
        except connections.ConnectionInvalid as exc:
            raise _invalid(exc) from None
        return Response(AdConnectionSerializer(updated, context={"request": request}).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        connections.ad_connection_delete(connection=_connection(request, pk))
        return Response(status=204)


class AdConnectionSecretApi(APIView):
    """The secret you paste into the platform (GET), or a new one (POST: the old stops working)."""

    required_role = REQUIRED_ROLE

    def _body(self, connection) -> dict:
        values = connections.connection_secrets(connection=connection)
        return {"google_key": values.google_key, "verify_token": values.verify_token}

    @extend_schema(responses={200: AdSecretSerializer})
    def get(self, request, pk: int):
        return Response(self._body(_connection(request, pk)), headers={"Cache-Control": "private, no-store"})

    @extend_schema(request=None, responses={200: AdSecretSerializer})
    def post(self, request, pk: int):
        rotated = connections.ad_connection_rotate_secret(connection=_connection(request, pk))
        return Response(self._body(rotated), headers={"Cache-Control": "private, no-store"})


class AdEventListApi(generics.ListAPIView):
    """A connection's events (every delivery, refused ones too), newest first."""

    serializer_class = AdLeadEventSerializer
    pagination_class = ReceivedCursorPagination
    required_role = REQUIRED_ROLE

    def get_queryset(self):
        return selectors.ad_event_list(connection=_connection(self.request, self.kwargs["pk"]))


class AdEventReplayApi(APIView):
    """Process a failed event (or a signed delivery that was refused) again, with the connection
    as it is now; the result shows on the event once processed."""

    required_role = REQUIRED_ROLE
    error_statuses = {"post": {409: "The event is not failed (or a refused signed delivery): nothing to replay."}}

    @extend_schema(request=None, responses={202: AdLeadEventSerializer})
    def post(self, request, pk: int):
        _require_seller(request)
        try:
            event = processing.ad_event_replay(seller=request.user, event_id=pk)
        except NotFoundError:
            raise NotFound("No such event.") from None
        except ValueError as exc:
            raise ApiError(str(exc), status=status.HTTP_409_CONFLICT, code="not_replayable") from None
        event.refresh_from_db()
        return Response(AdLeadEventSerializer(event).data, status=202)


urlpatterns = [
    path("ad-connections/", AdConnectionListApi.as_view(), name="api-ad-connection-list"),
    path("ad-connections/<int:pk>/", AdConnectionDetailApi.as_view(), name="api-ad-connection-detail"),
    path("ad-connections/<int:pk>/secret/", AdConnectionSecretApi.as_view(), name="api-ad-connection-secret"),
    path("ad-connections/<int:pk>/events/", AdEventListApi.as_view(), name="api-ad-event-list"),
    path("ad-events/<int:pk>/replay/", AdEventReplayApi.as_view(), name="api-ad-event-replay"),
]
