"""Admin for deposits and withdrawals: read-only. Money moves only through escrow/services/deposits.py and
escrow/services/withdrawals.py; an unknown depositor's VaultEvent (user empty) is where staff look first."""

from django.contrib import admin

from core.admin import ReadOnlyAdminMixin
from escrow.models import ChainCursor, VaultClaim, VaultEvent, VaultExit, Withdrawal


class _ReadOnly(ReadOnlyAdminMixin, admin.ModelAdmin):
    show_full_result_count = False


@admin.register(VaultEvent)
class VaultEventAdmin(_ReadOnly):
    list_display = (
        "id",
        "kind",
        "account",
        "counterparty",
        "user",
        "amount",
        "ledger_transaction",
        "block_number",
        "tx_hash",
        "log_index",
        "chain_id",
        "created_at",
    )
    list_filter = ("kind", "chain_id", ("user", admin.EmptyFieldListFilter))
    search_fields = ("account", "tx_hash", "user__email")
    list_select_related = ("user",)
    readonly_fields = (
        "chain_id",
        "tx_hash",
        "log_index",
        "block_number",
        "kind",
        "account",
        "counterparty",
        "user",
        "amount",
        "ledger_transaction",
        "created_at",
    )


@admin.register(Withdrawal)
class WithdrawalAdmin(_ReadOnly):
    list_display = ("id", "user", "amount", "to_address", "status", "withdraw_tx", "created_at", "completed_at")
    list_filter = ("status",)
    search_fields = ("user__email", "to_address", "idempotency_key", "withdraw_tx__tx_hash")
    list_select_related = ("user", "withdraw_tx")
    readonly_fields = (
        "user",
        "amount",
        "to_address",
        "idempotency_key",
        "status",
        "withdraw_tx",
        "transfer_tx",
        "error",
        "created_at",
        "completed_at",
    )


@admin.register(ChainCursor)
class ChainCursorAdmin(_ReadOnly):
    list_display = ("name", "chain_id", "block", "updated_at")
    list_filter = ("chain_id",)


@admin.register(VaultExit)
class VaultExitAdmin(_ReadOnly):
    """Exits users announced on the vault (the exit hatch) and what the ledger set aside for them."""

    list_display = (
        "id",
        "user",
        "account",
        "amount",
        "payable",
        "reserved",
        "state",
        "unlocks_at",
        "paid",
        "created_at",
        "closed_at",
    )
    list_filter = ("state", "chain_id")
    search_fields = ("account", "user__email")
    list_select_related = ("user",)
    readonly_fields = [f.name for f in VaultExit._meta.fields]


@admin.register(VaultClaim)
class VaultClaimAdmin(_ReadOnly):
    """What the ledger had to give up for the vault (exits, outflows); `short` ones need staff
    (each also has an open reconciliation issue for its user)."""

    list_display = ("id", "user", "purpose", "amount", "covered", "state", "bids_withdrawn", "created_at", "done_at")
    list_filter = ("state", "purpose", "chain_id")
    search_fields = ("user__email", "event__tx_hash")
    list_select_related = ("user",)
    readonly_fields = [f.name for f in VaultClaim._meta.fields]
