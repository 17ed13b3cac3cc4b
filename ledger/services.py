"""Writes to the USDC ledger. Every movement of money is one balanced `ledger_post`.

Amounts are Decimal with at most 6 places (USDC); floats are refused outright. A transaction's
idempotency key makes a retried post return the first one instead of moving money twice.
Balances are kept in step with the entries under row locks taken in id order (no deadlocks
between opposite transfers), and the database's CHECK refuses any overdraft as a last line.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Case, DecimalField, F, Q, Value, When
from django.utils import timezone

from accounts.models import User
from core import correlation
from core.money import USDC_DECIMAL_PLACES, USDC_MAX_DIGITS
from ledger.choices import LedgerAccountKind, LedgerTransactionKind
from ledger.models import LedgerAccount, LedgerEntry, LedgerTransaction
from notifications.services import low_balance_check

logger = logging.getLogger(__name__)

USDC_QUANTUM = Decimal(1).scaleb(-USDC_DECIMAL_PLACES)  # 0.000001
USDC_LIMIT = Decimal(10) ** (USDC_MAX_DIGITS - USDC_DECIMAL_PLACES)  # amounts must stay below this


# ---------------------------------------------------------------- errors


class LedgerError(Exception):
    """Base class of everything the ledger refuses."""


class InvalidAmount(LedgerError, ValueError):
    """Not a usable USDC amount: zero, non-finite, too large or more than 6 decimal places."""


class UnbalancedTransaction(LedgerError, ValueError):
    """The entries of a transaction do not sum to exactly zero."""


class IdempotencyConflict(LedgerError):
    """An idempotency key was reused for a different movement."""


class InsufficientFunds(LedgerError):
    """Posting would take an account (other than `external`) below zero."""

    def __init__(self, *, account: LedgerAccount, balance: Decimal, shortfall: Decimal):
        self.account_id, self.account_kind, self.balance, self.shortfall = account.pk, account.kind, balance, shortfall
        super().__init__(
            f"Insufficient funds in {account.kind} account {account.pk}: "
            f"balance {balance:f} USDC, short by {shortfall:f} USDC."
        )


# ---------------------------------------------------------------- amounts and accounts


def check_amount(amount: Decimal) -> Decimal:
    """The amount as a 6-place Decimal; raises TypeError for floats and other non-Decimals."""
    if isinstance(amount, float):
        raise TypeError("USDC amounts must be Decimal, never float (binary floats cannot hold cents exactly).")
    if not isinstance(amount, Decimal):
        raise TypeError(f"USDC amounts must be Decimal, not {type(amount).__name__}.")
    if not amount.is_finite():
        raise InvalidAmount(f"{amount} is not a finite amount.")
    if abs(amount) >= USDC_LIMIT:
        raise InvalidAmount(f"{amount} is too large for the ledger.")
    quantized = amount.quantize(USDC_QUANTUM)
    if quantized != amount:
        raise InvalidAmount(f"{amount} has more than {USDC_DECIMAL_PLACES} decimal places.")
    return quantized


def check_positive_amount(amount: Decimal) -> Decimal:
    amount = check_amount(amount)
    if amount <= 0:
        raise InvalidAmount(f"The amount must be positive, not {amount}.")
    return amount


@dataclass(frozen=True, order=True)
class AccountSpec:
    """An account named by (kind, owner, reference); `ledger_post` creates it on first use."""

    kind: str
    owner_id: int | None = None
    reference: str = ""


def _account_get_or_create(spec: AccountSpec) -> LedgerAccount:
    # get_or_create retries the read after losing the unique-constraint race, so it is race-safe.
    account, _ = LedgerAccount.objects.get_or_create(kind=spec.kind, owner_id=spec.owner_id, reference=spec.reference)
    return account


def account_for(*, user: User, kind: str = LedgerAccountKind.USER_AVAILABLE) -> LedgerAccount:
    """The user's account of `kind`, created on first use (race-safe)."""
    return _account_get_or_create(AccountSpec(kind=kind, owner_id=user.pk))


def platform_account_for(*, kind: str, reference: str = "") -> LedgerAccount:
    """An ownerless account: platform fees, the external world, or one escrow/bounty pool per `reference`."""
    return _account_get_or_create(AccountSpec(kind=kind, reference=reference))


def _lock_accounts(accounts: list[LedgerAccount | AccountSpec]) -> tuple[list[LedgerAccount], dict[int, LedgerAccount]]:
    """Resolve every leg's account and lock them all, in id order, in one statement in the usual
    case (accounts that exist). Accounts named by spec and not there yet are created first (in
    spec order, so two creations never cross) and the lock is taken again to cover them.
    Returns the legs' accounts in order, and the locked rows by id (with current balances)."""
    for account in accounts:
        if not isinstance(account, AccountSpec) and not (isinstance(account, LedgerAccount) and account.pk is not None):
            raise TypeError(f"Expected a saved LedgerAccount or an AccountSpec, not {account!r}.")
    specs = sorted({a for a in accounts if isinstance(a, AccountSpec)})
    wanted = Q(pk__in={a.pk for a in accounts if isinstance(a, LedgerAccount)})
    for spec in specs:
        wanted |= Q(kind=spec.kind, owner_id=spec.owner_id, reference=spec.reference)

    def lock() -> dict[int, LedgerAccount]:
        return {a.pk: a for a in LedgerAccount.objects.select_for_update().filter(wanted).order_by("pk")}

    locked = lock()
    by_spec = {AccountSpec(kind=a.kind, owner_id=a.owner_id, reference=a.reference): a for a in locked.values()}
    missing = [spec for spec in specs if spec not in by_spec]
    if missing:
        for spec in missing:
            _account_get_or_create(spec)
        locked = lock()
        by_spec = {AccountSpec(kind=a.kind, owner_id=a.owner_id, reference=a.reference): a for a in locked.values()}
    return [by_spec[a] if isinstance(a, AccountSpec) else locked[a.pk] for a in accounts], locked


def ledger_accounts_lock(*, accounts: list[LedgerAccount | AccountSpec]) -> list[LedgerAccount]:
    """Lock `accounts` (created on first use) in id order and return them, with their current
    balances, in the order given. Must run inside transaction.atomic(); a `ledger_post` that
    follows in the same transaction finds the rows already held, so deciding an amount from a
    balance and posting it cannot race."""
    legs, _ = _lock_accounts(accounts)
    return legs


# ---------------------------------------------------------------- posting


def _replayed(
    existing: LedgerTransaction, *, kind: str, legs: list[tuple[LedgerAccount, Decimal]]
) -> LedgerTransaction:
    stored = sorted(existing.entries.values_list("account_id", "amount"))
    wanted = sorted((account.pk, amount) for account, amount in legs)
    if existing.kind != kind or stored != wanted:
        raise IdempotencyConflict(
            f"Idempotency key {existing.idempotency_key!r} was already used by transaction {existing.pk} "
            "for a different movement."
        )
    existing.replayed = True
    return existing


def ledger_post(
    *,
    kind: str,
    idempotency_key: str,
    entries: list[tuple[LedgerAccount | AccountSpec, Decimal]],
    memo: str = "",
    created_by: User | None = None,
) -> LedgerTransaction:
    """Post one balanced transaction, once per idempotency key; returns it (`.replayed` says
    whether it had been posted before). Raises InsufficientFunds and writes nothing when an
    account other than `external` would go negative.

    Inside the caller's transaction it takes no savepoint of its own (two statements saved on
    every bid, purchase and settlement): every refusal is decided before the first write, and
    the one write that may fail (the idempotency key) has its own savepoint.
    """
    arguments = dict(kind=kind, idempotency_key=idempotency_key, entries=entries, memo=memo, created_by=created_by)
    if transaction.get_connection().in_atomic_block:
        return _ledger_post(**arguments)
    with transaction.atomic():
        return _ledger_post(**arguments)


def _ledger_post(
    *,
    kind: str,
    idempotency_key: str,
    entries: list[tuple[LedgerAccount | AccountSpec, Decimal]],
    memo: str,
    created_by: User | None,
) -> LedgerTransaction:
    if kind not in LedgerTransactionKind.values:
        raise ValueError(f"Unknown ledger transaction kind {kind!r}.")
    if not idempotency_key or len(idempotency_key) > 200:
        raise ValueError("An idempotency key of 1 to 200 characters is required.")
    if len(entries) < 2:
        raise UnbalancedTransaction("A transaction needs at least two entries.")
    amounts = [check_amount(amount) for _, amount in entries]
    if any(amount == 0 for amount in amounts):
        raise InvalidAmount("Ledger entries must not be zero.")
    if sum(amounts, Decimal(0)) != 0:
        raise UnbalancedTransaction(f"Entries sum to {sum(amounts, Decimal(0)):f}, not 0.")
    # Accounts first, locked in id order (two posts touching the same accounts queue, never
    # deadlock); then the transaction row, whose unique key makes a retried post a replay.
    leg_accounts, locked = _lock_accounts([account for account, _ in entries])
    legs = list(zip(leg_accounts, amounts, strict=True))
    deltas: dict[int, Decimal] = defaultdict(Decimal)
    for account, amount in legs:
        deltas[account.pk] += amount
    for pk, delta in deltas.items():
        account = locked[pk]
        after = account.balance + delta
        if account.kind != LedgerAccountKind.EXTERNAL and after < 0:
            # Posted before (the funds have moved since)? Then it is a replay, not a refusal.
            existing = LedgerTransaction.objects.filter(idempotency_key=idempotency_key).first()
            if existing is not None:
                return _replayed(existing, kind=kind, legs=legs)
            raise InsufficientFunds(account=account, balance=account.balance, shortfall=-after)
    try:
        with transaction.atomic():
            # A concurrent post with the same key blocks here until the first one commits
            # (then fails the unique check) or rolls back (then this one goes ahead).
            txn = LedgerTransaction.objects.create(
                kind=kind,
                idempotency_key=idempotency_key,
                memo=memo[:255],
                created_by=created_by,
                correlation_id=correlation.get() or "",
            )
    except IntegrityError:
        existing = LedgerTransaction.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return _replayed(existing, kind=kind, legs=legs)

    LedgerEntry.objects.bulk_create(
        LedgerEntry(transaction=txn, account_id=account.pk, amount=amount, created_at=txn.created_at)
        for account, amount in legs
    )
    changed = {pk: delta for pk, delta in deltas.items() if delta}
    if changed:
        usdc = DecimalField(max_digits=USDC_MAX_DIGITS, decimal_places=USDC_DECIMAL_PLACES)
        by_account = [When(pk=pk, then=Value(delta, output_field=usdc)) for pk, delta in changed.items()]
        LedgerAccount.objects.filter(pk__in=changed).update(balance=F("balance") + Case(*by_account, output_field=usdc))
    _low_balance_watch(locked, changed, key=str(txn.pk))
    logger.info("ledger transaction posted", extra={"ledger_transaction_id": txn.pk, "ledger_kind": kind})
    txn.replayed = False
    return txn


@dataclass(frozen=True)
class Posting:
    """One balanced transaction for ledger_post_many: what ledger_post takes, as a value."""

    kind: str
    idempotency_key: str
    entries: list[tuple[LedgerAccount, Decimal]]
    memo: str = ""


def ledger_post_many(*, postings: list[Posting]) -> list[LedgerTransaction]:
    """Post several balanced transactions at once, each once per idempotency key, as one
    ledger_post per posting would (same checks, same refusals, same replays), in a constant
    number of statements: their accounts locked together in id order, the transactions inserted
    in one statement (a key already posted is a replay: `.replayed` set, nothing moved twice),
    their entries in one, the balances moved in one. Accounts as for ledger_post (saved rows or specs).
    Must run inside transaction.atomic() (a refusal raises and the caller's transaction rolls back).
    Returns the transactions in the order given."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("ledger_post_many must run inside transaction.atomic().")
    if not postings:
        return []
    keys = [p.idempotency_key for p in postings]
    if len(set(keys)) != len(keys):
        raise ValueError("Each posting of a batch needs its own idempotency key.")
    checked: list[tuple[Posting, list[tuple[LedgerAccount, Decimal]]]] = []
    for posting in postings:
        if posting.kind not in LedgerTransactionKind.values:
            raise ValueError(f"Unknown ledger transaction kind {posting.kind!r}.")
        if not posting.idempotency_key or len(posting.idempotency_key) > 200:
            raise ValueError("An idempotency key of 1 to 200 characters is required.")
        if len(posting.entries) < 2:
            raise UnbalancedTransaction("A transaction needs at least two entries.")
        amounts = [check_amount(amount) for _, amount in posting.entries]
        if any(amount == 0 for amount in amounts):
            raise InvalidAmount("Ledger entries must not be zero.")
        if sum(amounts, Decimal(0)) != 0:
            raise UnbalancedTransaction(f"Entries sum to {sum(amounts, Decimal(0)):f}, not 0.")
        checked.append(
            (posting, [(account, amount) for (account, _), amount in zip(posting.entries, amounts, strict=True)])
        )
    resolved, locked = _lock_accounts([account for _, legs in checked for account, _ in legs])
    accounts = iter(resolved)
    checked = [(p, [(next(accounts), amount) for _, amount in legs]) for p, legs in checked]

    def deltas_of(batch) -> dict[int, Decimal]:
        deltas: dict[int, Decimal] = defaultdict(Decimal)
        for _, legs in batch:
            for account, amount in legs:
                deltas[account.pk] += amount
        return deltas

    def short(batch) -> tuple[LedgerAccount, Decimal] | None:
        """The first account a posting of `batch` would overdraw, taken in order as ledger_post
        would take them one by one (a later credit does not cover an earlier debit)."""
        running: dict[int, Decimal] = defaultdict(Decimal)
        for _, legs in batch:
            for account, amount in legs:
                running[account.pk] += amount
            for account, _ in legs:
                row = locked[account.pk]
                if row.kind != LedgerAccountKind.EXTERNAL and row.balance + running[row.pk] < 0:
                    return row, running[row.pk]
        return None

    def refuse(found) -> None:
        account, delta = found
        raise InsufficientFunds(account=account, balance=account.balance, shortfall=-(account.balance + delta))

    # Posted before (the funds have moved since)? Those are replays, not refusals.
    replays: dict[str, LedgerTransaction] = {}
    if short(checked) is not None:
        replays = {t.idempotency_key: t for t in LedgerTransaction.objects.filter(idempotency_key__in=keys)}
    fresh = [(p, legs) for p, legs in checked if p.idempotency_key not in replays]
    if (found := short(fresh)) is not None:
        refuse(found)
    inserted = _transactions_insert(fresh) if fresh else {}
    raced = [p.idempotency_key for p, _ in fresh if p.idempotency_key not in inserted]
    if raced:
        # Posted by a transaction that committed while this one waited on the key: replays too.
        replays.update({t.idempotency_key: t for t in LedgerTransaction.objects.filter(idempotency_key__in=raced)})
        fresh = [(p, legs) for p, legs in fresh if p.idempotency_key in inserted]
        if (found := short(fresh)) is not None:
            refuse(found)
    for posting, legs in checked:
        if posting.idempotency_key in replays:
            _replayed(replays[posting.idempotency_key], kind=posting.kind, legs=legs)
    if fresh:
        LedgerEntry.objects.bulk_create(
            LedgerEntry(transaction=txn, account_id=account.pk, amount=amount, created_at=txn.created_at)
            for posting, legs in fresh
            for txn in (inserted[posting.idempotency_key],)
            for account, amount in legs
        )
        moved = deltas_of(fresh)
        _balances_move(moved)
        _low_balance_watch(locked, moved, key=str(inserted[fresh[0][0].idempotency_key].pk))
        for posting, _ in fresh:
            txn = inserted[posting.idempotency_key]
            logger.info("ledger transaction posted", extra={"ledger_transaction_id": txn.pk, "ledger_kind": txn.kind})
    return [inserted.get(k) or replays[k] for k in keys]


def _low_balance_watch(locked: dict[int, LedgerAccount], deltas: dict[int, Decimal], *, key: str) -> None:
    """Tell each user whose available balance these deltas took below their low-balance threshold
    (notifications, once per crossing). `locked` holds the accounts as they were before."""
    for pk, delta in deltas.items():
        account = locked[pk]
        if delta < 0 and account.kind == LedgerAccountKind.USER_AVAILABLE:
            low_balance_check(user_id=account.owner_id, before=account.balance, after=account.balance + delta, key=key)


def _transactions_insert(fresh: list[tuple[Posting, list]]) -> dict[str, LedgerTransaction]:
    """INSERT the postings' transactions in one statement; a key that is already there is left
    alone (ON CONFLICT DO NOTHING). Returns the rows this statement inserted, by key."""
    now = timezone.now()
    cid = correlation.get() or ""
    table = connection.ops.quote_name(LedgerTransaction._meta.db_table)
    values = ", ".join(["(%s, %s, %s, NULL, %s, %s)"] * len(fresh))
    params: list = []
    for posting, _ in fresh:
        params += [posting.kind, posting.idempotency_key, posting.memo[:255], cid, now]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (kind, idempotency_key, memo, created_by_id, correlation_id, created_at) "
            f"VALUES {values} ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, idempotency_key",
            params,
        )
        rows = cursor.fetchall()
    by_key = {p.idempotency_key: p for p, _ in fresh}
    out = {}
    for pk, key in rows:
        posting = by_key[key]
        txn = LedgerTransaction(
            pk=pk, kind=posting.kind, idempotency_key=key, memo=posting.memo[:255], correlation_id=cid, created_at=now
        )
        txn._state.adding, txn._state.db = False, "default"
        txn.replayed = False
        out[key] = txn
    return out


def _balances_move(deltas: dict[int, Decimal]) -> None:
    """Add each delta to its account's balance in one UPDATE (caller holds the accounts' locks)."""
    changed = {pk: delta for pk, delta in deltas.items() if delta}
    if changed:
        usdc = DecimalField(max_digits=USDC_MAX_DIGITS, decimal_places=USDC_DECIMAL_PLACES)
        by_account = [When(pk=pk, then=Value(delta, output_field=usdc)) for pk, delta in changed.items()]
        LedgerAccount.objects.filter(pk__in=changed).update(balance=F("balance") + Case(*by_account, output_field=usdc))


def platform_account_ensure(*, kind: str, reference: str) -> LedgerAccount:
    """platform_account_for in one statement in the usual case (a new per-object account such as a
    sale's escrow): INSERT … ON CONFLICT DO NOTHING RETURNING, and a read only when it existed."""
    now = timezone.now()
    table = connection.ops.quote_name(LedgerAccount._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (kind, owner_id, reference, balance, created_at) VALUES (%s, NULL, %s, 0, %s) "
            "ON CONFLICT DO NOTHING RETURNING id",
            [kind, reference, now],
        )
        row = cursor.fetchone()
    if row is None:
        return LedgerAccount.objects.get(kind=kind, owner__isnull=True, reference=reference)
    account = LedgerAccount(
        pk=row[0], kind=kind, owner_id=None, reference=reference, balance=Decimal("0"), created_at=now
    )
    account._state.adding, account._state.db = False, "default"
    return account


# ---------------------------------------------------------------- movements for users


def _user(user: User) -> AccountSpec:
    return AccountSpec(kind=LedgerAccountKind.USER_AVAILABLE, owner_id=user.pk)


def _user_held(user: User) -> AccountSpec:
    return AccountSpec(kind=LedgerAccountKind.USER_HELD, owner_id=user.pk)


def external_for(*, user_id: int) -> AccountSpec:
    """The outside world as seen from one user's deposits and withdrawals: a row of its own per
    user (by reference: it is not the user's money), so no single ledger row is locked by every
    deposit or withdrawal."""
    return AccountSpec(kind=LedgerAccountKind.EXTERNAL, reference=f"user:{user_id}")


def ledger_credit_user(
    *,
    user: User,
    amount: Decimal,
    idempotency_key: str,
    memo: str = "",
    created_by: User | None = None,
    kind: str = LedgerTransactionKind.CREDIT,
) -> LedgerTransaction:
    """Bring funds from outside (a deposit, a staff credit, the faucet) into the user's available balance."""
    amount = check_positive_amount(amount)
    return ledger_post(
        kind=kind,
        idempotency_key=idempotency_key,
        memo=memo,
        created_by=created_by,
        entries=[(external_for(user_id=user.pk), -amount), (_user(user), amount)],
    )


def ledger_hold(*, user: User, amount: Decimal, idempotency_key: str, memo: str = "") -> LedgerTransaction:
    """Move funds from available to held (a bid's reservation); InsufficientFunds if short."""
    amount = check_positive_amount(amount)
    return ledger_post(
        kind=LedgerTransactionKind.HOLD,
        idempotency_key=idempotency_key,
        memo=memo,
        entries=[(_user(user), -amount), (_user_held(user), amount)],
    )


def ledger_release(*, user: User, amount: Decimal, idempotency_key: str, memo: str = "") -> LedgerTransaction:
    """Return held funds to available (an outbid or cancelled reservation)."""
    amount = check_positive_amount(amount)
    return ledger_post(
        kind=LedgerTransactionKind.RELEASE,
        idempotency_key=idempotency_key,
        memo=memo,
        entries=[(_user_held(user), -amount), (_user(user), amount)],
    )


def ledger_capture(
    *,
    user: User,
    amount: Decimal,
    to_account: LedgerAccount | AccountSpec,
    idempotency_key: str,
    memo: str = "",
) -> LedgerTransaction:
    """Take held funds into another account (e.g. a deal's escrow) when a reservation is won."""
    amount = check_positive_amount(amount)
    return ledger_post(
        kind=LedgerTransactionKind.CAPTURE,
        idempotency_key=idempotency_key,
        memo=memo,
        entries=[(_user_held(user), -amount), (to_account, amount)],
    )


def ledger_transfer(
    *,
    from_account: LedgerAccount | AccountSpec,
    to_account: LedgerAccount | AccountSpec,
    amount: Decimal,
    idempotency_key: str,
    memo: str = "",
    kind: str = LedgerTransactionKind.TRANSFER,
) -> LedgerTransaction:
    """Move `amount` between two accounts (escrow payouts, fees, royalties)."""
    amount = check_positive_amount(amount)
    return ledger_post(
        kind=kind, idempotency_key=idempotency_key, memo=memo, entries=[(from_account, -amount), (to_account, amount)]
    )
