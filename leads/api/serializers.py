from django.conf import settings
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from core.api.fields import PatternField
from core.api.schema import ErrorSerializer
from core.api.serializers import FastReadMixin
from leads.choices import SellerReputationLevel
from leads.models import Lead, LeadStatusChange
from leads.validation import US_STATES
from verticals.api.fields import SLUG_PATTERN


class ConsentInputSerializer(serializers.Serializer):
    text = serializers.CharField(help_text="The consent language the consumer agreed to (TCPA).")
    timestamp = serializers.DateTimeField(help_text="When they agreed; at most 30 days ago.")
    ip = serializers.IPAddressField()
    user_agent = serializers.CharField(required=False)
    page_url = serializers.URLField(required=False)
    certificate_url = serializers.URLField(required=False, help_text="e.g. a TrustedForm certificate URL")


class LeadInputSerializer(serializers.Serializer):
    """For the schema only: validation is leads.validation.check_lead_input, shared by every channel.
    Beyond what the schema says, the server checks the vertical's fields, that the ZIP lies in the
    state, that the phone number is real and the consent at most 30 days old (400 by field)."""

    # A phone or an email (or both).
    openapi_extra = {
        "anyOf": [
            {"required": ["phone"], "properties": {"phone": {"minLength": 1}}},
            {"required": ["email"], "properties": {"email": {"minLength": 1}}},
        ]
    }

    vertical = PatternField(SLUG_PATTERN, help_text="The vertical's slug.")
    external_id = serializers.CharField(
        required=False, allow_blank=True, help_text="Your id; resubmitting it returns the same lead."
    )
    campaign = serializers.CharField(required=False, allow_blank=True)
    sub_id = serializers.CharField(required=False, allow_blank=True)
    first_name = serializers.CharField(required=False, allow_blank=True)
    last_name = serializers.CharField(required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True, help_text="A phone or an email is required.")
    phone = serializers.CharField(required=False, allow_blank=True, help_text="E.164 or a 10-digit US number.")
    street_address = serializers.CharField(required=False, allow_blank=True)
    city = serializers.CharField(required=False, allow_blank=True)
    state = serializers.ChoiceField(choices=sorted(US_STATES), help_text="Two-letter US state code.")
    zip = PatternField(r"^[0-9]{5}(?:-[0-9]{4})?$", help_text="5-digit ZIP (or ZIP+4); must lie in the state.")
    country = serializers.ChoiceField(choices=["US"], required=False, default="US")
    fields = serializers.DictField(required=False, help_text="The vertical's fields: GET /api/v1/verticals/<slug>/")
    consent = ConsentInputSerializer()


class BulkInputSerializer(serializers.Serializer):
    leads = serializers.ListField(
        child=serializers.JSONField(),
        min_length=1,
        max_length=settings.LEAD_MAX_BULK,
        help_text="1 to 500 leads, each as for POST /api/v1/leads/ (LeadInput); each "
        "gets its own result, so a malformed one is rejected on its own.",
    )


class LeadStatusChangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = LeadStatusChange
        fields = ("from_status", "to_status", "reason", "at")


class LeadSerializer(FastReadMixin, serializers.ModelSerializer):
    fast_read_static = True  # the same fields for every request

    vertical = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    duplicate_of = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="Your earlier lead this one duplicates, if any."
    )

    class Meta:
        model = Lead
        fields = (
            "id",
            "vertical",
            "source",
            "external_id",
            "campaign",
            "sub_id",
            "status",
            "rejection_reason",
            "duplicate_of",
            "quality_score",
            "price",
            "country",
            "state",
            "zip",
            "city",
            "fields",
            "has_phone",
            "has_email",
            "consent_at",
            "created_at",
            "scored_at",
        )


class LeadDetailSerializer(LeadSerializer):
    score_breakdown = serializers.JSONField(read_only=True)
    history = LeadStatusChangeSerializer(many=True, read_only=True)
    contact = serializers.SerializerMethodField(help_text="What you submitted (only you, the seller, see it here).")

    class Meta(LeadSerializer.Meta):
        fields = (
            *LeadSerializer.Meta.fields,
            "rejection_detail",
            "score_breakdown",
            "consent_text",
            "consent_ip",
            "consent_user_agent",
            "consent_page_url",
            "consent_certificate_url",
            "history",
            "contact",
        )

    def get_contact(self, obj) -> dict:
        # Read (and logged) by the view: leads.pii_access.lead_pii_read_logged.
        return self.context.get("contact", {})


class IngestResultSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="The lead's status (received at first).")
    id = serializers.IntegerField()
    existing = serializers.BooleanField(
        required=False, help_text="True: this external_id was submitted before; this is that lead."
    )


class BulkItemResultSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="The lead's position in `leads`.")
    accepted = serializers.BooleanField()
    status = serializers.CharField(help_text="The lead's status, or rejected.")
    id = serializers.IntegerField(required=False, help_text="The lead's id (a rejected duplicate has one too).")
    existing = serializers.BooleanField(required=False)
    error = ErrorSerializer(
        required=False, help_text="Why it was rejected: the error object a single submission would get."
    )


class BulkResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    rejected = serializers.IntegerField()
    results = BulkItemResultSerializer(many=True)


@extend_schema_serializer(many=False)
class LeadPageSerializer(serializers.Serializer):
    results = LeadSerializer(many=True)
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    stats = serializers.DictField(required=False, help_text="With ?stats=true.")


class SellerReputationSerializer(serializers.Serializer):
    """The seller's reputation in the lead's vertical (docs/scoring.md, "Seller reputation per
    vertical"), as every listing shows it: no identity, only the record."""

    score = serializers.IntegerField(min_value=0, max_value=100, help_text="0–100; a new seller starts neutral.")
    level = serializers.ChoiceField(choices=SellerReputationLevel.choices, help_text="The label's code.")
    label = serializers.CharField(help_text='The label in words: "New seller", "Trusted", …')
    sales = serializers.IntegerField(min_value=0, help_text="Leads the seller sold in this vertical.")
    return_rate = serializers.DecimalField(
        max_digits=6,
        decimal_places=4,
        allow_null=True,
        help_text="Refunded share of those sales (partial refunds weighted), as a decimal string; null without sales.",
    )
    dispositions = serializers.IntegerField(
        min_value=0, help_text="Of those sales, how many their buyers reported an outcome for (a disposition)."
    )
    contact_rate = serializers.DecimalField(
        max_digits=6,
        decimal_places=4,
        allow_null=True,
        help_text="Share of those reports saying the consumer was reached (contacted, appointment, quoted or "
        "sold), as a decimal string; null without reports. Shown, not scored.",
    )
