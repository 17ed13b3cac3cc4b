"""Reads of the USDC ledger: a user's balance and history, and the books' self-check."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, DecimalField, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from accounts.models import User
from config import db_router
from core.money import USDC_DECIMAL_PLACES, USDC_MAX_DIGITS
from ledger.choices import USER_ACCOUNT_KINDS, LedgerAccountKind
from ledger.models import LedgerAccount, LedgerEntry, LedgerTransaction

ZERO = Decimal("0.000000")


def balance_for(*, user: User) -> dict[str, Decimal]:
    """{available, held, exiting, total} in USDC for display (one query; money decisions lock rows
    instead). `exiting` is what an exit announced on chain has set aside."""
    accounts = LedgerAccount.objects.filter(owner=user, kind__in=USER_ACCOUNT_KINDS, reference="")
    balances = dict(accounts.values_list("kind", "balance"))
    available = balances.get(LedgerAccountKind.USER_AVAILABLE, ZERO)
    held = balances.get(LedgerAccountKind.USER_HELD, ZERO)
    exiting = balances.get(LedgerAccountKind.USER_EXITING, ZERO)
    return {"available": available, "held": held, "exiting": exiting, "total": available + held + exiting}


def ledger_entries_for(*, user: User) -> QuerySet:
    """The user's entries (available and held), newest first; ordered for (created_at, id) cursors."""
    return (
        LedgerEntry.objects.filter(account__owner=user, account__kind__in=USER_ACCOUNT_KINDS)
        .select_related("transaction", "account")
        .order_by("-created_at", "-id")
    )


@dataclass
class LedgerCheckReport:
    accounts_checked: int = 0
    transactions_checked: int = 0
    entries_checked: int = 0
    total_sum: Decimal = ZERO
    # (transaction id, sum of its entries) for every transaction whose entries do not sum to 0
    unbalanced_transactions: list[tuple[int, Decimal]] = field(default_factory=list)
    # transaction ids with fewer than two entries
    incomplete_transactions: list[int] = field(default_factory=list)
    # (account id, kind, stored balance, sum of entries) wherever they differ
    balance_mismatches: list[tuple[int, str, Decimal, Decimal]] = field(default_factory=list)
    # (account id, kind, balance): below zero though only `external` may be
    negative_accounts: list[tuple[int, str, Decimal]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (
            self.total_sum
            or self.unbalanced_transactions
            or self.incomplete_transactions
            or self.balance_mismatches
            or self.negative_accounts
        )

    def lines(self) -> list[str]:
        out = [
            f"accounts: {self.accounts_checked}, transactions: {self.transactions_checked}, "
            f"entries: {self.entries_checked}",
            f"sum of all entries: {self.total_sum:f}",
        ]
        out += [f"UNBALANCED transaction {pk}: entries sum to {total:f}" for pk, total in self.unbalanced_transactions]
        out += [f"INCOMPLETE transaction {pk}: fewer than two entries" for pk in self.incomplete_transactions]
        out += [
            f"MISMATCH account {pk} ({kind}): stored {stored:f}, entries sum to {derived:f}"
            for pk, kind, stored, derived in self.balance_mismatches
        ]
        out += [f"NEGATIVE account {pk} ({kind}): {balance:f}" for pk, kind, balance in self.negative_accounts]
        out.append("OK: the books balance." if self.ok else "FAILED: the books do not balance.")
        return out


def ledger_check() -> LedgerCheckReport:
    """Prove the books: every transaction and the whole ledger sum to zero, and each account's
    stored balance equals the sum of its entries. Each check is one statement, hence one
    consistent snapshot even while money moves."""
    usdc = DecimalField(max_digits=USDC_MAX_DIGITS + 6, decimal_places=USDC_DECIMAL_PLACES)
    report = LedgerCheckReport()
    with db_router.primary():
        totals = LedgerEntry.objects.aggregate(total=Coalesce(Sum("amount"), Value(ZERO, output_field=usdc)))
        report.total_sum = totals["total"]
        report.entries_checked = LedgerEntry.objects.count()
        report.transactions_checked = LedgerTransaction.objects.count()
        report.accounts_checked = LedgerAccount.objects.count()
        report.unbalanced_transactions = list(
            LedgerEntry.objects.values("transaction_id")
            .annotate(total=Sum("amount"))
            .exclude(total=0)
            .order_by("transaction_id")
            .values_list("transaction_id", "total")
        )
        entry_counts = LedgerEntry.objects.filter(transaction=OuterRef("pk")).order_by().values("transaction")
        report.incomplete_transactions = list(
            LedgerTransaction.objects.annotate(
                n=Coalesce(Subquery(entry_counts.annotate(n=Count("id")).values("n")), 0)
            )
            .filter(n__lt=2)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        sums = LedgerEntry.objects.filter(account=OuterRef("pk")).order_by().values("account")
        derived = Subquery(sums.annotate(total=Sum("amount")).values("total"))
        accounts = LedgerAccount.objects.annotate(
            derived=Coalesce(derived, Value(ZERO, output_field=usdc), output_field=usdc)
        )
        report.balance_mismatches = list(
            accounts.filter(~Q(balance=F("derived"))).order_by("pk").values_list("pk", "kind", "balance", "derived")
        )
        report.negative_accounts = list(
            LedgerAccount.objects.filter(balance__lt=0)
            .exclude(kind=LedgerAccountKind.EXTERNAL)
            .order_by("pk")
            .values_list("pk", "kind", "balance")
        )
    return report
