"""The exit hatch and the claims that keep the ledger equal to the vault.

The vault lets an account leave without the platform (EscrowVault.announceExit, then exit() once
the delay has passed), so the platform can never lock anyone out. The ledger follows it:
- an exit announced: the amount is set aside (available → USER_EXITING) so no new bid can promise
  it — what is available at once, and what becomes available later (holds released at closes)
  until the exit is taken or cancelled; standing bids are never withdrawn for an announcement.
  An exit pays at most what its address holds, so the reserve never goes beyond it (`payable`:
  min(amount, the address's vault balance), read from the node before any lock; the ledger is per
  user, the vault per address — without the cap, an exit at an address that holds little would set
  aside money that backs the user's other address, and that address's own exit would come out
  short). What was set aside beyond a lower `payable` goes back to available;
- an exit cancelled or replaced: what was set aside goes back to available;
- an exit taken: paid from what was set aside (→ the user's external account), the rest of the
  reserve goes back to available, and anything paid beyond it is an outflow claim.
An outflow claim (an exit beyond the reserve, a withdrawal we did not send: money already gone)
is covered from available, then by withdrawing the user's standing bids and drawing on their
bounty pools (the user is told); what cannot be covered is `short`: logged, a reconciliation issue
for staff, and covered later if money arrives.

`claim_open` and the exit functions run in the indexer's transaction and touch only the database
(no node; the indexer reads an announced exit's `payable` in its node phase). `claims_cover` runs
after the indexer commits and on every indexer beat, reading each live reserve's `payable` from the
node first, holding no lock; each step is
one transaction in the lock order claim → auction or bounty → ledger rows (the indexer locks the
claims it may touch before any ledger row, so the two never wait on each other in a cycle).
"""

import logging
import uuid
from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.tasks import send_user_notice
from auctions.choices import AuctionStatus
from auctions.models import AuctionBidder, Bounty
from auctions.services.auctions import auction_bidder_withdraw
from auctions.services.bounties import BountyConflict, bounty_pool_reference, bounty_withdraw
from chain.artifacts import load_artifact
from chain.client import ChainMisconfigured, ChainUnavailable, chain_errors, chain_web3
from chain.deploy import contract_address
from core.broadcast import group_send_on_commit
from core.groups import user_group
from escrow.models import ReconciliationIssue, VaultClaim, VaultEvent, VaultExit
from escrow.units import from_units, to_units
from ledger.choices import LedgerAccountKind, LedgerTransactionKind
from ledger.models import LedgerAccount
from ledger.services import AccountSpec, external_for, ledger_accounts_lock, ledger_post

logger = logging.getLogger(__name__)

OUTFLOW = VaultClaim.Purpose.OUTFLOW
EXIT_RESERVE = VaultClaim.Purpose.EXIT_RESERVE
ZERO = Decimal("0")
LIVE_CLAIMS = (VaultClaim.State.OPEN, VaultClaim.State.SHORT)


def _available(user_id: int) -> AccountSpec:
    return AccountSpec(kind=LedgerAccountKind.USER_AVAILABLE, owner_id=user_id)


def _exiting(user_id: int) -> AccountSpec:
    return AccountSpec(kind=LedgerAccountKind.USER_EXITING, owner_id=user_id)


def _destination(claim: VaultClaim) -> AccountSpec:
    return _exiting(claim.user_id) if claim.purpose == EXIT_RESERVE else external_for(user_id=claim.user_id)


# ---------------------------------------------------------------- claims


def claim_open(
    *, user, purpose: str, amount: Decimal, event: VaultEvent, vault_exit: VaultExit | None = None
) -> VaultClaim:
    """Record what the ledger must give up and cover what the available balance can at once.
    Runs in the caller's (the indexer's) transaction; the rest is claims_cover's."""
    claim = VaultClaim.objects.create(
        user=user, chain_id=event.chain_id, purpose=purpose, amount=amount, event=event, vault_exit=vault_exit
    )
    _take_available(claim)
    _settle_state(claim)
    return claim


def _wanted(claim: VaultClaim) -> Decimal:
    """What the claim should still take: an outflow its whole remainder; an exit's reserve up to
    what the exit can pay (`payable`, when known) — negative when more is set aside than that."""
    if claim.purpose == EXIT_RESERVE and claim.vault_exit is not None and claim.vault_exit.payable is not None:
        return min(claim.amount, claim.vault_exit.payable) - claim.covered
    return claim.remaining


def _post(claim: VaultClaim, amount: Decimal, memo: str, *, available, destination) -> None:
    """Move `amount` from available to the claim's destination (negative: back to available), both
    locked by the caller, who holds the claim row (locked, or created in this transaction). `steps`
    numbers the claim's posts, so each has its own idempotency key even when `covered` returns to a
    value it had before."""
    claim.steps += 1
    ledger_post(
        kind=LedgerTransactionKind.EXIT,
        idempotency_key=f"claim:{claim.pk}:step:{claim.steps}",
        memo=f"{memo} (vault tx {claim.event.tx_hash[:12]}…)",
        entries=[(available, -amount), (destination, amount)],
    )
    claim.covered += amount
    claim.save(update_fields=["covered", "steps"])
    if claim.purpose == EXIT_RESERVE and claim.vault_exit_id is not None:
        VaultExit.objects.filter(pk=claim.vault_exit_id).update(reserved=claim.covered)


def _take_available(claim: VaultClaim) -> Decimal:
    """Move min(wanted, available) to the claim's destination; give back what an exit's reserve
    holds beyond what the exit can pay. Caller holds the claim row."""
    wanted = _wanted(claim)
    if wanted == 0:
        return ZERO
    available, destination = ledger_accounts_lock(accounts=[_available(claim.user_id), _destination(claim)])
    if wanted < 0:
        _post(
            claim,
            wanted,
            "Set aside beyond what the exit's address holds: available again",
            available=available,
            destination=destination,
        )
        return ZERO
    take = min(wanted, available.balance)
    if take <= 0:
        return ZERO
    _post(claim, take, claim.get_purpose_display(), available=available, destination=destination)
    return take


def _settle_state(claim: VaultClaim) -> None:
    """A claim fully covered is done (and its shortfall issue, if any, resolved) — except an exit's
    reserve whose `payable` the node has not told us yet: the next pass reads it (and gives back
    what the exit's address cannot pay)."""
    unread = claim.purpose == EXIT_RESERVE and claim.vault_exit is not None and claim.vault_exit.payable is None
    if claim.remaining == 0 and claim.state in LIVE_CLAIMS and not unread:
        was_short = claim.state == VaultClaim.State.SHORT
        claim.state, claim.done_at = VaultClaim.State.COVERED, timezone.now()
        claim.save(update_fields=["state", "done_at"])
        if was_short:
            _shortfall_issue(claim, open_=False)


def _shortfall_issue(claim: VaultClaim, *, open_: bool) -> None:
    issues = ReconciliationIssue.objects.filter(
        kind=ReconciliationIssue.Kind.USER_SHORTFALL,
        user_id=claim.user_id,
        settlement__isnull=True,
        resolved_at__isnull=True,
    )
    now = timezone.now()
    if not open_:
        if (
            not VaultClaim.objects.filter(user_id=claim.user_id, purpose=OUTFLOW, state=VaultClaim.State.SHORT)
            .exclude(pk=claim.pk)
            .exists()
        ):
            issues.update(resolved_at=now)
        return
    short = sum(
        (
            c.remaining
            for c in VaultClaim.objects.filter(user_id=claim.user_id, purpose=OUTFLOW, state=VaultClaim.State.SHORT)
        ),
        ZERO,
    )
    expected, actual = f"{short:f} USDC more in the ledger", "paid out on chain"
    if not issues.update(expected=expected, actual=actual, last_seen_at=now):
        ReconciliationIssue.objects.create(
            chain_id=claim.chain_id,
            kind=ReconciliationIssue.Kind.USER_SHORTFALL,
            user_id=claim.user_id,
            expected=expected,
            actual=actual,
            detected_at=now,
            last_seen_at=now,
        )


def claims_cover(*, limit: int = 100) -> int:
    """Cover every live claim as far as the user's money goes. An exit's reserve takes what is
    available (and keeps taking as holds come back); an outflow — money that left the vault —
    also withdraws the user's standing bids (newest first) and then draws on their bounty pools.
    Returns how many claims are still uncovered. Claims are taken least recently tried first."""
    ids = list(
        VaultClaim.objects.filter(state__in=LIVE_CLAIMS)
        .order_by(F("attempted_at").asc(nulls_first=True), "id")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(1 for claim_id in ids if not _cover(claim_id))


def claims_cover_soon() -> None:
    """After the indexer commits: cover what it could not at once (errors wait for the next beat)."""
    try:
        claims_cover()
    except Exception:  # noqa: BLE001 - the next index beat covers again
        logger.warning("vault claims: cover pass failed; retried next beat", exc_info=True)


def _locked_claim(claim_id: int) -> VaultClaim | None:
    return (
        VaultClaim.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("event", "vault_exit")
        .filter(pk=claim_id, state__in=LIVE_CLAIMS)
        .first()
    )


def exit_payable_read(*, chain_id: int, account: str, amount: Decimal, unlocks_at, block="latest") -> Decimal | None:
    """Node phase, no lock held: what the exit announced by `account` (`amount`, unlocking at
    `unlocks_at`) could pay at `block` — the smaller of its amount and the address's vault
    balance. None when the node does not answer or the vault's pending exit is no longer that
    announcement (the indexer closes it)."""
    try:
        w3 = chain_web3()
        address = contract_address(chain_id=chain_id, name="EscrowVault")
        if not address:
            return None
        vault = w3.eth.contract(address=address, abi=load_artifact("EscrowVault")["abi"])
        with chain_errors():
            block = w3.eth.block_number if block == "latest" else block
            pending, unlocks = vault.functions.exits(account).call(block_identifier=block)
            balance = vault.functions.balanceOf(account).call(block_identifier=block)
    except (ChainUnavailable, ChainMisconfigured):
        return None
    if pending < to_units(amount) or unlocks != int(unlocks_at.timestamp()):
        return None  # (an amount beyond the ledger's limit was recorded clamped: `pending` is larger)
    return min(amount, from_units(min(balance, to_units(amount))))


def _payable_refresh(claim_id: int) -> Decimal | None:
    """A live reserve's `payable` as the node has it now (None: unknown, or not a reserve)."""
    row = (
        VaultClaim.objects.filter(
            pk=claim_id, purpose=EXIT_RESERVE, state__in=LIVE_CLAIMS, vault_exit__state=VaultExit.State.ANNOUNCED
        )
        .values("vault_exit__chain_id", "vault_exit__account", "vault_exit__amount", "vault_exit__unlocks_at")
        .first()
    )
    if row is None:
        return None
    return exit_payable_read(
        chain_id=row["vault_exit__chain_id"],
        account=row["vault_exit__account"],
        amount=row["vault_exit__amount"],
        unlocks_at=row["vault_exit__unlocks_at"],
    )


def _step(claim_id: int, free=None, payable: Decimal | None = None) -> tuple[VaultClaim | None, str]:
    """One transaction, in the lock order claim row → (auction or bounty row) → ledger rows: note
    what the claim's exit can pay (`payable`, read from the node before), free some money with
    `free(claim)` (a bid withdrawn, a bounty pool drawn on; it returns what to tell the user, or
    ""), then take what is available for the claim. Holding the claim while both happen means
    nothing can spend the freed money in between. (None, "") when another worker holds the claim."""
    with transaction.atomic():
        claim = _locked_claim(claim_id)
        if claim is None:
            return None, ""
        if payable is not None and claim.vault_exit is not None and claim.vault_exit.payable != payable:
            claim.vault_exit.payable = payable
            VaultExit.objects.filter(pk=claim.vault_exit_id, state=VaultExit.State.ANNOUNCED).update(payable=payable)
        told = free(claim) if free is not None and _wanted(claim) > 0 else ""
        _take_available(claim)
        claim.attempted_at = timezone.now()
        claim.save(update_fields=["attempted_at", "bids_withdrawn"])
        _settle_state(claim)
        return claim, told


def _withdraw_bid(auction_id: int):
    def free(claim: VaultClaim) -> str:
        released = auction_bidder_withdraw(
            auction_id=auction_id,
            buyer_id=claim.user_id,
            reason="the money behind it was paid out of the vault on chain",
        )
        if not released:
            return ""
        claim.bids_withdrawn += 1
        return f"your bid on auction {auction_id} ({released:f} USDC)"

    return free


def _draw_pool(bounty: Bounty):
    def free(claim: VaultClaim) -> str:
        take = min(_pool_balance(bounty), _wanted(claim))
        if take <= 0:
            return ""
        try:
            with transaction.atomic():
                bounty_withdraw(bounty=bounty, amount=take, idempotency_key=f"claim-{claim.pk}-{uuid.uuid4().hex}")
        except (ValidationError, BountyConflict):  # a payout emptied the pool meanwhile
            return ""
        return f"{take:f} USDC from your bounty {bounty.pk}"

    return free


def _cover(claim_id: int) -> bool:
    """Returns True when the claim ended covered (or is not ours to cover now)."""
    claim, _ = _step(claim_id, payable=_payable_refresh(claim_id))
    if claim is None or claim.remaining == 0:
        return True
    if _wanted(claim) <= 0:
        return False  # an exit's reserve holds all its address can pay: nothing to withdraw for it
    freed: list[str] = []
    unlocked = (
        claim.purpose == EXIT_RESERVE and claim.vault_exit is not None and claim.vault_exit.unlocks_at <= timezone.now()
    )
    if claim.purpose == OUTFLOW or unlocked:
        # Money that already left the vault, or may leave at any moment (an exit past its notice):
        # the holds and pools it backs are not money the marketplace can promise. (Before the
        # exit unlocks, a reserve only takes what is available: announcing an exit must not
        # retract a bid.)
        standing = (
            AuctionBidder.objects.filter(
                buyer_id=claim.user_id,
                released_at__isnull=True,
                withdrawn_at__isnull=True,
                held_amount__gt=0,
                auction__status=AuctionStatus.OPEN,
            )
            .order_by("-updated_at")
            .values_list("auction_id", flat=True)
        )
        pools = Bounty.objects.filter(buyer_id=claim.user_id).exclude(status="closed").order_by("-id")
        for free in [*(_withdraw_bid(a) for a in list(standing)), *(_draw_pool(b) for b in pools)]:
            claim, told = _step(claim_id, free)
            if told:
                freed.append(told)
            if claim is None or _wanted(claim) <= 0:
                _tell(claim_id, freed)
                return True
        _tell(claim_id, freed)
    with transaction.atomic():
        claim = _locked_claim(claim_id)
        if claim is None or claim.remaining == 0:
            return True
        if claim.purpose == OUTFLOW and claim.state != VaultClaim.State.SHORT:
            claim.state = VaultClaim.State.SHORT
            claim.save(update_fields=["state"])
            logger.error(
                "vault claim %s: %s USDC paid out on chain beyond what the ledger held for user %s",
                claim.pk,
                claim.remaining,
                claim.user_id,
                extra={"user_id": claim.user_id, "claim_id": claim.pk, "shortfall": str(claim.remaining)},
            )
            _shortfall_issue(claim, open_=True)
        return False


def _pool_balance(bounty: Bounty) -> Decimal:
    balance = (
        LedgerAccount.objects.filter(
            kind=LedgerAccountKind.BOUNTY_POOL, owner__isnull=True, reference=bounty_pool_reference(bounty.pk)
        )
        .values_list("balance", flat=True)
        .first()
    )
    return balance or ZERO


def _tell(claim_id: int, freed: list[str]) -> None:
    """The user hears what was withdrawn and why: on their live channel and by email."""
    if not freed:
        return
    claim = VaultClaim.objects.select_related("user").get(pk=claim_id)
    why = (
        "Money left your vault balance on chain that the marketplace held for you (an exit or a payout "
        "it did not send), so it can no longer back your bids or bounties."
    )
    message = f"{why}\nWithdrawn: " + "; ".join(freed) + "."
    with transaction.atomic():
        group_send_on_commit(group=user_group(claim.user_id), payload={"type": "funds.withdrawn", "message": message})
        transaction.on_commit(lambda: _email(claim.user_id, message), robust=True)


def _email(user_id: int, message: str) -> None:
    send_user_notice.delay(user_id=user_id, subject="Lead Engine: bids withdrawn", message=message)


# ---------------------------------------------------------------- exits


def _announced(event: VaultEvent) -> VaultExit | None:
    return (
        VaultExit.objects.select_for_update()
        .filter(chain_id=event.chain_id, account=event.account, state=VaultExit.State.ANNOUNCED)
        .first()
    )


def _close(vault_exit: VaultExit, *, state: str, event: VaultEvent, give_back: Decimal) -> None:
    """End an announcement: its claim stops, `give_back` of its reserve returns to available."""
    VaultClaim.objects.filter(vault_exit=vault_exit, state__in=LIVE_CLAIMS).update(
        state=VaultClaim.State.CANCELLED, done_at=timezone.now()
    )
    if give_back > 0:
        ledger_post(
            kind=LedgerTransactionKind.EXIT,
            idempotency_key=f"exit:{vault_exit.pk}:back",
            memo=f"Exit {vault_exit.get_state_display().lower()}: set-aside funds available again",
            entries=[(_exiting(vault_exit.user_id), -give_back), (_available(vault_exit.user_id), give_back)],
        )
    vault_exit.state, vault_exit.closed_event, vault_exit.closed_at = state, event, timezone.now()
    vault_exit.save(update_fields=["state", "closed_event", "closed_at"])


def exit_announced(*, event: VaultEvent, unlocks_at, payable: Decimal | None = None) -> VaultExit:
    """ExitAnnounced: a new announcement replaces the pending one; its amount is set aside, up to
    `payable` (what its address held at the announcement, read by the indexer's node phase)."""
    previous = _announced(event)
    if previous is not None:
        previous.refresh_from_db(fields=["reserved"])
        _close(previous, state=VaultExit.State.REPLACED, event=event, give_back=previous.reserved)
    vault_exit = VaultExit.objects.create(
        chain_id=event.chain_id,
        account=event.account,
        user=event.user,
        amount=event.amount,
        unlocks_at=unlocks_at,
        announced_event=event,
        payable=payable,
    )
    claim_open(user=event.user, purpose=EXIT_RESERVE, amount=event.amount, event=event, vault_exit=vault_exit)
    logger.info("vault exit announced", extra={"user_id": event.user_id, "vault_exit_id": vault_exit.pk})
    return vault_exit


def exit_cancelled(*, event: VaultEvent) -> None:
    """ExitCancelled: what was set aside is available again."""
    vault_exit = _announced(event)
    if vault_exit is None:
        logger.warning("vault exit cancelled with no announcement on record", extra={"address": event.account})
        return
    vault_exit.refresh_from_db(fields=["reserved"])
    _close(vault_exit, state=VaultExit.State.CANCELLED, event=event, give_back=vault_exit.reserved)


def exit_taken(*, event: VaultEvent) -> None:
    """Exited: paid from the reserve; the rest of the reserve back to available; beyond it, an
    outflow claim."""
    vault_exit = _announced(event)
    paid = event.amount
    from_reserve = ZERO
    if vault_exit is not None:
        vault_exit.refresh_from_db(fields=["reserved"])
        from_reserve = min(paid, vault_exit.reserved)
        if from_reserve > 0:
            ledger_post(
                kind=LedgerTransactionKind.EXIT,
                idempotency_key=f"exit:{vault_exit.pk}:paid",
                memo=f"Exit from the vault (tx {event.tx_hash[:12]}…)",
                entries=[
                    (_exiting(vault_exit.user_id), -from_reserve),
                    (external_for(user_id=vault_exit.user_id), from_reserve),
                ],
            )
        vault_exit.paid = paid
        vault_exit.save(update_fields=["paid"])
        _close(vault_exit, state=VaultExit.State.TAKEN, event=event, give_back=vault_exit.reserved - from_reserve)
    else:
        logger.error("vault exit taken with no announcement on record", extra={"address": event.account})
    if paid > from_reserve:
        claim_open(user=event.user, purpose=OUTFLOW, amount=paid - from_reserve, event=event, vault_exit=vault_exit)


# The time settlement needs to fund a sale after it is won (seconds in practice; a margin for a
# slow node). A bid whose sale could not be funded before the buyer's exit unlocks is refused.
SETTLE_MARGIN = timedelta(minutes=10)


def exit_funds_check(*, buyer, settle_by) -> str | None:
    """auctions.signals.FUNDS_CHECKS: refuse a bid or a buy-now that the vault might not let the
    platform fund — the buyer announced an exit that is not fully set aside yet and unlocks before
    the sale could be funded (after unlocking, the vault refuses to fund deals out of the amount
    leaving)."""
    pending = (
        VaultExit.objects.filter(
            user=buyer,
            state=VaultExit.State.ANNOUNCED,
            reserved__lt=F("amount"),
            unlocks_at__lte=settle_by + SETTLE_MARGIN,
        )
        .order_by("unlocks_at")
        .first()
    )
    if pending is None:
        return None
    return (
        f"You announced an exit from the vault that unlocks {pending.unlocks_at:%Y-%m-%d %H:%M} UTC, before "
        "this sale could be paid: cancel the exit (cancelExit) or wait until it is taken to bid again."
    )


def exits_pending_for(*, user) -> list[VaultExit]:
    """The user's announced exits (for their wallet page)."""
    return list(VaultExit.objects.filter(user=user, state=VaultExit.State.ANNOUNCED).order_by("unlocks_at"))


def claims_live_for(*, user) -> list[VaultClaim]:
    return list(VaultClaim.objects.filter(Q(user=user) & Q(state__in=LIVE_CLAIMS)).order_by("id"))
