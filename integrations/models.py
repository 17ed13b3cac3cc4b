"""Where a buyer's purchases go (Destination) and what happened when they went (Delivery, one per
purchase and destination; DeliveryAttempt, one per try). No contact details are stored here: a
delivery reads them from the vault when it sends (a logged PII access), and a response excerpt
has the sent values redacted."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from integrations.choices import (
    AttemptOutcome,
    BodyFormat,
    CrmPreset,
    DeliveryState,
    DestinationKind,
    DestinationScope,
)


class Destination(models.Model):
    """A buyer's delivery target for all purchases, one vertical's, or one autobid rule's. The
    webhook signing secret and a CRM's Authorization header are sealed (leads.vault)."""

    Kind = DestinationKind
    Scope = DestinationScope

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="delivery_destinations")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=8, choices=DestinationKind.choices)
    scope = models.CharField(max_length=8, choices=DestinationScope.choices, default=DestinationScope.ALL)
    vertical = models.ForeignKey(
        "verticals.Vertical", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    rule = models.ForeignKey("auctions.AutobidRule", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    url = models.URLField(max_length=500, blank=True, help_text="Webhook or CRM endpoint.")
    email = models.EmailField(blank=True, help_text="Email destinations: the buyer's own address.")
    crm_preset = models.CharField(max_length=12, choices=CrmPreset.choices, blank=True)
    body_format = models.CharField(max_length=4, choices=BodyFormat.choices, default=BodyFormat.JSON)
    mapping = models.JSONField(
        default=dict, blank=True, help_text='CRM: {"their field": "{{ contact.email }}", …} (Django template strings).'
    )
    wrap_key = models.CharField(
        max_length=40, blank=True, help_text='JSON bodies: put the mapped fields under this key ("properties").'
    )
    secret_key_id = models.CharField(max_length=32, blank=True)
    secret_sealed = models.BinaryField(blank=True, default=b"", editable=False)
    secret_hint = models.CharField(max_length=12, blank=True, help_text="The secret's last characters.")
    active = models.BooleanField(default=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["owner", "active"], name="destination_owner_idx")]
        constraints = [
            models.CheckConstraint(
                condition=(Q(scope="all", vertical__isnull=True, rule__isnull=True))
                | Q(scope="vertical", vertical__isnull=False, rule__isnull=True)
                | Q(scope="rule", rule__isnull=False, vertical__isnull=True),
                name="destination_scope_target",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class Delivery(models.Model):
    """One purchase sent to one destination (or a test send with sample data): state, attempts,
    and when the next one is due. `public_id` is the Idempotency-Key receivers see, the same on
    every retry; a redeliver makes a new Delivery (a new key)."""

    State = DeliveryState

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    destination = models.ForeignKey(Destination, on_delete=models.CASCADE, related_name="deliveries")
    sale = models.ForeignKey(
        "auctions.Sale", null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    is_test = models.BooleanField(default=False, help_text="A test send with sample data (no PII).")
    redelivery_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    state = models.CharField(max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True, help_text="A send in flight until then.")
    correlation_id = models.CharField(max_length=128, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="delivery_due_idx"),
            models.Index(fields=["sale", "id"], name="delivery_sale_idx"),
        ]
        constraints = [
            # A purchase goes to a destination once by itself; redeliveries and tests are extra.
            models.UniqueConstraint(
                fields=["destination", "sale"],
                condition=Q(is_test=False, redelivery_of__isnull=True),
                name="delivery_once_per_destination",
            ),
            models.CheckConstraint(condition=Q(is_test=True) | Q(sale__isnull=False), name="delivery_has_sale"),
        ]

    def __str__(self) -> str:
        return f"Delivery {self.pk} of sale {self.sale_id} to {self.destination_id}: {self.state}"


class DeliveryAttempt(models.Model):
    """One try. Recorded (outcome "sending") before the request leaves, so a worker killed
    mid-send leaves a row that the next try marks "interrupted". Never the PII."""

    Outcome = AttemptOutcome

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    outcome = models.CharField(max_length=12, choices=AttemptOutcome.choices, default=AttemptOutcome.SENDING)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True, help_text="The sent values redacted.")
    error = models.CharField(max_length=300, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["delivery_id", "number"]
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="attempt_delivery_number_uniq")]

    def __str__(self) -> str:
        return f"Attempt {self.number} of delivery {self.delivery_id}: {self.outcome}"
