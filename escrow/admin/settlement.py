"""Staff views of settlement: each sale's settlement (with a retry for failed ones and a refund for
funded ones), mint batches and reconciliation findings. Read-only: state moves only through escrow/services/settlement.py."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from core.admin import ReadOnlyAdminMixin
from escrow.models import MintBatch, ReconciliationIssue, Settlement
from escrow.services.settlement import REFUNDABLE, settlement_refund, settlement_retry


class ReconciliationIssueInline(admin.TabularInline):
    model = ReconciliationIssue
    extra = 0
    can_delete = False
    fields = ("kind", "expected", "actual", "detected_at", "last_seen_at", "resolved_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Settlement)
class SettlementAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "sale",
        "state",
        "amount",
        "buyer_address",
        "token_id",
        "funded_at",
        "minted_at",
        "release_after",
        "released_at",
    )
    list_filter = ("state", "chain_id")
    search_fields = ("=sale__id", "buyer_address", "seller_address", "owner_address", "error")
    list_select_related = ("sale",)
    readonly_fields = [f.name for f in Settlement._meta.fields]
    inlines = [ReconciliationIssueInline]
    actions = ["retry", "refund"]

    @admin.action(description="Retry the selected failed settlements")
    def retry(self, request, queryset):
        retried = 0
        for settlement in queryset.filter(state=Settlement.State.FAILED):
            settlement_retry(settlement_id=settlement.pk)
            retried += 1
        skipped = queryset.count() - retried
        self.message_user(
            request,
            f"{retried} settlement(s) retried; {skipped} not failed, left alone.",
            messages.SUCCESS if retried else messages.WARNING,
        )

    @admin.action(description="Refund the selected funded or minted sales to their buyers")
    def refund(self, request, queryset):
        refunded, refused = 0, []
        for settlement in queryset.filter(state__in=REFUNDABLE):
            try:
                settlement_refund(settlement_id=settlement.pk, reason=f"refunded by {request.user.email}")
            except ValidationError as exc:
                refused.append(f"sale {settlement.sale_id}: {' '.join(exc.messages)}")
            else:
                refunded += 1
        skipped = queryset.count() - refunded - len(refused)
        self.message_user(
            request,
            f"{refunded} refund(s) sent; {skipped} not refundable, left alone."
            + (f" Refused: {'; '.join(refused)}" if refused else ""),
            messages.SUCCESS if refunded and not refused else messages.WARNING,
        )


@admin.register(MintBatch)
class MintBatchAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "status", "size", "onchain_batch_id", "gas_used", "created_at", "confirmed_at")
    list_filter = ("status", "chain_id")
    readonly_fields = [f.name for f in MintBatch._meta.fields]


@admin.register(ReconciliationIssue)
class ReconciliationIssueAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Differences between the books and the chain; open ones first."""

    list_display = ("kind", "settlement", "user", "expected", "actual", "detected_at", "last_seen_at", "resolved_at")
    list_filter = ("kind", ("resolved_at", admin.EmptyFieldListFilter), "chain_id")
    search_fields = ("=settlement__sale__id", "user__email", "expected", "actual")
    list_select_related = ("settlement", "user")
    ordering = ("-resolved_at", "-id")
