"""Writes for users and API keys."""

import copy
import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import ApiKey, User
from accounts.signals import user_signed_up
from config import db_router
from core.localcache import LocalCache

logger = logging.getLogger(__name__)

API_KEY_PREFIX = "le"
LAST_USED_RESOLUTION = timedelta(seconds=60)
# Active keys with their users by key hash: no query per API request. Emptied (in every process
# within a second) when a key or a user changes: api_key_revoke, and post_save/post_delete of
# ApiKey and User (accounts.apps), so a revoked key or a deactivated user stops working at once
# here and within a second everywhere.
ACTIVE_API_KEYS = LocalCache("accounts.api_keys")


# ---------------------------------------------------------------- users


class EmailTaken(Exception):
    """An account with this email exists (a concurrent sign-up got there first)."""


def user_sign_up(
    *,
    email: str,
    password: str,
    full_name: str = "",
    company_name: str = "",
    time_zone: str = "UTC",
    is_seller: bool = False,
    is_buyer: bool = False,
) -> User:
    """Create an account and queue its welcome email once the account is committed.

    Raises EmailTaken when the email is already registered (also when two sign-ups race).
    """
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email=email,
                password=password,
                full_name=full_name,
                company_name=company_name,
                time_zone=time_zone,
                is_seller=is_seller,
                is_buyer=is_buyer,
            )
            logger.info("user signed up", extra={"user_id": user.pk, "roles": ",".join(user.roles)})
            transaction.on_commit(lambda: user_signed_up.send(sender=User, user_id=user.pk))
            return user
    except IntegrityError:  # the form checked, but a concurrent sign-up won the race
        raise EmailTaken() from None


@transaction.atomic
def user_update_profile(
    *, user: User, full_name: str, company_name: str, time_zone: str, is_seller: bool, is_buyer: bool
) -> User:
    user.full_name, user.company_name, user.time_zone = full_name, company_name, time_zone
    user.is_seller, user.is_buyer = is_seller, is_buyer
    user.save(update_fields=["full_name", "company_name", "time_zone", "is_seller", "is_buyer"])
    return user


def user_welcome_email_send(*, user_id: int) -> bool:
    """Send the welcome email once; returns whether this call sent it.

    The user row stays locked while the mail goes out and the mark commits after it: a
    failed send rolls back and retries, so the mail is sent at least once and, barring a
    crash between send and commit, exactly once.
    """
    from django.core.mail import send_mail

    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=user_id).first()
        if user is None or user.welcome_email_sent_at is not None:
            return False
        send_mail(
            subject="Welcome to Lead Engine",
            message=f"Hello {user.get_short_name()},\n\nyour Lead Engine account is ready.",
            from_email=None,
            recipient_list=[user.email],
        )
        user.welcome_email_sent_at = timezone.now()
        user.save(update_fields=["welcome_email_sent_at"])
    logger.info("welcome email sent", extra={"user_id": user_id})
    return True


def user_notice_send(*, user_id: int, subject: str, message: str) -> bool:
    """Email a user something the platform did to their money or bids (no PII of others, never
    secrets). At least once: a failed send raises and the task retries. False if the user is gone."""
    from django.core.mail import send_mail

    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return False
    send_mail(
        subject=subject,
        message=f"Hello {user.get_short_name()},\n\n{message}",
        from_email=None,
        recipient_list=[user.email],
    )
    logger.info("user notice sent", extra={"user_id": user_id})
    return True


# ---------------------------------------------------------------- API keys


@dataclass(frozen=True)
class IssuedApiKey:
    api_key: ApiKey
    secret: str  # the full key: shown to its owner once, never stored


def _hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_key_create(*, user: User, name: str) -> IssuedApiKey:
    """Issue a key; only its SHA-256 is stored and the caller must show the secret once."""
    name = (name or "").strip() or "API key"
    while True:
        prefix = secrets.token_hex(4)
        raw = f"{API_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
        try:
            with transaction.atomic():
                api_key = ApiKey.objects.create(user=user, name=name[:100], prefix=prefix, hashed_key=_hash_key(raw))
            break
        except IntegrityError:  # prefix collision: draw again
            continue
    logger.info("api key created", extra={"user_id": user.pk, "api_key_prefix": prefix})
    return IssuedApiKey(api_key=api_key, secret=raw)


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    updated = ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    api_key.refresh_from_db(fields=["revoked_at"])
    ACTIVE_API_KEYS.invalidate()
    if updated:
        logger.info("api key revoked", extra={"user_id": api_key.user_id, "api_key_prefix": api_key.prefix})
    return api_key


def api_key_authenticate(*, raw: str) -> ApiKey | None:
    """The active key for a presented secret (with its user), or None. Records last use.

    The caller gets its own copies of the key and the user (the memoised ones stay untouched)."""
    if not raw or not raw.startswith(API_KEY_PREFIX + "_") or len(raw) > 200:
        return None
    hashed = _hash_key(raw)
    cached = ACTIVE_API_KEYS.get(
        hashed,
        lambda: (
            ApiKey.objects.select_related("user")
            .filter(hashed_key=hashed, revoked_at__isnull=True, user__is_active=True)
            .first()
        ),
    )
    if cached is None:
        return None
    now = timezone.now()
    if cached.last_used_at is None or now - cached.last_used_at >= LAST_USED_RESOLUTION:
        # A conditional update: concurrent requests write at most once per resolution. It is
        # bookkeeping, so it does not pin the client's reads to the primary.
        with db_router.bookkeeping():
            ApiKey.objects.filter(pk=cached.pk).filter(
                Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
            ).update(last_used_at=now)
        cached.last_used_at = now
    api_key = copy.copy(cached)
    api_key.user = copy.copy(cached.user)
    return api_key


def api_key_cache_invalidate(*, sender, instance, created: bool = False, update_fields=None, **kwargs) -> None:
    """Receiver of post_save/post_delete of ApiKey and User (accounts.apps). A new row cannot be
    memoised yet (only keys that authenticated are), nor does a login's last_login matter, nor a
    user without API keys."""
    if created or (update_fields is not None and set(update_fields) <= {"last_login"}):
        return
    if sender is User and not ApiKey.objects.filter(user_id=instance.pk).exists():
        return
    ACTIVE_API_KEYS.invalidate()
