"""Admin for leads. No personal data here: LeadPII is not registered, and neither the keyed
hashes nor the consumer's IP and user agent are shown. Staff search by ids, never by contact."""

import json

from django import forms
from django.contrib import admin
from django.db.models import Count
from django.utils.html import format_html

from core.admin import ReadOnlyAdminMixin
from leads import services
from leads.adplatforms.connections import ad_connection_rotate_secret
from leads.adplatforms.processing import ad_event_replay
from leads.models import (
    AdConnection,
    AdLeadEvent,
    CsvImport,
    Lead,
    LeadStatusChange,
    PiiAccess,
    SellerCap,
    SellerFormToken,
    SellerVerticalReputation,
)


def _pretty_json(value) -> str:
    return format_html(
        "<pre style='white-space:pre-wrap;margin:0'>{}</pre>",
        json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True),
    )


class LeadStatusChangeInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = LeadStatusChange
    extra = 0
    fields = ("at", "from_status", "to_status", "reason")
    readonly_fields = fields
    ordering = ("at", "id")
    can_delete = False


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "vertical",
        "seller",
        "source",
        "status",
        "quality_score",
        "has_phone",
        "has_email",
        "created_at",
    )
    list_filter = (
        "status",
        "source",
        ("vertical", admin.RelatedOnlyFieldListFilter),
        "has_phone",
        "has_email",
        "rejection_reason",
    )
    # Ids and the seller's own labels only: contact details are encrypted and never searchable.
    search_fields = ("=external_id", "campaign", "sub_id")
    search_help_text = "Lead id, external id, campaign or sub id."
    list_select_related = ("vertical", "seller")
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")
    inlines = [LeadStatusChangeInline]
    actions = ["rescore"]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "id",
                    "vertical",
                    "seller",
                    "source",
                    "status",
                    "rejection_reason",
                    "rejection_detail_view",
                    "duplicate_of",
                    "price",
                )
            },
        ),
        ("Seller's labels", {"fields": ("external_id", "campaign", "sub_id", "correlation_id")}),
        (
            "Lead",
            {"fields": ("country", "state", "zip", "city", "fields_view", "has_phone", "phone_type", "has_email")},
        ),
        ("Consent", {"fields": ("consent_at", "consent_text", "consent_page_url", "consent_certificate_url")}),
        ("Quality", {"fields": ("quality_score", "score_breakdown_view", "scored_at")}),
        ("Dates", {"fields": ("created_at", "updated_at")}),
    )
    readonly_fields = (
        "id",
        "vertical",
        "seller",
        "source",
        "status",
        "rejection_reason",
        "rejection_detail_view",
        "duplicate_of",
        "price",
        "external_id",
        "campaign",
        "sub_id",
        "correlation_id",
        "country",
        "state",
        "zip",
        "city",
        "fields_view",
        "has_phone",
        "phone_type",
        "has_email",
        "consent_at",
        "consent_text",
        "consent_page_url",
        "consent_certificate_url",
        "quality_score",
        "score_breakdown_view",
        "scored_at",
        "created_at",
        "updated_at",
    )

    def has_add_permission(self, request):
        return False  # leads arrive through the ingestion services only

    def has_delete_permission(self, request, obj=None):
        return False

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term.isdigit() and len(term) <= 18:
            results |= queryset.filter(pk=int(term))
        return results, may_have_duplicates

    @admin.display(description="vertical fields")
    def fields_view(self, obj):
        return _pretty_json(obj.fields)

    @admin.display(description="score breakdown")
    def score_breakdown_view(self, obj):
        return _pretty_json(obj.score_breakdown) if obj.score_breakdown else "—"

    @admin.display(description="rejection detail")
    def rejection_detail_view(self, obj):
        return _pretty_json(obj.rejection_detail) if obj.rejection_detail else "—"

    @admin.action(description="Re-score selected leads now")
    def rescore(self, request, queryset):
        count = 0
        for lead_id in queryset.values_list("pk", flat=True):
            services.lead_rescore(lead_id=lead_id, reason=f"rescored by staff ({request.user.pk})")
            count += 1
        self.message_user(request, f"Re-scored {count} lead(s).")


class SellerCapForm(forms.ModelForm):
    class Meta:
        model = SellerCap
        fields = ("seller", "vertical", "daily_cap", "note")
        help_texts = {
            "vertical": "Leave empty for a cap on each vertical without its own override.",
            "daily_cap": "Leads per UTC day; 0 stops this seller's ingestion.",
        }

    def clean_daily_cap(self):
        cap = self.cleaned_data["daily_cap"]
        if cap is None or cap < 0:
            raise forms.ValidationError("The daily cap must be 0 or more.")
        return cap


@admin.register(SellerCap)
class SellerCapAdmin(admin.ModelAdmin):
    """Staff's per-seller overrides of the verticals' daily caps; they apply to the next submission."""

    form = SellerCapForm
    list_display = ("seller", "vertical_label", "daily_cap", "note")
    list_filter = (("vertical", admin.RelatedOnlyFieldListFilter),)
    search_fields = ("seller__email", "seller__company_name", "vertical__slug")
    list_select_related = ("seller", "vertical")
    raw_id_fields = ("seller",)
    autocomplete_fields = ("vertical",)

    @admin.display(description="vertical", ordering="vertical__slug")
    def vertical_label(self, obj):
        return obj.vertical or "all verticals"


@admin.register(SellerFormToken)
class SellerFormTokenAdmin(admin.ModelAdmin):
    list_display = ("seller", "created_at")
    search_fields = ("seller__email",)
    list_select_related = ("seller",)
    fields = ("seller", "token", "created_at")
    readonly_fields = fields
    actions = ["rotate"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Rotate the selected tokens (old form links stop working)")
    def rotate(self, request, queryset):
        count = 0
        for token in queryset.select_related("seller"):
            services.seller_form_token_rotate(seller=token.seller)
            count += 1
        self.message_user(request, f"Rotated {count} token(s).")


@admin.register(CsvImport)
class CsvImportAdmin(admin.ModelAdmin):
    """Progress and counts only: the uploaded file holds personal data and is never shown."""

    list_display = (
        "id",
        "seller",
        "vertical",
        "filename",
        "status",
        "total_rows",
        "processed_rows",
        "accepted_rows",
        "rejected_rows",
        "created_at",
        "finished_at",
    )
    list_filter = ("status", ("vertical", admin.RelatedOnlyFieldListFilter))
    search_fields = ("seller__email", "filename")
    list_select_related = ("seller", "vertical")
    fields = (
        "seller",
        "vertical",
        "filename",
        "status",
        "headers",
        "mapping",
        "total_rows",
        "processed_rows",
        "accepted_rows",
        "rejected_rows",
        "error_count",
        "created_at",
        "finished_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).defer("content").annotate(_error_count=Count("row_errors"))

    @admin.display(description="errors", ordering="_error_count")
    def error_count(self, obj):
        return obj._error_count


@admin.register(PiiAccess)
class PiiAccessAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The PII access log, read-only: who read which lead's contact details (the seller its own
    lead; the buyer, or the LeadNFT's owner after a resale, its purchase), how and when — never the
    details themselves. Rows are written only by leads.pii_access."""

    list_display = ("id", "user", "lead", "role", "channel", "accessed_at", "correlation_id")
    list_filter = ("role", "channel", "accessed_at")
    search_fields = ("=lead__id", "user__email", "=correlation_id")
    list_select_related = ("user", "lead")
    date_hierarchy = "accessed_at"
    ordering = ("-accessed_at", "-id")
    fields = ("user", "lead", "role", "channel", "correlation_id", "accessed_at")
    readonly_fields = fields
    show_full_result_count = False


@admin.register(SellerVerticalReputation)
class SellerVerticalReputationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Seller reputation per vertical, read-only: the counters sales and disputes move
    (leads.seller_reputation) and the score buyers see. `manage.py seller_reputation_rebuild`
    recomputes every row from the facts."""

    list_display = (
        "seller",
        "vertical",
        "score",
        "level",
        "sales",
        "disputes_opened",
        "disputes_upheld",
        "refunds_weighted",
        "disputes_dismissed",
        "first_sale_at",
        "computed_at",
    )
    list_filter = ("level", "vertical")
    search_fields = ("seller__email", "seller__company_name", "=seller__id")
    list_select_related = ("seller", "vertical")
    ordering = ("seller_id", "vertical_id")
    fields = list_display
    readonly_fields = fields
    show_full_result_count = False


@admin.register(AdConnection)
class AdConnectionAdmin(admin.ModelAdmin):
    """Staff see and pause connections; the secrets stay sealed (never shown here)."""

    list_display = ("id", "name", "platform", "seller", "vertical", "active", "created_at")
    list_filter = ("platform", "active", ("vertical", admin.RelatedOnlyFieldListFilter))
    search_fields = ("=id", "name", "=seller__id", "=form_ids")
    fields = ("seller", "platform", "vertical", "name", "token", "form_ids", "mapping", "consent_text", "active")
    readonly_fields = ("seller", "platform", "vertical", "name", "token", "form_ids", "mapping", "consent_text")
    list_select_related = ("seller", "vertical")
    actions = ("rotate_secret",)

    def has_add_permission(self, request):
        return False  # the seller makes them (fresh secrets, their own app secret)

    @admin.action(description="Rotate the selected connections' secret (the old one stops working)")
    def rotate_secret(self, request, queryset):
        for connection in queryset:
            ad_connection_rotate_secret(connection=connection)
        self.message_user(request, f"{queryset.count()} secret(s) rotated.")


@admin.register(AdLeadEvent)
class AdLeadEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every delivery, refused ones too: ids, status and reason; the sealed payload is never shown."""

    list_display = (
        "id",
        "platform",
        "connection",
        "platform_lead_id",
        "is_test",
        "status",
        "http_status",
        "received_at",
    )
    list_filter = ("platform", "status", "is_test")
    search_fields = ("=id", "=platform_lead_id", "=form_id", "=connection__id")
    fields = (
        "ref",
        "connection",
        "platform",
        "platform_lead_id",
        "form_id",
        "is_test",
        "status",
        "error",
        "http_status",
        "body_bytes",
        "lead",
        "attempts",
        "received_at",
        "processed_at",
    )
    readonly_fields = fields
    list_select_related = ("connection",)
    actions = ("replay",)

    @admin.action(description="Replay the selected failed events")
    def replay(self, request, queryset):
        done = 0
        for event in queryset.select_related("connection"):
            if event.replayable:
                ad_event_replay(seller=event.connection.seller, event_id=event.pk)
                done += 1
        self.message_user(request, f"{done} event(s) replayed; the others were not failed.")

    def has_change_permission(self, request, obj=None):
        return obj is None  # the changelist (and its action) opens; rows stay read-only
