"""Writes for users and API keys."""

import copy
import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiKey, User
from accounts.signals import email_verification_requested, user_signed_up
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


def user_first_run_dismiss(*, user: User) -> User:
    """Hide the first-run checklist for good (again: no change)."""
    if user.first_run_dismissed_at is None:
        user.first_run_dismissed_at = timezone.now()
        User.objects.filter(pk=user.pk, first_run_dismissed_at__isnull=True).update(
            first_run_dismissed_at=user.first_run_dismissed_at
        )
    return user


def user_welcome_email_send(*, user_id: int) -> bool:
    """Send the welcome email once, with the link that confirms the address while it is
    unconfirmed; returns whether this call sent it.

    The user row stays locked while the mail goes out and the mark commits after it: a
    failed send rolls back and retries, so the mail is sent at least once and, barring a
    crash between send and commit, exactly once.
    """
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=user_id).first()
        if user is None or user.welcome_email_sent_at is not None:
            return False
        _verification_email(user=user, welcome=True).send()
        user.welcome_email_sent_at = timezone.now()
        user.save(update_fields=["welcome_email_sent_at"])
    logger.info("welcome email sent", extra={"user_id": user_id})
    return True


def user_notice_send(*, user_id: int, subject: str, message: str) -> bool:
    """Email a user something the platform did to their money or bids (no PII of others, never
    secrets). At least once: a failed send raises and the task retries. False if the user is gone
    or their address is unconfirmed (docs/accounts.md)."""
    from django.core.mail import send_mail

    user = User.objects.filter(pk=user_id, is_active=True, email_verified_at__isnull=False).first()
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


# ---------------------------------------------------------------- email confirmation

EMAIL_VERIFY_SALT = "accounts.email-verify"
EMAIL_VERIFY_MAX_AGE = timedelta(days=7)


class EmailVerifyError(Exception):
    """A confirmation link that confirms nothing: `reason` is "expired" or "invalid" (tampered,
    malformed, for a deleted account, or for an address the account no longer has)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def email_verify_token(*, user: User) -> str:
    """A signed, timestamped token naming the account and the address it confirms: once the
    address changes, links sent to the old one confirm nothing."""
    return signing.TimestampSigner(salt=EMAIL_VERIFY_SALT).sign_object({"u": user.pk, "e": user.email})


def email_verify_url(*, user: User) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("email-verify", args=[email_verify_token(user=user)])


@transaction.atomic
def user_email_verify(*, token: str) -> User:
    """Confirm the address an emailed link was sent to (again: no change). Raises EmailVerifyError."""
    if not token or len(token) > 500:
        raise EmailVerifyError("invalid")
    try:
        data = signing.TimestampSigner(salt=EMAIL_VERIFY_SALT).unsign_object(
            token, max_age=EMAIL_VERIFY_MAX_AGE.total_seconds()
        )
    except signing.SignatureExpired:
        raise EmailVerifyError("expired") from None
    except (signing.BadSignature, ValueError, TypeError, UnicodeError):
        raise EmailVerifyError("invalid") from None
    if not isinstance(data, dict) or type(data.get("u")) is not int or not isinstance(data.get("e"), str):
        raise EmailVerifyError("invalid")
    user = User.objects.select_for_update().filter(pk=data["u"], is_active=True).first()
    if user is None or user.email != data["e"]:
        raise EmailVerifyError("invalid")
    _mark_verified(user)
    return user


def user_email_mark_verified(*, user: User) -> User:
    """The owner proved they read mail at the address another way (a password reset by email)."""
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.email == user.email:
            _mark_verified(locked)
    user.email_verified_at = locked.email_verified_at
    return user


def _mark_verified(user: User) -> None:
    """Caller holds select_for_update on the user."""
    if user.email_verified_at is None:
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])
        logger.info("email confirmed", extra={"user_id": user.pk})


def user_verification_email_request(*, user: User) -> None:
    """Queue a new confirmation link for the user (once the caller's transaction commits)."""
    user_id = user.pk
    transaction.on_commit(lambda: email_verification_requested.send(sender=User, user_id=user_id))


def user_verification_email_send(*, user_id: int) -> bool:
    """Email a confirmation link; False (nothing sent) when the account is gone, inactive or
    already confirmed. At least once: a failed send raises and the task retries."""
    user = User.objects.filter(pk=user_id, is_active=True, email_verified_at__isnull=True).first()
    if user is None:
        return False
    _verification_email(user=user, welcome=False).send()
    logger.info("confirmation email sent", extra={"user_id": user_id})
    return True


def _verification_email(*, user: User, welcome: bool) -> EmailMultiAlternatives:
    context = {
        "user_name": user.get_short_name(),
        "welcome": welcome,
        "verify_url": email_verify_url(user=user) if user.email_verified_at is None else "",
        "valid_days": EMAIL_VERIFY_MAX_AGE.days,
        "site_url": settings.SITE_URL.rstrip("/"),
    }
    message = EmailMultiAlternatives(
        subject="Welcome to Lead Engine" if welcome else "Confirm your email address for Lead Engine",
        body=render_to_string("accounts/email/verify_email.txt", context),
        to=[user.email],
    )
    message.attach_alternative(render_to_string("accounts/email/verify_email.html", context), "text/html")
    return message


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
