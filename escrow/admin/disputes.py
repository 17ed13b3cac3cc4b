"""Staff arbitration of disputes: the queue (oldest first, with each buyer's return rate in the
vertical), each dispute's facts read-only (both statements, evidence files, the automatic checks in
words) and a "Decide" page for staff holding escrow.arbitrate_dispute. The decision is
escrow.services.disputes.dispute_decide's: its ValidationError goes back on the form field by
field, and a refund decision queues escrow.dispute_apply by itself."""

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.timesince import timesince

from core.admin import ReadOnlyAdminMixin
from core.display import usdc_text
from escrow.choices import OPEN_DISPUTE_STATES
from escrow.forms import DisputeDecideForm, add_service_errors
from escrow.models import Dispute, DisputeEvidence
from escrow.selectors.disputes import RETURN_RATE_DAYS, buyer_return_rates, dispute_checks_display
from escrow.services.disputes import dispute_decide

ARBITRATE = "escrow.arbitrate_dispute"


def may_arbitrate(user) -> bool:
    return bool(user.is_active and user.is_staff and (user.is_superuser or user.has_perm(ARBITRATE)))


def _download(evidence: DisputeEvidence):
    return format_html(
        '<a href="{}">{}</a> ({}, {} bytes)',
        reverse("dispute-evidence", args=[evidence.pk]),
        evidence.name,
        evidence.content_type,
        evidence.size,
    )


class DisputeEvidenceInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = DisputeEvidence
    extra = 0
    fields = ("download", "party", "uploaded_by", "sha256", "created_at")
    readonly_fields = fields

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) or may_arbitrate(request.user)

    @admin.display(description="File")
    def download(self, obj):
        return _download(obj)


class DisputeChangeList(ChangeList):
    """The queue's page with each buyer's return rate in the dispute's vertical: two queries for
    the page (buyer_return_rates), not two per row."""

    def get_results(self, request):
        super().get_results(request)
        rates = buyer_return_rates(buyer_ids={d.buyer_id for d in self.result_list})
        for dispute in self.result_list:
            dispute.return_rate = rates.get((dispute.buyer_id, dispute.vertical_id))


def _rate_text(rate) -> str:
    if rate is None or not rate.purchases:
        return "no purchases"
    text = f"{rate.rate:.0%} ({rate.disputes} of {rate.purchases})"
    return text if rate.known else f"{text}, too few to judge"


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "__str__",
        "age",
        "state",
        "reason",
        "vertical",
        "price_usdc",
        "staff_first",
        "respond_by",
        "recommendation",
        "buyer_return_rate",
        "outcome",
    )
    list_filter = ("state", "outcome", "reason", "staff_first", "vertical")
    search_fields = ("=id", "=sale__id", "buyer__email", "seller__email")
    list_select_related = ("vertical",)
    ordering = ("created_at", "id")  # oldest first: the arbitration queue
    inlines = [DisputeEvidenceInline]
    change_form_template = "admin/escrow/dispute/change_form.html"
    fieldsets = (
        (
            "The dispute",
            {
                "fields": (
                    "sale",
                    "buyer",
                    "seller",
                    "vertical",
                    "price_usdc",
                    "reason",
                    "state",
                    "created_at",
                    "respond_by",
                    "staff_first",
                    "staff_first_reason",
                    "buyer_return_rate_detail",
                )
            },
        ),
        ("The buyer's statement", {"fields": ("statement",)}),
        (
            "The seller's answer",
            {"fields": ("seller_response", "seller_statement", "offer_usdc", "responded_at", "buyer_reply")},
        ),
        ("Automatic checks", {"fields": ("checks_in_words", "recommendation", "recommendation_reasons_text")}),
        (
            "Decision",
            {
                "fields": (
                    "outcome",
                    "refund_usdc",
                    "decider",
                    "decided_by",
                    "decision_reason",
                    "decided_at",
                    "closed_at",
                )
            },
        ),
        ("Tracing", {"fields": ("settlement", "correlation_id", "updated_at"), "classes": ("collapse",)}),
    )
    readonly_fields = [f for fs in fieldsets for f in fs[1]["fields"]]

    # Staff who arbitrate see the queue without the model's own view permission.
    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) or may_arbitrate(request.user)

    def has_module_permission(self, request):
        return super().has_module_permission(request) or may_arbitrate(request.user)

    def get_changelist(self, request, **kwargs):
        return DisputeChangeList

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("vertical", "buyer", "seller", "sale", "decided_by")

    # ------------------------------------------------------------ columns

    @admin.display(description="Age", ordering="created_at")
    def age(self, obj):
        return timesince(obj.created_at, timezone.now())

    @admin.display(description="Price", ordering="price")
    def price_usdc(self, obj):
        return usdc_text(obj.price)

    @admin.display(description="Offer")
    def offer_usdc(self, obj):
        return usdc_text(obj.offer_amount)

    @admin.display(description="Refund")
    def refund_usdc(self, obj):
        return usdc_text(obj.refund_amount)

    @admin.display(description=f"Buyer's return rate here ({RETURN_RATE_DAYS} days)")
    def buyer_return_rate(self, obj):
        return _rate_text(getattr(obj, "return_rate", None))

    @admin.display(description=f"Buyer's return rate in the vertical ({RETURN_RATE_DAYS} days)")
    def buyer_return_rate_detail(self, obj):
        rates = buyer_return_rates(buyer_ids=[obj.buyer_id])
        return _rate_text(rates.get((obj.buyer_id, obj.vertical_id)))

    @admin.display(description="Checks")
    def checks_in_words(self, obj):
        rows = dispute_checks_display(obj.checks)
        if not rows:
            return "—"
        return format_html("<dl>{}</dl>", format_html_join("", "<dt>{}</dt><dd>{}</dd>", rows))

    @admin.display(description="Why")
    def recommendation_reasons_text(self, obj):
        reasons = obj.recommendation_reasons or []
        if not reasons:
            return "—"
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((r,) for r in reasons)))

    # ------------------------------------------------------------ deciding

    def get_urls(self):
        return [
            path(
                "<int:object_id>/decide/",
                self.admin_site.admin_view(self.decide_view),
                name="escrow_dispute_decide",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "may_arbitrate": may_arbitrate(request.user)}
        return super().change_view(request, object_id, form_url, extra_context)

    def decide_view(self, request, object_id: int):
        if not may_arbitrate(request.user):
            raise PermissionDenied
        dispute = self.get_queryset(request).filter(pk=object_id).first()
        if dispute is None:
            raise Http404("No such dispute.")
        form = DisputeDecideForm(request.POST or None)
        # A decided dispute is refused by the service (of two decisions at once, one applies).
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                decided = dispute_decide(
                    staff=request.user,
                    dispute_id=dispute.pk,
                    outcome=data["outcome"],
                    reason=data["reason"],
                    refund_amount=data["refund_amount"],
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                self.message_user(
                    request,
                    f"Dispute {decided.pk} decided: {decided.get_outcome_display()}"
                    + (f" of {usdc_text(decided.refund_amount)}" if decided.refund_amount is not None else "")
                    + ". Both parties are told.",
                    messages.SUCCESS,
                )
                return redirect("admin:escrow_dispute_change", dispute.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Decide dispute {dispute.pk}",
            "dispute": dispute,
            "form": form,
            "is_open": dispute.state in OPEN_DISPUTE_STATES,
            "checks": dispute_checks_display(dispute.checks),
            "evidence": list(dispute.evidence.all()),
        }
        return TemplateResponse(
            request, "admin/escrow/dispute/decide.html", context, status=400 if form.errors else 200
        )


@admin.register(DisputeEvidence)
class DisputeEvidenceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) or may_arbitrate(request.user)

    def has_module_permission(self, request):
        return super().has_module_permission(request) or may_arbitrate(request.user)

    list_display = ("name", "dispute", "party", "content_type", "size", "created_at", "download")
    list_filter = ("party", "content_type")
    search_fields = ("=dispute__id", "name", "sha256")
    list_select_related = ("dispute",)
    readonly_fields = ("dispute", "party", "uploaded_by", "download", "content_type", "size", "sha256", "created_at")
    exclude = ("file", "name")

    @admin.display(description="File")
    def download(self, obj):
        return _download(obj)
