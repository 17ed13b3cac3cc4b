from django.contrib import admin

from chain.models import ChainTransaction, ContractDeployment, Signer, Wallet
from core.admin import ReadOnlyAdminMixin


@admin.register(ContractDeployment)
class ContractDeploymentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: deployments are recorded by `manage.py chain_deploy`, never edited by hand."""

    list_display = ("name", "chain_id", "address", "block_number", "deployed_at")
    list_filter = ("chain_id", "name")
    search_fields = ("name", "address", "tx_hash")


class _ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


@admin.register(Signer)
class SignerAdmin(_ReadOnlyAdmin):
    """Read-only: signers come from CHAIN_SIGNER_KEYS; nonces move only in chain/transactions.py."""

    list_display = ("address", "chain_id", "next_nonce", "active", "created_at")
    list_filter = ("chain_id", "active")
    search_fields = ("address",)


@admin.register(ChainTransaction)
class ChainTransactionAdmin(_ReadOnlyAdmin):
    """Read-only: failed transactions show here for staff (error, every hash broadcast)."""

    list_display = (
        "idempotency_key",
        "status",
        "signer",
        "nonce",
        "tx_hash",
        "attempts",
        "last_sent_at",
        "confirmed_block",
        "created_at",
    )
    list_filter = ("status", "chain_id", "signer")
    search_fields = ("idempotency_key", "tx_hash", "to", "correlation_id")
    list_select_related = ("signer",)


@admin.register(Wallet)
class WalletAdmin(_ReadOnlyAdmin):
    """Read-only, and never shows the sealed key: wallets change only through chain/wallets.py."""

    list_display = ("address", "kind", "user", "linked_at", "created_at")
    list_filter = ("kind",)
    search_fields = ("address", "user__email")
    list_select_related = ("user",)
    fields = ("user", "address", "kind", "linked_at", "created_at")
    readonly_fields = fields
