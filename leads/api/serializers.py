from rest_framework import serializers

from leads.models import Lead, LeadStatusChange


class ConsentInputSerializer(serializers.Serializer):
    text = serializers.CharField(help_text="The consent language the consumer agreed to (TCPA).")
    timestamp = serializers.DateTimeField(help_text="When they agreed; at most 30 days ago.")
    ip = serializers.IPAddressField()
    user_agent = serializers.CharField(required=False)
    page_url = serializers.URLField(required=False)
    certificate_url = serializers.URLField(required=False, help_text="e.g. a TrustedForm certificate URL")


class LeadInputSerializer(serializers.Serializer):
    """For the schema only: validation is leads.validation.check_lead_input, shared by every channel."""

    vertical = serializers.SlugField()
    external_id = serializers.CharField(required=False, help_text="Your id; resubmitting it returns the same lead.")
    campaign = serializers.CharField(required=False)
    sub_id = serializers.CharField(required=False)
    first_name = serializers.CharField(required=False)
    last_name = serializers.CharField(required=False)
    email = serializers.EmailField(required=False, help_text="A phone or an email is required.")
    phone = serializers.CharField(required=False, help_text="E.164 or a 10-digit US number.")
    street_address = serializers.CharField(required=False)
    city = serializers.CharField(required=False)
    state = serializers.CharField(help_text="Two-letter US state code.")
    zip = serializers.CharField(help_text="5-digit ZIP; must lie in the state.")
    country = serializers.CharField(required=False, default="US")
    fields = serializers.DictField(required=False, help_text="The vertical's fields: GET /api/v1/verticals/<slug>/")
    consent = ConsentInputSerializer()


class BulkInputSerializer(serializers.Serializer):
    leads = LeadInputSerializer(many=True, help_text="Up to 500 leads.")


class LeadStatusChangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = LeadStatusChange
        fields = ("from_status", "to_status", "reason", "at")


class LeadSerializer(serializers.ModelSerializer):
    vertical = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    duplicate_of = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = Lead
        fields = ("id", "vertical", "source", "external_id", "campaign", "sub_id", "status", "rejection_reason",
                  "duplicate_of", "quality_score", "price", "country", "state", "zip", "city", "fields",
                  "has_phone", "has_email", "consent_at", "created_at", "scored_at")


class LeadDetailSerializer(LeadSerializer):
    score_breakdown = serializers.JSONField(read_only=True)
    history = LeadStatusChangeSerializer(many=True, read_only=True)
    contact = serializers.SerializerMethodField(help_text="What you submitted (only you, the seller, see it here).")

    class Meta(LeadSerializer.Meta):
        fields = (*LeadSerializer.Meta.fields, "rejection_detail", "score_breakdown", "consent_text", "consent_ip",
                  "consent_user_agent", "consent_page_url", "consent_certificate_url", "history", "contact")

    def get_contact(self, obj) -> dict:
        # Read (and logged) by the view: leads.pii_access.lead_pii_read_logged.
        return self.context.get("contact", {})


class IngestResultSerializer(serializers.Serializer):
    status = serializers.CharField()
    id = serializers.IntegerField(required=False)
    duplicate_of = serializers.IntegerField(required=False)
    errors = serializers.DictField(required=False)
