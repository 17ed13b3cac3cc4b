"""Reads of notifications: the user's list, the header's unread count, their channel choices."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet

from accounts.models import User
from core.paging import Page, page_newest_first
from notifications.choices import DEFAULTS, Channels, NotificationEvent
from notifications.models import Notification, NotificationPreference, NotificationSettings

PAGE_SIZE = 50


def notification_list_for(*, user: User, unread: bool | None = None) -> QuerySet[Notification]:
    """The user's in-app notifications, newest first; unread=True only unread, False only read."""
    qs = Notification.objects.filter(user=user, in_app=True)
    if unread is True:
        qs = qs.filter(read_at__isnull=True)
    elif unread is False:
        qs = qs.filter(read_at__isnull=False)
    return qs.order_by("-created_at", "-id")


def notification_page_for(*, user: User, cursor: str = "", size: int = PAGE_SIZE) -> Page:
    """One page of the list ((created_at, id) keyset, as every page of the site)."""
    return page_newest_first(notification_list_for(user=user), cursor=cursor, size=size)


def unread_count(*, user_id: int) -> int:
    """How many in-app notifications the user has not read (one count on a partial index)."""
    return Notification.objects.filter(user_id=user_id, in_app=True, read_at__isnull=True).count()


@dataclass(frozen=True)
class EventChoice:
    event: str
    label: str
    in_app: bool
    email: bool


def preferences_for(*, user: User) -> list[EventChoice]:
    """Every event with the user's channels (their choice, else the default), in the events' order."""
    chosen = {
        p.event: Channels(in_app=p.in_app, email=p.email) for p in NotificationPreference.objects.filter(user=user)
    }
    out = []
    for event in NotificationEvent:
        channels = chosen.get(event.value) or DEFAULTS[event]
        out.append(EventChoice(event=event.value, label=event.label, in_app=channels.in_app, email=channels.email))
    return out


def low_balance_threshold_for(*, user: User) -> Decimal | None:
    return NotificationSettings.objects.filter(user=user).values_list("low_balance_threshold", flat=True).first()
