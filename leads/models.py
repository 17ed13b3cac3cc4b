import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils import timezone

from leads.choices import (
    AdEventStatus,
    AdPlatform,
    CsvImportStatus,
    LeadSource,
    LeadStatus,
    PiiChannel,
    PiiReaderRole,
    RejectionReason,
    SellerReputationLevel,
)


class Lead(models.Model):
    """A consumer lead. Contact details live encrypted in LeadPII; here only keyed hashes."""

    vertical = models.ForeignKey("verticals.Vertical", on_delete=models.PROTECT, related_name="leads")
    seller = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="leads")
    source = models.CharField(max_length=16, choices=LeadSource.choices)
    campaign = models.CharField(max_length=100, blank=True)
    sub_id = models.CharField(max_length=100, blank=True)
    external_id = models.CharField(max_length=100, blank=True, help_text="The seller's own id (unique per seller).")

    country = models.CharField(max_length=2, default="US")
    state = models.CharField(max_length=2, blank=True)
    zip = models.CharField(max_length=5, blank=True)
    city = models.CharField(max_length=100, blank=True)
    fields = models.JSONField(default=dict, blank=True, help_text="Non-PII vertical fields, validated.")

    consent_text = models.TextField()
    consent_at = models.DateTimeField()
    consent_ip = models.GenericIPAddressField()
    consent_user_agent = models.CharField(max_length=500, blank=True)
    consent_page_url = models.URLField(max_length=500, blank=True)
    consent_certificate_url = models.URLField(max_length=500, blank=True)

    status = models.CharField(max_length=16, choices=LeadStatus.choices, default=LeadStatus.RECEIVED)
    rejection_reason = models.CharField(max_length=16, choices=RejectionReason.choices, blank=True)
    rejection_detail = models.JSONField(default=dict, blank=True)
    duplicate_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    quality_score = models.PositiveSmallIntegerField(null=True, blank=True)
    score_breakdown = models.JSONField(default=dict, blank=True)
    price = models.DecimalField(max_digits=18, decimal_places=6, null=True, blank=True, help_text="Sale price, USDC")

    has_phone = models.BooleanField(default=False)
    phone_type = models.CharField(max_length=24, blank=True, help_text="Line type where the numbering plan knows it.")
    has_email = models.BooleanField(default=False)
    phone_hash = models.CharField(max_length=64, blank=True)
    email_hash = models.CharField(max_length=64, blank=True)

    correlation_id = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    scored_at = models.DateTimeField(null=True, blank=True)
    # Set when a buyer's dispute refunded the lead in full: sold again, it is shown as returned.
    returned_at = models.DateTimeField(null=True, blank=True)
    # A returned lead offered again is a new lead (a lead is sold once): the one it was returned as.
    returned_from = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="relisted_as"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["seller", "external_id"], condition=~Q(external_id=""), name="lead_seller_external_id_uniq"
            ),
            models.CheckConstraint(
                condition=Q(quality_score__isnull=True) | Q(quality_score__lte=100), name="lead_quality_score_range"
            ),
        ]
        indexes = [
            models.Index(fields=["created_at", "id"], name="lead_created_id_idx"),
            models.Index(fields=["seller", "created_at", "id"], name="lead_seller_created_idx"),
            models.Index(fields=["seller", "status", "created_at", "id"], name="lead_seller_status_idx"),
            # What changed since the analytics refresh last looked (analytics/rollups.py).
            models.Index(fields=["updated_at"], name="lead_updated_idx"),
            models.Index(fields=["seller", "vertical", "created_at", "id"], name="lead_seller_vertical_idx"),
            models.Index(fields=["seller", "quality_score", "id"], name="lead_seller_score_idx"),
            models.Index(fields=["seller", "price", "id"], name="lead_seller_price_idx"),
            # The table's search: exact matches on the seller's own labels.
            models.Index(fields=["seller", "campaign"], name="lead_seller_campaign_idx"),
            models.Index(fields=["seller", "sub_id"], name="lead_seller_subid_idx"),
            models.Index(fields=["seller", "zip"], name="lead_seller_zip_idx"),
            models.Index("seller", Upper("city"), name="lead_seller_city_idx"),
            models.Index(
                fields=["vertical", "phone_hash", "created_at"],
                name="lead_vertical_phone_idx",
                condition=~Q(phone_hash=""),
            ),
            models.Index(
                fields=["vertical", "email_hash", "created_at"],
                name="lead_vertical_email_idx",
                condition=~Q(email_hash=""),
            ),
            models.Index(fields=["phone_hash", "created_at"], name="lead_phone_idx", condition=~Q(phone_hash="")),
            models.Index(fields=["email_hash", "created_at"], name="lead_email_idx", condition=~Q(email_hash="")),
        ]

    def __str__(self) -> str:
        return f"Lead {self.pk} ({self.vertical_id}, {self.status})"


class LeadPII(models.Model):
    """The vault: name, email, phone and street address, AES-256-GCM encrypted as one blob."""

    lead = models.OneToOneField(Lead, on_delete=models.CASCADE, primary_key=True, related_name="pii")
    key_id = models.CharField(max_length=32)
    ciphertext = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "lead PII"
        verbose_name_plural = "lead PII"
        indexes = [models.Index(fields=["key_id"], name="leadpii_key_idx")]

    def __str__(self) -> str:
        return f"PII of lead {self.lead_id} (key {self.key_id})"


class PiiAccess(models.Model):
    """The access log: every read of a lead's contact details by a person — the seller reading its
    own lead, the buyer (or the LeadNFT's owner after a resale) reading a purchase — with how and
    when. Written only by leads.pii_access; staff read it in admin; never the details themselves."""

    Role = PiiReaderRole
    Channel = PiiChannel

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="pii_accesses")
    lead = models.ForeignKey(Lead, on_delete=models.PROTECT, related_name="pii_accesses")
    role = models.CharField(max_length=16, choices=PiiReaderRole.choices)
    channel = models.CharField(max_length=4, choices=PiiChannel.choices)
    correlation_id = models.CharField(max_length=64, blank=True)
    accessed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        verbose_name = "PII access"
        verbose_name_plural = "PII access log"
        indexes = [
            models.Index(fields=["lead", "accessed_at"], name="pii_access_lead_idx"),
            models.Index(fields=["user", "accessed_at"], name="pii_access_reader_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} read lead {self.lead_id} as {self.role} ({self.channel})"


class LeadStatusChange(models.Model):
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="history")
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, choices=LeadStatus.choices)
    reason = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["lead", "at"], name="leadstatus_lead_at_idx")]

    def __str__(self) -> str:
        return f"{self.lead_id}: {self.from_status or '∅'} → {self.to_status}"

    @property
    def from_status_label(self) -> str:
        """The previous status in words (the column keeps no choices: it may be empty)."""
        return LeadStatus(self.from_status).label if self.from_status in LeadStatus.values else self.from_status


class SellerCap(models.Model):
    """Staff's per-seller override of a vertical's daily ingestion cap (vertical null: all)."""

    seller = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lead_caps")
    vertical = models.ForeignKey("verticals.Vertical", null=True, blank=True, on_delete=models.CASCADE)
    daily_cap = models.PositiveIntegerField()
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["seller", "vertical"], name="sellercap_seller_vertical_uniq"),
            models.UniqueConstraint(
                fields=["seller"], condition=Q(vertical__isnull=True), name="sellercap_seller_all_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.seller} · {self.vertical or 'all verticals'}: {self.daily_cap}/day"


class SellerFormToken(models.Model):
    """The token in a seller's hosted-form links (/f/<vertical>/?s=<token>)."""

    seller = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="form_token")
    token = models.CharField(max_length=32, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"form token of {self.seller}"


class CsvImport(models.Model):
    seller = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="csv_imports")
    vertical = models.ForeignKey("verticals.Vertical", on_delete=models.PROTECT)
    filename = models.CharField(max_length=200)
    content = models.BinaryField(help_text="The uploaded file, kept until the import is done.")
    headers = models.JSONField(default=list)
    mapping = models.JSONField(default=dict, blank=True, help_text="lead field -> CSV column")
    consent_text = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=CsvImportStatus.choices, default=CsvImportStatus.UPLOADED)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    accepted_rows = models.PositiveIntegerField(default=0)
    rejected_rows = models.PositiveIntegerField(default=0)
    # The check of every row against the saved mapping, before the import starts (CsvImportCheckError).
    checked_rows = models.PositiveIntegerField(default=0)
    invalid_rows = models.PositiveIntegerField(default=0)
    checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["seller", "created_at"], name="csvimport_seller_idx")]

    def __str__(self) -> str:
        return f"{self.filename} ({self.status})"


class CsvImportRowError(models.Model):
    """One refused row of a CSV import, for the seller's error report (never a value from the row).
    Rows are added per chunk; nothing is rewritten, so a 50,000-row import costs what its chunks do."""

    csv_import = models.ForeignKey(CsvImport, on_delete=models.CASCADE, related_name="row_errors")
    row = models.PositiveIntegerField()
    column = models.CharField(max_length=200, blank=True)
    field = models.CharField(max_length=200, blank=True)
    message = models.CharField(max_length=500)

    class Meta:
        indexes = [models.Index(fields=["csv_import", "row", "id"], name="csvimporterror_report_idx")]

    def __str__(self) -> str:
        return f"Import {self.csv_import_id}, row {self.row}: {self.message}"


class CsvImportCheckError(models.Model):
    """A validation error of one row found when the mapping was saved, shown before the import
    starts (never a value from the row). Replaced whenever the mapping is saved again."""

    csv_import = models.ForeignKey(CsvImport, on_delete=models.CASCADE, related_name="check_errors")
    row = models.PositiveIntegerField()
    column = models.CharField(max_length=200, blank=True)
    field = models.CharField(max_length=200, blank=True)
    message = models.CharField(max_length=500)

    class Meta:
        indexes = [models.Index(fields=["csv_import", "row", "id"], name="csvimportcheck_page_idx")]

    def __str__(self) -> str:
        return f"Import {self.csv_import_id}, row {self.row} (check): {self.message}"


class SellerReputationDay(models.Model):
    """The seller-reputation rollup: per seller and UTC day of the leads' creation, how many of
    those leads are good (scored or later) and bad (rejected as low quality or duplicate), kept
    by leads.reputation in the transactions that change a lead's status. Scoring sums ≤ 31 rows
    instead of counting the seller's month of leads."""

    # No database constraint: a new day's row would take a KEY SHARE lock on the seller's user row
    # in every scoring transaction; the rollup is derived data (migration 0006 rebuilds it).
    seller = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    day = models.DateField()
    good = models.IntegerField(default=0)
    bad = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["seller", "day"], name="sellerrepday_seller_day_uniq")]

    def __str__(self) -> str:
        return f"{self.seller_id} {self.day}: {self.good} good, {self.bad} bad"


class SellerVerticalReputation(models.Model):
    """A seller's reputation in one vertical, shown to buyers on every listing: lifetime sales,
    the disputes about them and how they were decided, and the score computed from those
    (leads.reputation, docs/scoring.md "Seller reputation per vertical"). Counters move by atomic
    increments in the transactions of the sale and of the dispute; the score is recomputed in the
    same transaction, under the row lock the increment took."""

    # No database constraints, as SellerReputationDay: a sale's transaction would otherwise take
    # KEY SHARE locks on the seller's user row and the vertical's row; the row is derived data
    # (leads.reputation.seller_reputation_rebuild recomputes it).
    seller = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    vertical = models.ForeignKey("verticals.Vertical", on_delete=models.CASCADE, related_name="+", db_constraint=False)
    sales = models.IntegerField(default=0, help_text="Leads sold in the vertical, lifetime (sale events).")
    first_sale_at = models.DateTimeField(null=True, blank=True)
    disputes_opened = models.IntegerField(default=0)
    disputes_upheld = models.IntegerField(default=0, help_text="Decided with a full or partial refund.")
    refunds_weighted = models.DecimalField(
        max_digits=14, decimal_places=6, default=0, help_text="Σ refunded share of the price over upheld disputes."
    )
    disputes_dismissed = models.IntegerField(default=0)
    # Buyer-reported outcomes (auctions dispositions): purchases with a disposition, and those
    # whose disposition says the consumer was reached. Shown as the contact rate; not scored.
    dispositions = models.IntegerField(default=0, help_text="Purchases whose buyer reported an outcome.")
    contacted = models.IntegerField(default=0, help_text="Of those, reported as contacted (or further).")
    score = models.PositiveSmallIntegerField(default=0)
    level = models.CharField(max_length=16, choices=SellerReputationLevel.choices, default=SellerReputationLevel.NEW)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "seller reputation (per vertical)"
        verbose_name_plural = "seller reputation (per vertical)"
        constraints = [
            models.UniqueConstraint(fields=["seller", "vertical"], name="sellervertrep_seller_vertical_uniq"),
            models.CheckConstraint(condition=Q(score__lte=100), name="sellervertrep_score_range"),
        ]

    def __str__(self) -> str:
        return f"{self.seller_id} in {self.vertical_id}: {self.score} ({self.level})"


class AdConnection(models.Model):
    """A seller's link from an ad platform's lead forms to one vertical: the webhook URL carries
    `token`; the secrets (Google's key, Meta's app secret, verify token and page access token)
    are sealed in the vault as one blob (leads.adplatforms.connections)."""

    seller = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ad_connections")
    platform = models.CharField(max_length=8, choices=AdPlatform.choices)
    vertical = models.ForeignKey("verticals.Vertical", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=100)
    token = models.CharField(max_length=40, unique=True, help_text="The webhook URL's secret path segment.")
    secrets_key_id = models.CharField(max_length=32)
    secrets_blob = models.BinaryField()
    form_ids = models.JSONField(default=list, blank=True, help_text="The platform's form ids this connection takes.")
    mapping = models.JSONField(default=dict, blank=True, help_text="lead field -> platform field id or name")
    consent_text = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["seller", "created_at"], name="adconnection_seller_idx")]

    def __str__(self) -> str:
        return f"{self.get_platform_display()}: {self.name}"


class AdLeadEvent(models.Model):
    """One delivery of a lead form webhook, stored before anything else happens to it.

    The raw payload (it holds the consumer's answers) is sealed in the vault; the columns hold
    only the platform's ids and what became of it. A request that could not be authenticated is
    kept as metadata only (no payload, no lead id): an unauthenticated caller cannot block the
    real delivery of a lead id. Unique on (connection, platform lead id): a redelivery is stored once
    (test leads excepted: Google's "send test data" may repeat its lead id, and each is checked).
    """

    ref = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    connection = models.ForeignKey(AdConnection, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    platform = models.CharField(max_length=8, choices=AdPlatform.choices)
    platform_lead_id = models.CharField(max_length=100, blank=True, help_text="Google lead_id / Meta leadgen_id")
    form_id = models.CharField(max_length=100, blank=True)
    is_test = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=AdEventStatus.choices, default=AdEventStatus.RECEIVED)
    error = models.CharField(max_length=500, blank=True, help_text="Why it was refused or failed, in words.")
    http_status = models.PositiveSmallIntegerField(default=200, help_text="What the webhook was answered.")
    body_bytes = models.PositiveIntegerField(default=0)
    remote_ip = models.GenericIPAddressField(null=True, blank=True, help_text="The delivering server's address.")
    payload_key_id = models.CharField(max_length=32, blank=True)
    payload_blob = models.BinaryField(null=True, blank=True)
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    attempts = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "platform_lead_id"],
                condition=~Q(platform_lead_id="") & Q(is_test=False),
                name="adleadevent_connection_lead_uniq",
            )
        ]
        indexes = [
            models.Index(fields=["connection", "received_at", "id"], name="adleadevent_connection_idx"),
            models.Index(fields=["status", "received_at"], name="adleadevent_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.platform} event {self.pk} ({self.status})"

    @property
    def replayable(self) -> bool:
        return self.status == AdEventStatus.FAILED or (
            self.status == AdEventStatus.REJECTED and bool(self.payload_blob) and self.connection_id is not None
        )
