"""The double-entry USDC ledger: accounts, balanced transactions and their entries.

Amounts are USDC with 6 decimal places, Decimal only. Every transaction's entries sum to zero,
and an account's `balance` is kept in step with the sum of its entries by the posting service
(ledger.services.ledger_post) under row locks; `manage.py ledger_check` proves both.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.money import usdc_field
from ledger.choices import USER_ACCOUNT_KINDS, LedgerAccountKind, LedgerTransactionKind

__all__ = ["LedgerAccount", "LedgerEntry", "LedgerTransaction"]


class LedgerAccount(models.Model):
    """A bucket of USDC: a user's available or held funds, or a platform-side account.

    Per-object accounts (one escrow per deal, one pool per bounty) are told apart by `reference`.
    """

    kind = models.CharField(max_length=32, choices=LedgerAccountKind.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_accounts"
    )
    reference = models.CharField(max_length=128, blank=True, default="")
    balance = usdc_field(default=Decimal("0"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "marketplace_ledgeraccount"  # its table from before the ledger was an app of its own
        constraints = [
            # NULL owners count as equal, so there is one platform/external account per kind.
            models.UniqueConstraint(
                fields=["kind", "owner", "reference"], name="ledger_account_kind_owner_ref_uniq", nulls_distinct=False
            ),
            # The database itself refuses an overdraft, whatever code path writes the balance.
            models.CheckConstraint(
                condition=Q(kind=LedgerAccountKind.EXTERNAL) | Q(balance__gte=0),
                name="ledger_account_balance_non_negative",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=USER_ACCOUNT_KINDS) | Q(owner__isnull=False),
                name="ledger_account_user_kinds_have_owner",
            ),
        ]

    def __str__(self) -> str:
        parts = [self.get_kind_display()]
        if self.owner_id:
            parts.append(str(self.owner))
        if self.reference:
            parts.append(self.reference)
        return " · ".join(parts)


class LedgerTransaction(models.Model):
    """One balanced movement of money; its idempotency key makes posting it happen once."""

    kind = models.CharField(max_length=32, choices=LedgerTransactionKind.choices)
    idempotency_key = models.CharField(max_length=200, unique=True)
    memo = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    correlation_id = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "marketplace_ledgertransaction"
        indexes = [models.Index(fields=["created_at", "id"], name="ledger_txn_created_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.idempotency_key}"


class LedgerEntry(models.Model):
    """One leg of a transaction: a signed amount on one account (positive adds to it)."""

    transaction = models.ForeignKey(LedgerTransaction, on_delete=models.PROTECT, related_name="entries")
    # No index of its own: ledger_entry_account_idx leads with it.
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="entries", db_index=False)
    amount = usdc_field()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "marketplace_ledgerentry"
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="ledger_entry_amount_non_zero")]
        indexes = [models.Index(fields=["account", "created_at", "id"], name="ledger_entry_account_idx")]
        verbose_name_plural = "ledger entries"

    def __str__(self) -> str:
        return f"{self.amount:+f} on account {self.account_id}"
