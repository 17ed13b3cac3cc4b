"""Admin for the USDC ledger: read-only books; money moves only through the ledger services
(staff credit a user on /staff/credit/, linked from the accounts list)."""

from django.contrib import admin
from django.urls import reverse

from core.admin import ReadOnlyAdminMixin
from ledger.models import LedgerAccount, LedgerEntry, LedgerTransaction


@admin.register(LedgerAccount)
class LedgerAccountAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "kind", "owner", "reference", "balance", "created_at")
    list_filter = ("kind",)
    search_fields = ("owner__email", "reference")
    list_select_related = ("owner",)
    show_full_result_count = False
    change_list_template = "wallet/admin_ledgeraccount_changelist.html"

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "staff_credit_url": reverse("staff-credit")}
        return super().changelist_view(request, extra_context=extra_context)


class LedgerEntryInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = LedgerEntry
    fields = ("account", "amount", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("account__owner")


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "kind", "idempotency_key", "memo", "created_by", "created_at")
    list_filter = ("kind",)
    search_fields = ("idempotency_key", "memo", "correlation_id", "entries__account__owner__email")
    list_select_related = ("created_by",)
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = ("kind", "idempotency_key", "memo", "created_by", "correlation_id", "created_at")
    readonly_fields = fields
    inlines = [LedgerEntryInline]
