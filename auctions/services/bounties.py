"""Bounties: buyer-funded pools that pay a seller extra for a lead matching their criteria.

A buyer funds a pool (the ledger account bounty_pool "bounty:<id>") for a vertical with criteria
(minimum score, states, filters on the vertical's biddable non-PII fields, maximum lead age) and
an amount per lead. When a matching lead is sold — auction win or buy-now, to anyone, the owner
included — `bounty_pay_for_sale` moves the bounty from the pool into the sale's escrow in the
sale's own transaction; settlement pays the seller out of escrow. See docs/auctions.md, "Bounties".

Rules in one place:
- A bounty matches leads of its vertical and of the vertical's sub-verticals, never its owner's
  own leads (paying yourself would only churn the pool).
- The exclusive-vertical rule (verticals.selectors.vertical_open_to_q) holds both ways: only a
  buyer an exclusive vertical admits may create a bounty on it, and a bounty pays only for sales
  in verticals open to its owner at the time of the sale (a parent's bounty is not paid for an
  exclusive child's sale, nor a buyer's bounty once they are removed from the list): an award
  tells its owner the sale, lead, price and criteria it met.
- Oldest bounty first; each pays min(amount_per_lead, what is left in its pool, what is left of
  the cap), the cap being 2 × the sale price across all bounties on the sale. A short pool pays
  what it has (a partial award) and is then exhausted until topped up.
- One award per (bounty, sale): a unique constraint, the ledger key "bounty:<id>:sale:<sale id>",
  and a re-run skips bounties already paid.

Lock order: auction (or listing) → lead → ledger accounts. The sale's transaction already holds
its bidders' accounts and the escrow; the payout then locks the matching pools in id order and
nothing else. Fund and withdraw lock the bounty row (FOR NO KEY UPDATE, which never blocks the
award's foreign-key check), then the owner's available account and the pool in id order: the
available account always has the lower id (it exists, funded, before the pool is created), so a
payout holding the owner's accounts and a withdrawal never wait on each other in a cycle.
"""

import hashlib
import json
import logging
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from auctions import bidlog
from auctions.choices import BountyStatus
from auctions.criteria import (
    check_field_filters,
    check_usdc,
    field_check,
    field_filters_normalized,
    filterable_fields,
    show,
)
from auctions.models import BOUNTY_MAX_LEAD_AGE_HOURS, Bounty, BountyAward, Sale
from auctions.selectors.bounties import bounty_list_payable, bounty_pool_reference
from auctions.signals import funds_check
from core.broadcast import group_send_on_commit
from core.groups import user_group
from core.services import idempotent
from leads.models import Lead
from leads.validation import US_STATES
from ledger.choices import LedgerAccountKind
from ledger.models import LedgerAccount, LedgerTransaction
from ledger.services import (
    IdempotencyConflict,
    InsufficientFunds,
    account_for,
    ledger_transfer,
    platform_account_for,
)
from verticals.choices import VerticalStatus
from verticals.selectors import vertical_admits_buyer, vertical_ancestors

EXCLUSIVE_VERTICAL = "This vertical is exclusive to its listed buyers."

logger = logging.getLogger(__name__)

CAP_MULTIPLE = Decimal(2)
USDC_CEILING = Decimal("1000000000000")  # amounts stay far below what a balance column can hold
UPDATABLE_FIELDS = ("name", "min_score", "states", "field_filters", "max_lead_age_hours", "amount_per_lead", "status")


class BountyConflict(Exception):
    """An idempotency key reused for a different request (the API answers 422)."""


# ---------------------------------------------------------------- definition


def _check_ceiling(value, name: str, errors: dict) -> None:
    if name not in errors and isinstance(value, Decimal) and value.is_finite() and value >= USDC_CEILING:
        errors.setdefault(name, []).append(f"At most {USDC_CEILING - 1:,} USDC.")


def check_bounty(*, bounty: Bounty) -> None:
    """Raise ValidationError (a dict by field) unless the bounty's definition is usable."""
    errors: dict[str, list[str]] = {}
    if not (bounty.name or "").strip():
        errors["name"] = ["Give the bounty a name."]
    elif len(bounty.name) > 100:
        errors["name"] = ["At most 100 characters."]
    if bounty.vertical_id is None:
        errors["vertical"] = ["Choose a vertical."]
    if not isinstance(bounty.states, list) or any(s not in US_STATES for s in bounty.states):
        errors["states"] = ['A list of two-letter US state codes, e.g. ["CA", "TX"].']
    score = bounty.min_score
    if score is not None and (isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 100):
        errors["min_score"] = ["A quality score from 0 to 100."]
    age = bounty.max_lead_age_hours
    if age is not None and (
        isinstance(age, bool) or not isinstance(age, int) or not 1 <= age <= BOUNTY_MAX_LEAD_AGE_HOURS
    ):
        errors["max_lead_age_hours"] = [f"Whole hours from 1 to {BOUNTY_MAX_LEAD_AGE_HOURS}; blank = any age."]
    check_usdc(bounty.amount_per_lead, "amount_per_lead", errors, positive=True)
    _check_ceiling(bounty.amount_per_lead, "amount_per_lead", errors)
    if bounty.status not in BountyStatus.values:
        errors["status"] = [f"One of: {', '.join(BountyStatus.values)}."]
    if bounty.vertical_id is not None:
        check_field_filters(bounty, errors)  # the autobid rule's checks: same shape, same messages
    if errors:
        raise ValidationError(errors)


def _check_funding(amount, name: str, errors: dict) -> None:
    check_usdc(amount, name, errors, positive=True)
    _check_ceiling(amount, name, errors)


def states_normalized(states):
    if isinstance(states, list) and all(isinstance(s, str) for s in states):
        return sorted({s.strip().upper() for s in states})
    return states


def _key_text(idempotency_key) -> str:
    key = idempotency_key.strip() if isinstance(idempotency_key, str) else ""
    if not key or len(key) > 200 or not key.isascii() or not key.isprintable():
        raise ValidationError({"idempotency_key": ["An idempotency key of 1 to 200 printable ASCII characters."]})
    return key


def _ledger_key(bounty_id: int, action: str, idempotency_key: str) -> str:
    # Hashed: the client's key may be 200 characters, the ledger's keys are at most 200 too.
    digest = hashlib.sha256(_key_text(idempotency_key).encode()).hexdigest()[:40]
    return f"bounty:{bounty_id}:{action}:{digest}"


def _pool_of(bounty: Bounty) -> LedgerAccount:
    return platform_account_for(kind=LedgerAccountKind.BOUNTY_POOL, reference=bounty_pool_reference(bounty.pk))


def _insufficient(exc: InsufficientFunds, amount: Decimal) -> ValidationError:
    return ValidationError(
        {"amount": [f"Insufficient funds: {amount:f} USDC asked, your available balance is {exc.balance:f} USDC."]}
    )


def _lock(bounty_id: int) -> Bounty:
    # NO KEY UPDATE: a concurrent payout's award insert (a foreign-key KEY SHARE lock) is not blocked.
    return (
        Bounty.objects.select_for_update(no_key=True, of=("self",))
        .select_related("buyer", "vertical")
        .get(pk=bounty_id)
    )


# ---------------------------------------------------------------- writes


def bounty_create(
    *,
    buyer,
    vertical,
    name: str,
    amount_per_lead: Decimal,
    amount: Decimal,
    idempotency_key: str,
    min_score: int | None = None,
    states: list[str] | None = None,
    field_filters: list | None = None,
    max_lead_age_hours: int | None = None,
    now: datetime | None = None,
) -> Bounty:
    """Create an active bounty and fund its pool with `amount` from the buyer's available balance
    (one ledger transaction, key "bounty:<id>:fund:create"). Once per (buyer, idempotency_key):
    a replay returns the first bounty with `.replayed = True`; the same key with other terms
    raises BountyConflict. Refusals raise ValidationError by field and write nothing."""
    key = _key_text(idempotency_key)
    states = states_normalized(states if states is not None else [])
    field_filters = field_filters_normalized(field_filters if field_filters is not None else [])
    terms = {
        "vertical": getattr(vertical, "pk", None),
        "name": name,
        "amount_per_lead": amount_per_lead,
        "amount": amount,
        "min_score": min_score,
        "states": states,
        "field_filters": field_filters,
        "max_lead_age_hours": max_lead_age_hours,
    }
    fingerprint = hashlib.sha256(json.dumps(terms, sort_keys=True, default=str).encode()).hexdigest()

    def operation() -> dict:
        bounty = _bounty_create(
            buyer=buyer,
            vertical=vertical,
            name=name,
            amount_per_lead=amount_per_lead,
            amount=amount,
            min_score=min_score,
            states=states,
            field_filters=field_filters,
            max_lead_age_hours=max_lead_age_hours,
            now=now or timezone.now(),
        )
        return {"bounty_id": bounty.pk, "fingerprint": fingerprint}

    result, ran_now = idempotent(scope=f"bounty_create:{buyer.pk}", key=key, operation=operation)
    if not ran_now and result.get("fingerprint") != fingerprint:
        raise BountyConflict("This idempotency key was used to create a different bounty.")
    bounty = Bounty.objects.select_related("vertical").get(pk=result["bounty_id"])
    bounty.replayed = not ran_now
    return bounty


@transaction.atomic
def _bounty_create(
    *, buyer, vertical, name, amount_per_lead, amount, min_score, states, field_filters, max_lead_age_hours, now
) -> Bounty:
    if not getattr(buyer, "is_buyer", False) or not buyer.is_active:
        raise ValidationError(
            {"non_field_errors": ["Only buyer accounts fund bounties. Enable buying on your account page."]}
        )
    bounty = Bounty(
        buyer=buyer,
        vertical=vertical,
        name=(name or "").strip(),
        amount_per_lead=amount_per_lead,
        min_score=min_score,
        states=states,
        field_filters=field_filters,
        max_lead_age_hours=max_lead_age_hours,
        status=BountyStatus.ACTIVE,
        created_at=now,
    )
    errors: dict[str, list[str]] = {}
    try:
        check_bounty(bounty=bounty)
    except ValidationError as exc:
        errors = {k: list(v) for k, v in exc.message_dict.items()}
    if vertical is not None and vertical.status == VerticalStatus.DEPRECATED:
        errors.setdefault("vertical", []).append("This vertical is deprecated.")
    if vertical is not None and not vertical_admits_buyer(vertical=vertical, user=buyer):
        errors.setdefault("vertical", []).append(ValidationError(EXCLUSIVE_VERTICAL, code="exclusive_vertical"))
    _check_funding(amount, "amount", errors)
    if "amount" not in errors and "amount_per_lead" not in errors and amount < amount_per_lead:
        errors["amount"] = ["The first funding must cover at least one payout (the amount per lead)."]
    if errors:
        raise ValidationError(errors)

    available = account_for(user=buyer)  # before the pool exists: its id is the lower (lock order)
    bounty.save()
    try:
        ledger_transfer(
            from_account=available,
            to_account=_pool_of(bounty),
            amount=amount,
            idempotency_key=f"bounty:{bounty.pk}:fund:create",
            memo=f"bounty {bounty.pk}: funded",
        )
    except InsufficientFunds as exc:
        raise _insufficient(exc, amount) from exc  # rolls back the bounty too
    logger.info("bounty created", extra={"bounty_id": bounty.pk, "vertical_id": bounty.vertical_id})
    return bounty


@transaction.atomic
def bounty_fund(*, bounty: Bounty, amount: Decimal, idempotency_key: str) -> Bounty:
    """Top up the pool from the owner's available balance, once per key (ledger key
    "bounty:<id>:fund:<key hash>"; a replay moves nothing and sets `.replayed`). ValidationError
    for a closed bounty, a bad amount or short funds; BountyConflict when the key moved another amount."""
    ledger_key = _ledger_key(bounty.pk, "fund", idempotency_key)
    bounty = _lock(bounty.pk)
    errors: dict[str, list[str]] = {}
    _check_funding(amount, "amount", errors)
    if errors:
        raise ValidationError(errors)
    replay = LedgerTransaction.objects.filter(idempotency_key=ledger_key).exists()
    if bounty.status == BountyStatus.CLOSED and not replay:
        raise ValidationError({"non_field_errors": ["This bounty is closed; create a new one."]})
    try:
        txn = ledger_transfer(
            from_account=account_for(user=bounty.buyer),
            to_account=_pool_of(bounty),
            amount=amount,
            idempotency_key=ledger_key,
            memo=f"bounty {bounty.pk}: topped up",
        )
    except InsufficientFunds as exc:
        raise _insufficient(exc, amount) from exc
    except IdempotencyConflict as exc:
        raise BountyConflict("This idempotency key was used for a different amount.") from exc
    bounty.replayed = txn.replayed
    logger.info("bounty funded", extra={"bounty_id": bounty.pk, "replayed": txn.replayed})
    return bounty


@transaction.atomic
def bounty_withdraw(
    *, bounty: Bounty, idempotency_key: str, amount: Decimal | None = None, now: datetime | None = None
) -> Bounty:
    """Move unspent pool funds back to the owner's available balance: all of it and close the
    bounty (amount None), or exactly `amount` (at most the pool's balance; the bounty stays).
    Once per key; withdrawing all from a closed bounty is a no-op. The pool is read under its row
    lock, so a concurrent payout either went first or finds the pool emptied."""
    ledger_key = _ledger_key(bounty.pk, "withdraw", idempotency_key)
    now = now or timezone.now()
    bounty = _lock(bounty.pk)
    if amount is not None:
        errors: dict[str, list[str]] = {}
        _check_funding(amount, "amount", errors)
        if errors:
            raise ValidationError(errors)
    existing = LedgerTransaction.objects.filter(idempotency_key=ledger_key).first()
    if existing is not None:
        moved = existing.entries.filter(amount__gt=0).values_list("amount", flat=True).first()
        if amount is not None and moved != amount:
            raise BountyConflict("This idempotency key was used for a different amount.")
        bounty.replayed = True
        return bounty
    if bounty.status == BountyStatus.CLOSED:
        if amount is None:
            bounty.replayed = True
            return bounty
        raise ValidationError({"non_field_errors": ["This bounty is closed: its pool was already withdrawn."]})

    available, pool = account_for(user=bounty.buyer), _pool_of(bounty)
    locked = {
        a.pk: a for a in LedgerAccount.objects.select_for_update().filter(pk__in=[available.pk, pool.pk]).order_by("pk")
    }
    balance = locked[pool.pk].balance
    if amount is not None and amount > balance:
        raise ValidationError({"amount": [f"Only {balance:f} USDC is left in this bounty's pool."]})
    take = balance if amount is None else amount
    if take > 0:
        ledger_transfer(
            from_account=pool,
            to_account=available,
            amount=take,
            idempotency_key=ledger_key,
            memo=f"bounty {bounty.pk}: withdrawn",
        )
    if amount is None:
        bounty.status, bounty.closed_at = BountyStatus.CLOSED, now
        bounty.save(update_fields=["status", "closed_at"])
    bounty.replayed = False
    logger.info("bounty withdrawn", extra={"bounty_id": bounty.pk, "closed": amount is None})
    return bounty


@transaction.atomic
def bounty_update(*, bounty: Bounty, **changes) -> Bounty:
    """Change criteria, the amount per lead, or pause (status "paused") / resume ("active").
    The vertical is fixed; closing is bounty_withdraw's. ValidationError by field."""
    unknown = set(changes) - set(UPDATABLE_FIELDS)
    if unknown:
        raise TypeError(f"bounty_update() cannot change {', '.join(sorted(unknown))}.")
    bounty = _lock(bounty.pk)
    if bounty.status == BountyStatus.CLOSED:
        raise ValidationError({"non_field_errors": ["This bounty is closed; create a new one."]})
    if "status" in changes and changes["status"] not in (BountyStatus.ACTIVE, BountyStatus.PAUSED):
        raise ValidationError({"status": ["Set active or paused; withdraw the pool to close the bounty."]})
    if "states" in changes:
        changes["states"] = states_normalized(changes["states"] if changes["states"] is not None else [])
    if "field_filters" in changes:
        changes["field_filters"] = field_filters_normalized(
            changes["field_filters"] if changes["field_filters"] is not None else []
        )
    if "name" in changes and isinstance(changes["name"], str):
        changes["name"] = changes["name"].strip()
    for name, value in changes.items():
        setattr(bounty, name, value)
    check_bounty(bounty=bounty)
    if changes:
        bounty.save(update_fields=list(changes))
    return bounty


# ---------------------------------------------------------------- matching


def bounty_match(
    *,
    bounty: Bounty,
    lead: Lead,
    now: datetime,
    seller_id: int | None = None,
    fields_by_key: dict | None = None,
    chain: list | None = None,
) -> tuple[bool, list[str]]:
    """Whether the bounty pays for this lead sold at `now`, with one reason per check (all run, so
    the trace shows every failing one). `fields_by_key` and `chain` (the lead vertical's
    ancestors) are caches for callers that match many bounties against one lead."""
    checks: list[tuple[bool, str]] = []
    checks.append((True, "active: ok") if bounty.status == BountyStatus.ACTIVE else (False, f"{bounty.status}"))
    chain = chain if chain is not None else vertical_ancestors(vertical=lead.vertical)
    ok = any(v.pk == bounty.vertical_id for v in chain)
    checks.append(
        (
            ok,
            f"vertical {lead.vertical.slug} within {bounty.vertical.slug}: ok"
            if ok
            else f"vertical {lead.vertical.slug} is not {bounty.vertical.slug}",
        )
    )
    seller_id = lead.seller_id if seller_id is None else seller_id
    checks.append(
        (False, "own lead: a bounty never pays its owner")
        if bounty.buyer_id == seller_id
        else (True, "seller is not the owner: ok")
    )
    if bounty.states:
        ok = lead.state in bounty.states
        checks.append(
            (
                ok,
                f"state {lead.state} in {show(bounty.states)}: ok"
                if ok
                else f"state {lead.state or '(none)'} not in {show(bounty.states)}",
            )
        )
    else:
        checks.append((True, "states: all: ok"))
    if bounty.min_score is not None:
        score = lead.quality_score
        if score is None:
            checks.append((False, f"score unknown < min {bounty.min_score}"))
        elif score < bounty.min_score:
            checks.append((False, f"score {score} < min {bounty.min_score}"))
        else:
            checks.append((True, f"score {score} >= min {bounty.min_score}: ok"))
    if bounty.max_lead_age_hours is not None:
        age = now - lead.created_at
        limit = timedelta(hours=bounty.max_lead_age_hours)
        hours = f"{age.total_seconds() / 3600:.1f}"
        checks.append(
            (
                age <= limit,
                f"age {hours} h <= max {bounty.max_lead_age_hours} h: ok"
                if age <= limit
                else f"age {hours} h > max {bounty.max_lead_age_hours} h",
            )
        )
    if bounty.field_filters:
        if fields_by_key is None:
            fields_by_key = filterable_fields(lead.vertical)
        for flt in bounty.field_filters:
            checks.append(field_check(flt, fields_by_key, lead.fields or {}))
    return all(ok for ok, _ in checks), [reason for _, reason in checks]


# ---------------------------------------------------------------- paying


def bounty_pay_for_sale(*, sale: Sale, now: datetime) -> list[BountyAward]:
    """Pay every matching active bounty for this sale from its pool into the sale's escrow, oldest
    bounty first, capped at 2 × the price in total; returns the new awards.

    Runs inside the sale's transaction (auctions.services.sales.sale_record): the caller holds the lead's
    row lock and the escrow account's; this locks the matching pools in id order. A bounty already
    paid for this sale is skipped, so a second call pays nothing."""
    lead = sale.lead
    candidates = list(bounty_list_payable(vertical=lead.vertical).exclude(buyer_id=sale.seller_id))
    if not candidates:
        return []
    paid = dict(BountyAward.objects.filter(sale=sale).values_list("bounty_id", "amount"))
    chain = vertical_ancestors(vertical=lead.vertical)
    fields_by_key = filterable_fields(lead.vertical) if any(b.field_filters for b in candidates) else {}
    matched = []
    for bounty in candidates:
        if bounty.pk in paid:
            continue
        ok, reasons = bounty_match(
            bounty=bounty, lead=lead, now=now, seller_id=sale.seller_id, fields_by_key=fields_by_key, chain=chain
        )
        if ok:
            # The award is paid on chain from the owner's vault balance, so like a bid it must be
            # money that can be promised (not leaving the vault before the payout is funded).
            leaving = funds_check(buyer=bounty.buyer_id, settle_by=now)
            if leaving:
                ok, reasons = False, [leaving]
        if ok:
            matched.append(bounty)
        else:
            logger.debug(
                "bounty does not match", extra={"bounty_id": bounty.pk, "sale_id": sale.pk, "reasons": reasons}
            )
    cap_left = CAP_MULTIPLE * sale.price - sum(paid.values(), Decimal(0))
    if not matched or cap_left <= 0:
        return []

    references = {bounty_pool_reference(b.pk): b.pk for b in matched}
    pools = {
        references[a.reference]: a
        for a in LedgerAccount.objects.select_for_update()
        .filter(kind=LedgerAccountKind.BOUNTY_POOL, owner__isnull=True, reference__in=references)
        .order_by("pk")
    }
    awards = []
    for bounty in matched:
        pool = pools.get(bounty.pk)
        if cap_left <= 0:
            break
        if pool is None or pool.balance <= 0:
            continue  # emptied (paid out or withdrawn) since the candidates were read
        amount = min(bounty.amount_per_lead, pool.balance, cap_left)
        txn = ledger_transfer(
            from_account=pool,
            to_account=sale.escrow_account,
            amount=amount,
            idempotency_key=f"bounty:{bounty.pk}:sale:{sale.pk}",
            memo=f"bounty {bounty.pk}: sale {sale.pk}",
        )
        awards.append(
            BountyAward.objects.create(bounty=bounty, sale=sale, amount=amount, ledger_transaction=txn, created_at=now)
        )
        pool.balance -= amount
        cap_left -= amount
        group_send_on_commit(
            group=user_group(bounty.buyer_id),
            payload={
                "type": "bounty.paid",
                "bounty_id": bounty.pk,
                "sale_id": sale.pk,
                "amount": bidlog.usdc_text(amount),
                "pool_balance": bidlog.usdc_text(pool.balance),
            },
        )
        logger.info(
            "bounty paid",
            extra={"bounty_id": bounty.pk, "sale_id": sale.pk, "partial": amount < bounty.amount_per_lead},
        )
    return awards
