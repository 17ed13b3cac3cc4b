import zoneinfo

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

TIME_ZONE_CHOICES = sorted((tz, tz) for tz in zoneinfo.available_timezones() if "/" in tz or tz == "UTC")


def validate_time_zone(value: str) -> None:
    # Not `choices=`: the tz database changes, and choices would churn migrations.
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"Unknown time zone {value!r}.")


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person or company on the marketplace; one account may both sell and buy."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    company_name = models.CharField(max_length=200, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    is_seller = models.BooleanField(default=False, help_text="May submit and sell leads.")
    is_buyer = models.BooleanField(default=False, help_text="May bid on and buy leads.")
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    welcome_email_sent_at = models.DateTimeField(null=True, blank=True)
    # When the owner proved they read mail at `email` (the emailed link, or a password reset by
    # email); None until then and again after the address changes. docs/accounts.md says what an
    # unconfirmed account cannot do.
    email_verified_at = models.DateTimeField("email confirmed", null=True, blank=True)
    # The person hid the first-run checklist (marketplace.onboarding) for good.
    first_run_dismissed_at = models.DateTimeField(null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        db_table = "marketplace_user"  # the table it had before accounts was an app of its own
        indexes = [models.Index(fields=["date_joined", "id"], name="user_joined_id_idx")]

    def __str__(self) -> str:
        return self.email

    @property
    def roles(self) -> list[str]:
        return [
            name for name, on in (("seller", self.is_seller), ("buyer", self.is_buyer), ("staff", self.is_staff)) if on
        ]

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class ApiKey(models.Model):
    """An integrator's key. Only a SHA-256 of the secret is stored; the prefix identifies it."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    hashed_key = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "marketplace_apikey"
        indexes = [models.Index(fields=["user", "created_at"], name="apikey_user_created_idx")]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
