"""Every write of notifications: notify (the one entry point every app calls), the email and the
digest, read marks, preferences, one-click unsubscribe and the low-balance watch.

Nothing here may carry a lead's personal data: titles, bodies and contexts name sales, auctions
and amounts, never a consumer (callers build them; docs/notifications.md).
"""

import json
import logging
import uuid
from decimal import Decimal

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from core.broadcast import group_send_on_commit
from core.display import usdc_text
from core.groups import user_group
from core.localcache import LocalCache
from notifications.choices import DEFAULTS, DIGEST_EVENTS, Channels, EmailStatus, NotificationEvent
from notifications.models import Notification, NotificationPreference, NotificationSettings
from notifications.signals import notification_email_due

logger = logging.getLogger(__name__)

# A user's choices by event ({} when they kept every default), and their low-balance threshold:
# notify and the ledger's low-balance watch run on hot paths (a bid, a close) and must not pay a
# query for rows that change a few times a year. Emptied everywhere when a user saves them.
PREFERENCES = LocalCache("notifications.preferences")
THRESHOLDS = LocalCache("notifications.thresholds")
UNSUBSCRIBE_SALT = "notifications.unsubscribe"


# ---------------------------------------------------------------- channels


def _choices_of(user_id: int) -> dict[str, Channels]:
    return {
        event: Channels(in_app=in_app, email=email)
        for event, in_app, email in NotificationPreference.objects.filter(user_id=user_id).values_list(
            "event", "in_app", "email"
        )
    }


def channels_for(*, user_id: int, event: str) -> Channels:
    """How `event` reaches this user: their choice, else the event's default."""
    chosen = PREFERENCES.get(user_id, lambda: _choices_of(user_id))
    return chosen.get(event) or DEFAULTS[event]


# ---------------------------------------------------------------- notify


def notify(
    *,
    user_id: int,
    event: str,
    title: str,
    body: str = "",
    url: str = "",
    key: str | None = None,
    context: dict | None = None,
) -> Notification | None:
    """Tell a user about a fact, by the channels they chose for `event`. Stored once per (user,
    key): a second call with the same key does nothing and returns None (so does a call for an
    event the user silenced everywhere). In the caller's transaction: the row commits with the
    fact; on commit it is pushed to the user's socket and its email queued (a digest event's email
    waits for the next digest)."""
    event = NotificationEvent(event)
    channels = channels_for(user_id=user_id, event=event)
    if not (channels.in_app or channels.email):
        return None
    if not channels.email:
        email_status = EmailStatus.NONE
    else:
        email_status = EmailStatus.DIGEST if event in DIGEST_EVENTS else EmailStatus.QUEUED
    row = Notification(
        user_id=user_id,
        event=event,
        key=(key or f"once:{uuid.uuid4().hex}")[:200],
        title=title[:200],
        body=body,
        url=url[:500],
        context=context or {},
        in_app=channels.in_app,
        email_status=email_status,
    )
    with transaction.atomic():
        if not _insert(row):
            return None
        if row.in_app:
            group_send_on_commit(group=user_group(user_id), payload=live_payload(row))
        if row.email_status == EmailStatus.QUEUED:
            notification_id = row.pk
            transaction.on_commit(
                lambda: notification_email_due.send(sender=Notification, notification_id=notification_id)
            )
    logger.info("notification stored", extra={"user_id": user_id, "event": event, "notification_id": row.pk})
    return row


def _insert(row: Notification) -> bool:
    """INSERT … ON CONFLICT (user, key) DO NOTHING, in one statement (no savepoint on the hot
    paths that notify: a bid, a close). Sets pk and created_at; False when the key was there."""
    table = connection.ops.quote_name(Notification._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (user_id, event, key, title, body, url, context, in_app, email_status, created_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s, now()) "
            "ON CONFLICT (user_id, key) DO NOTHING RETURNING id, created_at",
            [
                row.user_id,
                row.event,
                row.key,
                row.title,
                row.body,
                row.url,
                json.dumps(row.context),
                row.in_app,
                row.email_status,
            ],
        )
        found = cursor.fetchone()
    if found is None:
        return False
    row.pk, row.created_at = found
    row._state.adding, row._state.db = False, "default"
    return True


def live_payload(row: Notification) -> dict:
    """What the user's socket receives ("notification.new"): the header badge counts it."""
    return {
        "type": "notification.new",
        "id": row.pk,
        "event": row.event,
        "title": row.title,
        "body": row.body,
        "url": row.url,
        "created_at": row.created_at.isoformat(),
    }


# ---------------------------------------------------------------- email


def absolute_url(path: str) -> str:
    if not path or "://" in path:
        return path
    return settings.SITE_URL.rstrip("/") + path


def unsubscribe_token(*, user_id: int, event: str) -> str:
    """A signed token for one user × event: the one-click unsubscribe link needs no login."""
    # No timestamp: an unsubscribe link keeps working however old the email is.
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign_object({"u": user_id, "e": str(event)})


def unsubscribe_token_read(token: str) -> tuple[int, str] | None:
    """(user_id, event) from a token this site signed, or None (tampered, foreign, malformed)."""
    if not token or len(token) > 300:
        return None
    try:
        data = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign_object(token)
    except (signing.BadSignature, ValueError, TypeError, UnicodeError):
        return None
    if not isinstance(data, dict) or type(data.get("u")) is not int or data.get("e") not in NotificationEvent.values:
        return None
    return data["u"], data["e"]


def unsubscribe_url(*, user_id: int, event: str) -> str:
    return absolute_url(reverse("notifications:unsubscribe", args=[unsubscribe_token(user_id=user_id, event=event)]))


def _email(*, user: User, event: str, subject: str, template: str, context: dict) -> EmailMultiAlternatives:
    """A text + HTML email with the RFC 8058 one-click unsubscribe headers for `event`."""
    link = unsubscribe_url(user_id=user.pk, event=event)
    context = {
        **context,
        "user_name": user.get_short_name(),
        "event_label": NotificationEvent(event).label,
        "unsubscribe_url": link,
        "preferences_url": absolute_url(reverse("notifications:preferences")),
    }
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"notifications/email/{template}.txt", context),
        to=[user.email],
        headers={"List-Unsubscribe": f"<{link}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )
    message.attach_alternative(render_to_string(f"notifications/email/{template}.html", context), "text/html")
    return message


def _emailable(user: User) -> bool:
    """Active, with a confirmed address: an unconfirmed one may be a typo or someone else's
    (docs/accounts.md). Its email is dropped, not held until the address is confirmed."""
    return user.is_active and user.email_verified_at is not None


def notification_email_send(*, notification_id: int) -> bool:
    """Email one queued notification; returns whether this call sent it. The row stays locked
    while the mail goes out and is marked sent in the same transaction: a failed send rolls back
    and the task retries (at least once; exactly once barring a crash between send and commit).
    A user who turned the email off since, is gone, or has not confirmed their address gets nothing."""
    with transaction.atomic():
        row = (
            Notification.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(pk=notification_id, email_status=EmailStatus.QUEUED)
            .first()
        )
        if row is None:
            return False
        if not _emailable(row.user) or not channels_for(user_id=row.user_id, event=row.event).email:
            row.email_status = EmailStatus.NONE
            row.save(update_fields=["email_status"])
            return False
        _email(
            user=row.user,
            event=row.event,
            subject=f"Lead Engine: {row.title}",
            template="notification",
            context={"title": row.title, "body": row.body, "url": absolute_url(row.url), **row.context},
        ).send()
        row.email_status, row.emailed_at = EmailStatus.SENT, timezone.now()
        row.save(update_fields=["email_status", "emailed_at"])
    logger.info("notification emailed", extra={"user_id": row.user_id, "notification_id": row.pk})
    return True


DIGEST_MAX_ITEMS = 200


def digest_send_due(*, limit: int = 500) -> int:
    """Send each user's waiting digest-event notifications as one email per user and event (at
    most DIGEST_MAX_ITEMS listed; the rest go in the next one). Returns how many emails went out.
    Each user's rows are locked (skip locked: a concurrent sweep takes other users) and marked
    sent in the transaction that sends."""
    sent = 0
    pairs = list(
        Notification.objects.filter(email_status=EmailStatus.DIGEST)
        .values_list("user_id", "event")
        .distinct()
        .order_by("user_id", "event")[:limit]
    )
    for user_id, event in pairs:
        with transaction.atomic():
            rows = list(
                Notification.objects.select_for_update(skip_locked=True)
                .filter(user_id=user_id, event=event, email_status=EmailStatus.DIGEST)
                .order_by("id")[:DIGEST_MAX_ITEMS]
            )
            if not rows:
                continue
            user = User.objects.filter(pk=user_id).first()
            ids = [r.pk for r in rows]
            if user is None or not _emailable(user) or not channels_for(user_id=user_id, event=event).email:
                Notification.objects.filter(pk__in=ids).update(email_status=EmailStatus.NONE)
                continue
            label = NotificationEvent(event).label
            _email(
                user=user,
                event=event,
                subject=f"Lead Engine: {len(rows)} × {label.lower()}",
                template="digest",
                context={
                    "items": [{"title": r.title, "body": r.body, "url": absolute_url(r.url)} for r in rows],
                    "count": len(rows),
                    "notifications_url": absolute_url(reverse("notifications:list")),
                },
            ).send()
            Notification.objects.filter(pk__in=ids).update(email_status=EmailStatus.SENT, emailed_at=timezone.now())
            sent += 1
        logger.info("digest emailed", extra={"user_id": user_id, "event": event, "count": len(rows)})
    return sent


# ---------------------------------------------------------------- reading


@transaction.atomic
def notification_mark_read(*, user: User, notification_id: int) -> Notification:
    """Mark one of the user's notifications read (again: no change). Notification.DoesNotExist
    when it is not theirs."""
    row = Notification.objects.select_for_update().get(pk=notification_id, user=user, in_app=True)
    if row.read_at is None:
        row.read_at = timezone.now()
        row.save(update_fields=["read_at"])
    return row


def notification_mark_all_read(*, user: User) -> int:
    """Mark every unread notification of the user read; returns how many."""
    return Notification.objects.filter(user=user, in_app=True, read_at__isnull=True).update(read_at=timezone.now())


# ---------------------------------------------------------------- preferences


@transaction.atomic
def preferences_update(
    *, user: User, choices: dict[str, Channels], low_balance_threshold: Decimal | None = None, threshold: bool = False
) -> None:
    """Save the user's channels for each event in `choices` (others keep theirs) and, with
    threshold=True, their low-balance threshold (None: no alert)."""
    for event, channels in choices.items():
        NotificationPreference.objects.update_or_create(
            user=user,
            event=NotificationEvent(event),
            defaults={"in_app": channels.in_app, "email": channels.email},
        )
    if threshold:
        NotificationSettings.objects.update_or_create(
            user=user, defaults={"low_balance_threshold": low_balance_threshold}
        )
        THRESHOLDS.invalidate()
    PREFERENCES.invalidate()
    logger.info("notification preferences saved", extra={"user_id": user.pk, "events": len(choices)})


def notification_unsubscribe(*, user_id: int, event: str) -> bool:
    """One-click unsubscribe: no more email for `event` (the in-app choice stays). Idempotent;
    False when the user is gone."""
    if not User.objects.filter(pk=user_id).exists():
        return False
    current = channels_for(user_id=user_id, event=event)
    preferences_update(user=User(pk=user_id), choices={event: Channels(in_app=current.in_app, email=False)})
    logger.info("notification email unsubscribed", extra={"user_id": user_id, "event": event})
    return True


# ---------------------------------------------------------------- low balance


def _thresholds() -> dict[int, Decimal]:
    return dict(
        NotificationSettings.objects.filter(low_balance_threshold__isnull=False).values_list(
            "user_id", "low_balance_threshold"
        )
    )


def low_balance_threshold(*, user_id: int) -> Decimal | None:
    """The user's threshold, from one process-wide map of every threshold set (a buyer's first
    bid in a process pays no query of its own)."""
    return THRESHOLDS.get("all", _thresholds).get(user_id)


def low_balance_check(*, user_id: int, before: Decimal, after: Decimal, key: str) -> Notification | None:
    """The ledger moved a user's available balance from `before` to `after`: tell them when it
    crossed below their threshold (once per crossing: staying below says nothing more, and going
    back above re-arms it). `key` names the movement (its ledger transaction)."""
    threshold = low_balance_threshold(user_id=user_id)
    if threshold is None or not (after < threshold <= before):
        return None
    return notify(
        user_id=user_id,
        event=NotificationEvent.LOW_BALANCE,
        title=f"Your available balance is below {usdc_text(threshold)}",
        body=f"Available now: {usdc_text(after)}. Deposit USDC to keep bidding.",
        url=reverse("wallet"),
        key=f"low_balance:{key}",
        context={"threshold": str(threshold), "available": str(after)},
    )
