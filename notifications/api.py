"""The caller's notifications for integrators: the list (newest first, cursor-paginated, `unread`
filter), marking one or all read, and the channel preferences per event with the low-balance
threshold. Thin: notifications.selectors read, notifications.services write."""

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.fields import StrictBooleanField
from core.api.money import UsdcField
from core.api.serializers import FastReadMixin
from notifications import selectors, services
from notifications.choices import Channels, NotificationEvent
from notifications.models import Notification


class NotificationSerializer(FastReadMixin, serializers.ModelSerializer):
    fast_read_static = True

    class Meta:
        model = Notification
        fields = ["id", "event", "title", "body", "url", "created_at", "read_at"]
        read_only_fields = fields
        extra_kwargs = {
            "url": {"help_text": "Where the notification leads: a path on this site, or empty."},
            "read_at": {"help_text": "When you marked it read; null while unread."},
        }


class MarkedSerializer(serializers.Serializer):
    marked = serializers.IntegerField(read_only=True, help_text="How many notifications this marked read.")


class EventPreferenceSerializer(serializers.Serializer):
    event = serializers.ChoiceField(choices=NotificationEvent.choices)
    label = serializers.CharField(read_only=True)
    in_app = StrictBooleanField(help_text="Shown in your notification list (and pushed on your socket).")
    email = StrictBooleanField(help_text="Emailed (sales as one digest per period).")


class PreferencesSerializer(serializers.Serializer):
    events = EventPreferenceSerializer(
        many=True,
        help_text="Every event with your channels (GET). PUT sets the events listed (an event listed twice: "
        "the last wins); the others keep theirs.",
    )
    low_balance_threshold = UsdcField(
        allow_null=True,
        required=False,
        help_text="Tell me when my available balance falls below this (once per crossing); null: never. "
        "Omitted on PUT: unchanged.",
    )


UNREAD = OpenApiParameter(
    "unread",
    type=bool,
    location=OpenApiParameter.QUERY,
    required=False,
    description="true: only unread; false: only read; absent: all.",
)


def _unread_filter(request) -> bool | None:
    raw = request.query_params.get("unread")
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise ValidationError({"unread": ["true or false."]}, code="invalid")
    return raw == "true"


class NotificationListApi(generics.ListAPIView):
    """Your notifications, newest first, cursor-paginated; `unread=true` for the unread ones."""

    serializer_class = NotificationSerializer

    @extend_schema(parameters=[UNREAD])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return selectors.notification_list_for(user=self.request.user, unread=_unread_filter(self.request))


class NotificationReadApi(APIView):
    """Mark one of your notifications read (again: no change). Anyone else's is a 404."""

    @extend_schema(request=None, responses={200: NotificationSerializer})
    def post(self, request, notification_id: int):
        try:
            row = services.notification_mark_read(user=request.user, notification_id=notification_id)
        except Notification.DoesNotExist:
            raise NotFound("No such notification.") from None
        return Response(NotificationSerializer(row).data)


class NotificationReadAllApi(APIView):
    """Mark every unread notification of yours read."""

    @extend_schema(request=None, responses={200: MarkedSerializer})
    def post(self, request):
        return Response({"marked": services.notification_mark_all_read(user=request.user)})


class NotificationPreferencesApi(APIView):
    """Your channels per event (in the app, by email) and your low-balance threshold."""

    def _body(self, user) -> dict:
        return {
            "events": [vars(choice) for choice in selectors.preferences_for(user=user)],
            "low_balance_threshold": selectors.low_balance_threshold_for(user=user),
        }

    @extend_schema(responses={200: PreferencesSerializer})
    def get(self, request):
        return Response(PreferencesSerializer(self._body(request.user)).data)

    @extend_schema(request=PreferencesSerializer, responses={200: PreferencesSerializer})
    def put(self, request):
        serializer = PreferencesSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.preferences_update(
            user=request.user,
            choices={item["event"]: Channels(in_app=item["in_app"], email=item["email"]) for item in data["events"]},
            low_balance_threshold=data.get("low_balance_threshold"),
            threshold="low_balance_threshold" in data,
        )
        return Response(PreferencesSerializer(self._body(request.user)).data)


urlpatterns = [
    path("notifications/", NotificationListApi.as_view(), name="api-notification-list"),
    path("notifications/read-all/", NotificationReadAllApi.as_view(), name="api-notification-read-all"),
    path("notifications/preferences/", NotificationPreferencesApi.as_view(), name="api-notification-preferences"),
    path("notifications/<int:notification_id>/read/", NotificationReadApi.as_view(), name="api-notification-read"),
]
