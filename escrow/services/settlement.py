"""The settlement pipeline: every sale funded in escrow on chain, minted as a LeadNFT to the
buyer's address in batches, and released to the seller after the vertical's dispute window.

    sale committed ──escrow.settle_sale──▶ pending ─fundDeal tx─▶ funding ─confirmed─▶ funded
    funded ──chain.mint (50 sales or CHAIN_MINT_FLUSH_SECONDS)──▶ minting ─confirmed─▶ minted
    minted, window over ─releaseDeal tx─▶ releasing ─confirmed─▶ released (+ ledger payout)

A dispute (escrow.services.disputes) holds the release while it is open or its outcome is still
moving money; a partial refund (`settlement_partial_refund`) returns part of the deal to the
buyer first, and the release then splits what the deal still holds.

Exactly once, across crashes and retries:
- every chain transaction is a ChainTransaction with an idempotency key (chain/transactions.py),
  recorded in the SAME database transaction as the state change that needs it and sent after
  commit: a worker killed before commit leaves nothing behind (the step runs again), one killed
  after commit leaves a recorded transaction that the poller sends. Funding and release keys are
  per sale; a mint batch, its transaction and its sales' `minting` state commit together.
- the contracts refuse repeats too: a deal id (the sale id) is used once ever, and a sale minted
  twice reverts.
- `settlement_advance` (celery beat, every 2 s) moves rows on from confirmed transactions; it
  is idempotent and takes rows with SKIP LOCKED, so several beats or workers never collide.
"""

import logging
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import OperationalError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from web3 import Web3

from auctions.models import BountyAward, Sale
from chain.artifacts import load_artifact
from chain.client import chain_errors, chain_id_check, chain_web3
from chain.deploy import contract_address, platform_address
from chain.leadnft import MintItem, lead_nft, mint_batch_calldata, minted_batch_id, token_id_for
from chain.models import ChainTransaction, ContractDeployment, Wallet
from chain.transactions import PreparedTx, chain_tx_prepare, chain_tx_record
from chain.wallets import wallet_for
from escrow import metrics
from escrow.choices import OPEN_DISPUTE_STATES, DisputeState
from escrow.cursors import cursor_lock
from escrow.models import BountyDeal, Dispute, MintBatch, Settlement
from escrow.notices import earnings_released_notify, purchase_ready_notify
from escrow.services.commitments import lead_canonical_data, lead_data_hash, new_salt
from escrow.services.fees import release_after_for, release_amounts
from escrow.services.sweeps import FundingDeferred, vault_address_to_fund, wallet_sweep_quietly
from escrow.signals import purchase_ready_send
from escrow.units import to_units
from leads.selectors import lead_pii_read
from ledger.choices import LedgerAccountKind, LedgerTransactionKind
from ledger.services import AccountSpec, ledger_post

logger = logging.getLogger(__name__)

MAX_MINT_ATTEMPTS = 3
# Deal ids of bounty payouts: above every sale id (sale ids, and LeadNFT's, stay below 2**64).
BOUNTY_DEAL_BASE = 2**64
CONFIRMED, FAILED = ChainTransaction.Status.CONFIRMED, ChainTransaction.Status.FAILED


class SettlementUnavailable(Exception):
    """The contracts are not deployed on the node's chain: nothing to settle against."""


# ---------------------------------------------------------------- contracts


def settlement_enabled() -> bool:
    """Queue settlement for new sales (CHAIN_SETTLEMENT and a configured node)."""
    return bool(settings.CHAIN_SETTLEMENT and settings.CHAIN_RPC_URL)


def settlement_contracts(*, chain_id: int) -> tuple[str, str]:
    """(EscrowVault, LeadNFT) addresses on `chain_id`; SettlementUnavailable when not deployed."""
    vault = contract_address(chain_id=chain_id, name="EscrowVault")
    nft = contract_address(chain_id=chain_id, name="LeadNFT")
    if not vault or not nft:
        raise SettlementUnavailable(f"EscrowVault and LeadNFT are not deployed on chain {chain_id}")
    return vault, nft


def _vault(w3: Web3 | None = None, address: str | None = None):
    return (w3 or Web3()).eth.contract(address=address, abi=load_artifact("EscrowVault")["abi"])


# ---------------------------------------------------------------- opening and funding


def settlement_open(*, sale_id: int) -> Settlement:
    """The sale's Settlement, created on first call (addresses, the salted data commitment,
    the release time). Raises ChainUnavailable / SettlementUnavailable."""
    existing = Settlement.objects.filter(sale_id=sale_id).first()
    if existing is not None:
        return existing
    w3 = chain_web3()
    chain_id = chain_id_check(w3)
    vault, _ = settlement_contracts(chain_id=chain_id)
    sale = Sale.objects.select_related("lead__vertical", "buyer", "seller").get(pk=sale_id)
    lead = sale.lead
    salt = new_salt()
    canonical = lead_canonical_data(lead=lead, pii=lead_pii_read(lead=lead))
    with transaction.atomic():
        settlement, created = Settlement.objects.get_or_create(
            sale=sale,
            defaults=dict(
                chain_id=chain_id,
                buyer_address=wallet_for(user=sale.buyer).address,
                seller_address=wallet_for(user=sale.seller).address,
                amount=sale.price,
                data_hash="0x" + lead_data_hash(canonical=canonical, salt=salt).hex(),
                data_salt="0x" + salt.hex(),
                release_after=release_after_for(
                    sold_at=sale.created_at, dispute_window_hours=lead.vertical.dispute_window_hours
                ),
            ),
        )
    if created:
        metrics.SETTLEMENTS.labels(state=Settlement.State.PENDING).inc()
    return settlement


def settlement_fund(*, sale_id: int) -> Settlement:
    """Open the settlement and record its fundDeal transaction (sent after commit). Idempotent:
    the transaction's key is the sale's, and a settlement past `pending` is left alone. The node
    is asked first (where the buyer's money is, the gas estimates); the row lock is taken only to
    record. A buyer whose money is still on its way to their linked wallet is funded later
    (escrow.advance: `_fund_pending`)."""
    settlement = settlement_open(sale_id=sale_id)
    if settlement.state != Settlement.State.PENDING:
        return settlement
    try:
        plan = _funding_plan(settlement, key=_fund_key(settlement))
    except FundingDeferred as exc:
        logger.info("settlement %s: funding deferred: %s", sale_id, exc, extra={"sale_id": sale_id})
        return settlement
    try:
        with transaction.atomic():
            settlement = Settlement.objects.select_for_update().get(sale_id=sale_id)
            if settlement.state != Settlement.State.PENDING:
                return settlement
            _record_funding(settlement, plan)
    except FundingDeferred as exc:
        logger.info("settlement %s: funding deferred: %s", sale_id, exc, extra={"sale_id": sale_id})
        return Settlement.objects.get(sale_id=sale_id)
    metrics.SETTLEMENTS.labels(state=settlement.state).inc()
    logger.info("settlement %s: funding tx %s", sale_id, settlement.fund_tx_id, extra={"sale_id": sale_id})
    return settlement


def _fund_key(s: Settlement) -> str:
    """The sale's funding key; after a failed attempt (a staff retry), a fresh one (`…:retryN`)."""
    base = f"escrow.fund:{s.chain_id}:{s.sale_id}"
    if s.fund_tx_id is not None:
        return s.fund_tx.idempotency_key  # recorded already: the same key replays it
    attempts = ChainTransaction.objects.filter(idempotency_key__startswith=base).count()
    return base if not attempts else f"{base}:retry{attempts}"


@dataclass
class _FundingPlan:
    """What funding a sale needs from the node, asked before any lock."""

    key: str
    funder: str
    prepared: PreparedTx | None  # None: the key was recorded already (a retried task)
    already_funded: bool  # the estimate reverted because the deal exists on chain: adopt it
    bounties: list[tuple[BountyAward, str, PreparedTx]] = field(default_factory=list)


def _funding_plan(s: Settlement, *, key: str) -> _FundingPlan:
    """Raises FundingDeferred when the buyer's money is still being moved to their wallet."""
    vault, _ = settlement_contracts(chain_id=s.chain_id)
    w3 = chain_web3()
    sale = Sale.objects.select_related("buyer").get(pk=s.sale_id)
    funder = Web3.to_checksum_address(
        vault_address_to_fund(user=sale.buyer, amount=s.amount, w3=w3, vault_address=vault)
    )
    prepared, already_funded = None, False
    if not ChainTransaction.objects.filter(idempotency_key=key).exists():
        prepared = chain_tx_prepare(
            to=vault, data=_vault().encode_abi("fundDeal", args=[s.sale_id, funder, to_units(s.amount)])
        )
        already_funded = bool(prepared.error) and _deal_matches(s, vault=vault, funders={funder, _funder(s)})
    return _FundingPlan(
        key=key,
        funder=funder,
        prepared=prepared,
        already_funded=already_funded,
        bounties=_bounty_plans(s, vault=vault, w3=w3),
    )


def _bounty_plans(s: Settlement, *, vault: str, w3) -> list[tuple[BountyAward, str, PreparedTx]]:
    """The sale's bounty awards with no deal yet, each with its funder's address and its prepared
    fundDeal; an award whose funder's money is still moving to their wallet waits (_fund_pending)."""
    plans = []
    awards = (
        BountyAward.objects.filter(sale_id=s.sale_id, bounty_deal__isnull=True)
        .select_related("bounty__buyer")
        .order_by("id")
    )
    for award in awards:
        try:
            funder = Web3.to_checksum_address(
                vault_address_to_fund(user=award.bounty.buyer, amount=award.amount, w3=w3, vault_address=vault)
            )
        except FundingDeferred:
            continue
        plans.append(
            (
                award,
                funder,
                chain_tx_prepare(
                    to=vault,
                    data=_vault().encode_abi(
                        "fundDeal", args=[BOUNTY_DEAL_BASE + award.pk, funder, to_units(award.amount)]
                    ),
                ),
            )
        )
    return plans


def _moved_funders(funders: set[str]) -> set[str]:
    """Of `funders` (addresses planned before any lock), the custodial addresses of wallets linked
    since: their money is being moved to the wallet (escrow.services.sweeps), so a deal funded from there
    would race the move. Locks those wallet rows, so a link in progress is waited for; escrow.advance
    plans them again (from the wallet)."""
    moved = (
        Wallet.objects.select_for_update()
        .filter(kind=Wallet.Kind.LINKED, custodial_address__in=funders)
        .exclude(address__in=funders)
        .values_list("custodial_address", flat=True)
    )
    return set(moved)


def _record_bounty_plans(settlement: Settlement, plans) -> None:
    """Caller holds the settlement's row lock. A plan whose funder's wallet was linked since it was
    made waits for the next pass (_fund_pending)."""
    moved = _moved_funders({funder for _, funder, _ in plans})
    for award, funder, prepared in plans:
        if funder in moved:
            continue
        deal, _ = BountyDeal.objects.get_or_create(
            award=award, defaults=dict(settlement=settlement, funder_address=funder, amount=award.amount)
        )
        if deal.fund_tx_id is not None:
            continue
        deal.fund_tx = chain_tx_record(
            idempotency_key=f"escrow.fund:{settlement.chain_id}:bounty:{award.pk}", prepared=prepared
        )
        deal.save(update_fields=["fund_tx"])
        if deal.fund_tx.status == FAILED:
            logger.error("bounty award %s: funding refused: %s", award.pk, deal.fund_tx.error[:200])


def _fund_pending(*, now) -> int:
    """Fund what waited for a buyer's money to reach their linked wallet: settlements still
    pending with no funding recorded, and bounty awards of funded sales with no deal yet. Each is
    planned with the node first, then recorded under its row's lock."""
    done = 0
    stale = now - timedelta(seconds=2)
    for sale_id in (
        Settlement.objects.filter(state=Settlement.State.PENDING, fund_tx__isnull=True, updated_at__lte=stale)
        .order_by("id")
        .values_list("sale_id", flat=True)[:50]
    ):
        if settlement_fund(sale_id=sale_id).state != Settlement.State.PENDING:
            done += 1
    waiting = Settlement.objects.filter(
        state__in=(
            Settlement.State.FUNDING,
            Settlement.State.FUNDED,
            Settlement.State.MINTING,
            Settlement.State.MINTED,
        ),
        sale__bounty_awards__bounty_deal__isnull=True,
    ).distinct()[:50]
    for s in waiting:
        vault, _ = settlement_contracts(chain_id=s.chain_id)
        plans = _bounty_plans(s, vault=vault, w3=chain_web3())
        if not plans:
            continue
        with transaction.atomic():
            locked = Settlement.objects.select_for_update(skip_locked=True, of=("self",)).filter(pk=s.pk).first()
            if locked is not None:
                _record_bounty_plans(locked, plans)
                done += 1
    return done


def _record_funding(settlement: Settlement, plan: _FundingPlan) -> None:
    """Record the sale's fundDeal (and its bounty deals) from `plan`: database only. Caller holds
    the row lock."""
    existing = ChainTransaction.objects.filter(idempotency_key=plan.key).first()
    if existing is None:
        if _moved_funders({plan.funder}):
            raise FundingDeferred(f"sale {settlement.sale_id}: the buyer linked a wallet since the plan")
        settlement.funding_address = plan.funder
    tx = settlement.fund_tx = existing or chain_tx_record(idempotency_key=plan.key, prepared=plan.prepared)
    settlement.error = ""
    if tx.status == FAILED and plan.already_funded:
        # Funded on chain already, by a transaction these rows no longer record (restored
        # database): adopt the deal rather than fail it.
        settlement.state, settlement.funded_at = Settlement.State.FUNDED, timezone.now()
        logger.warning("settlement %s: the deal was already funded on chain; adopted", settlement.sale_id)
    elif tx.status == FAILED:  # refused before sending (the estimate reverted: e.g. vault balance short)
        _fail(settlement, f"funding refused: {tx.error}")
    else:
        settlement.state = Settlement.State.FUNDING
    settlement.save(update_fields=["fund_tx", "funding_address", "state", "funded_at", "error", "updated_at"])
    _record_bounty_plans(settlement, plan.bounties)


def _funder(settlement: Settlement) -> str:
    return Web3.to_checksum_address(settlement.funding_address or settlement.buyer_address)


def _deal_matches(settlement: Settlement, *, vault: str, funders: set[str]) -> bool:
    """True when the vault holds this sale's deal, from one of `funders`, for its amount."""
    with chain_errors():
        buyer, amount = _vault(chain_web3(), vault).functions.dealOf(settlement.sale_id).call()
    return (
        int(buyer, 16) != 0
        and Web3.to_checksum_address(buyer) in funders
        and int(amount) == to_units(settlement.amount)
    )


def _fail(settlement: Settlement, error: str) -> None:
    settlement.state = Settlement.State.FAILED
    settlement.error = error[:2000]
    logger.error("settlement of sale %s failed: %s", settlement.sale_id, settlement.error[:200])


def settlement_retry(*, settlement_id: int) -> Settlement:
    """Staff: put a failed settlement back where it can go on (admin action). A funding that failed
    (refused, reverted or replaced) is sent again under a new key (`…:retryN`), from wherever the
    buyer's money is now; a funded deal goes back to the next mint batch; a failed release is sent
    again under a new key — or, when the vault already paid the deal out (a release given up on but
    mined after all), recorded as released and mirrored in the ledger. The node is asked before the
    row is locked."""
    s = Settlement.objects.select_related("fund_tx").get(pk=settlement_id)
    if s.state != Settlement.State.FAILED:
        return s
    if s.refund_tx_id is not None:  # a refund that failed: send the refund again, never a release
        return _refund_again(s)
    refund_funding = s.fund_tx is None or s.fund_tx.status in (FAILED, ChainTransaction.Status.REPLACED)
    plan = released_on_chain = None
    if refund_funding:
        s.fund_tx = None  # a new attempt: a fresh key
        try:
            plan = _funding_plan(s, key=_fund_key(s))
        except FundingDeferred:  # the money is moving to the buyer's wallet: escrow.advance funds it
            with transaction.atomic():
                Settlement.objects.filter(pk=s.pk, state=Settlement.State.FAILED).update(
                    state=Settlement.State.PENDING, fund_tx=None, error="", updated_at=timezone.now()
                )
            return Settlement.objects.get(pk=s.pk)
    elif s.token_id is not None and s.release_tx_id is not None:
        released_on_chain = _deal_released_on_chain(s)
    with transaction.atomic():
        s = (
            Settlement.objects.select_for_update(of=("self",))
            .select_related("fund_tx", "sale__escrow_account")
            .get(pk=settlement_id)
        )
        if s.state != Settlement.State.FAILED:
            return s
        if refund_funding:
            try:
                with transaction.atomic():
                    _record_funding(s, plan)
            except FundingDeferred:  # the buyer linked a wallet meanwhile: retry again to plan from it
                s.refresh_from_db()
            return s
        if s.token_id is None:
            s.state = Settlement.State.FUNDED
        elif released_on_chain:
            _release_ledger(s)
            s.state, s.released_at = Settlement.State.RELEASED, timezone.now()
        else:
            s.release_tx, s.state = None, Settlement.State.MINTED
            s.release_retries += 1
        s.error = ""
        s.save()
    return s


def _deal_released_on_chain(s: Settlement) -> bool:
    """The vault holds nothing for this (funded) deal any more: it was paid out."""
    vault, _ = settlement_contracts(chain_id=s.chain_id)
    with chain_errors():
        buyer, amount = _vault(chain_web3(), vault).functions.dealOf(s.sale_id).call()
    return int(buyer, 16) != 0 and int(amount) == 0


# ---------------------------------------------------------------- the periodic step


def settlement_advance(*, now=None) -> dict:
    """One pass of every step; returns counts (for logs and tests)."""
    now = now or timezone.now()
    counts = {
        "funded": _advance_funding(now=now),
        "batches": mint_flush(now=now),
        "minted": _advance_minting(now=now),
        "releasing": release_due(now=now),
        "released": _advance_releasing(now=now),
        "refunded": _advance_refunding(now=now),
        "partially_refunded": _advance_partial_refunds(now=now),
        "tokens_returned": tokens_return(),
        "transfers": nft_transfers_follow(),
        "opened": _open_missing(now=now),
        "deferred_funded": _fund_pending(now=now),
    }
    return {k: v for k, v in counts.items() if v}


def _locked(state: str, *related: str):
    """Settlements in `state`, oldest first, locked as they are read; rows another worker holds
    are skipped (slice or filter the result)."""
    return (
        Settlement.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related(*related)
        .filter(state=state)
        .order_by("id")
    )


def _advance_on(state: str, tx_field: str, *, related: tuple[str, ...], what: str, on_confirmed) -> int:
    """Settlements in `state` whose `tx_field` transaction is final: confirmed → on_confirmed(s)
    (which sets the next state), failed or replaced → failed. Returns how many were confirmed.

    One transaction per row: a row's ledger post locks its people's accounts, and holding one
    person's accounts while waiting for another's (as a pass over many rows in one transaction
    would) deadlocks against a close that locks the same accounts in id order."""
    done = 0
    final = (CONFIRMED, FAILED, ChainTransaction.Status.REPLACED)
    ids = list(
        Settlement.objects.filter(state=state, **{f"{tx_field}__status__in": final})
        .order_by("id")
        .values_list("pk", flat=True)[:200]
    )
    for pk in ids:
        try:
            with transaction.atomic():
                s = _locked(state, tx_field, *related).filter(pk=pk).first()
                if s is None:
                    continue  # another worker has it, or it moved on
                tx = getattr(s, tx_field)
                try:
                    with transaction.atomic():  # one row's error (say, in its ledger post) fails that row only
                        if tx.status == CONFIRMED:
                            on_confirmed(s)
                            done += 1
                        else:
                            _fail(s, f"{what} transaction failed: {tx.error}")
                        s.save()
                except _NotYet:
                    continue
                except OperationalError:
                    raise  # transient (a lock timeout, a deadlock victim): the next pass does it again
                except Exception as exc:  # noqa: BLE001 - recorded on the row for staff, the pass goes on
                    logger.exception("settlement of sale %s: %s step failed", s.sale_id, what)
                    _fail(s, f"{what} confirmed but could not be recorded: {exc}")
                    s.save(update_fields=["state", "error", "updated_at"])
                metrics.SETTLEMENTS.labels(state=s.state).inc()
        except OperationalError:
            logger.warning(
                "settlement row %s: %s step hit a transient database error; retried next pass", pk, what, exc_info=True
            )
    return done


def _advance_funding(*, now) -> int:
    def funded(s: Settlement) -> None:
        s.state, s.funded_at = Settlement.State.FUNDED, now
        purchase_ready_notify(sale_id=s.sale_id, buyer_id=s.sale.buyer_id)
        purchase_ready_send(sale_id=s.sale_id, buyer_id=s.sale.buyer_id)
        metrics.ESCROW_FUNDING_SECONDS.observe(max((now - s.sale.created_at).total_seconds(), 0))

    return _advance_on(Settlement.State.FUNDING, "fund_tx", related=("sale",), what="funding", on_confirmed=funded)


def _mint_item(s: Settlement) -> MintItem:
    sale = s.sale
    return MintItem(
        sale_id=s.sale_id,
        buyer=s.buyer_address,
        seller=s.seller_address,
        vertical_id=sale.lead.vertical_id,
        price_units=to_units(s.amount),
        quality=sale.lead.quality_score or 0,
        data_hash=bytes.fromhex(s.data_hash[2:]),
        bid_log_digest=bytes.fromhex(sale.bid_log_digest.rjust(64, "0")),
    )


def mint_batch_items(batch: MintBatch) -> list[MintItem]:
    """A batch's sales as minted, in mint order (the flush takes them by settlement id): what
    LeadNFT.batchRoot was computed over, for Merkle proofs."""
    rows = Settlement.objects.filter(mint_batch=batch).select_related("sale__lead").order_by("id")
    return [_mint_item(r) for r in rows]


def mint_flush(*, now=None, force: bool = False) -> int:
    """Stage chain.mint: send batches of funded sales — a full batch at once, a partial one when
    its oldest sale has waited CHAIN_MINT_FLUSH_SECONDS (or `force`). Returns batches sent. Each
    batch is prepared with the node (the gas estimate) before its rows are locked; if another
    worker took some of them meanwhile, it is prepared again from what is left."""
    now = now or timezone.now()
    size = max(1, min(settings.CHAIN_MINT_BATCH, 50))
    sent = 0
    for _ in range(100):  # bounded: each pass sends a batch or stops
        rows = list(
            Settlement.objects.filter(state=Settlement.State.FUNDED).select_related("sale__lead").order_by("id")[:size]
        )
        if not rows:
            return sent
        oldest = min(r.funded_at or now for r in rows)
        if len(rows) < size and not force and now - oldest < timedelta(seconds=settings.CHAIN_MINT_FLUSH_SECONDS):
            return sent
        chain_id = rows[0].chain_id
        rows = [r for r in rows if r.chain_id == chain_id]
        _, nft = settlement_contracts(chain_id=chain_id)
        prepared = chain_tx_prepare(to=nft, data=mint_batch_calldata([_mint_item(r) for r in rows]))
        with transaction.atomic():
            locked = list(
                Settlement.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(pk__in=[r.pk for r in rows], state=Settlement.State.FUNDED)
                .order_by("id")
            )
            if [r.pk for r in locked] != [r.pk for r in rows]:
                continue  # another worker took some of these: prepare again from what is left
            # One key per batch: the batch, its transaction and its sales' state commit together,
            # so exactly-once comes from that transaction (and SaleAlreadyMinted), not the key.
            key = f"lead.mint:{chain_id}:{uuid.uuid4().hex}"
            tx = chain_tx_record(idempotency_key=key, prepared=prepared)
            batch = MintBatch.objects.create(chain_id=chain_id, tx=tx, size=len(rows), created_at=now)
            if tx.status == FAILED:
                batch.status, batch.error = MintBatch.Status.FAILED, tx.error
                batch.save(update_fields=["status", "error"])
                _mint_failed(locked, error=tx.error)
                return sent
            Settlement.objects.filter(pk__in=[r.pk for r in rows]).update(
                state=Settlement.State.MINTING, mint_batch=batch, updated_at=now
            )
            metrics.MINT_BATCH_SIZE.observe(len(rows))
            logger.info("mint batch %s: %s sales, tx %s", batch.pk, len(rows), tx.pk)
            sent += 1
    return sent


def _minted_on_chain(rows: list[Settlement]) -> set[int]:
    """Sale ids among `rows` whose token exists on chain (a batch that did mint before failing here)."""
    if not rows:
        return set()
    w3 = chain_web3()
    _, nft = settlement_contracts(chain_id=rows[0].chain_id)
    contract = lead_nft(w3, nft)
    minted = set()
    for r in rows:
        try:
            with chain_errors():
                owner = contract.functions.ownerOf(token_id_for(sale_id=r.sale_id, buyer=r.buyer_address)).call()
        except Exception:  # noqa: BLE001 - ERC721NonexistentToken: not minted
            continue
        if owner:
            minted.add(r.sale_id)
    return minted


def _mint_failed(rows: list[Settlement], *, error: str) -> None:
    """A batch that failed: sales already minted on chain are marked minted; the others go back
    to `funded` for the next batch, or `failed` after MAX_MINT_ATTEMPTS."""
    already = _minted_on_chain(rows)
    for r in rows:
        if r.sale_id in already:
            _mark_minted(r, batch=None, now=timezone.now())
            continue
        r.mint_attempts += 1
        if r.mint_attempts >= MAX_MINT_ATTEMPTS:
            _fail(r, f"mint failed {r.mint_attempts} times: {error}")
        else:
            r.state = Settlement.State.FUNDED
        r.mint_batch = None
        r.save(update_fields=["mint_attempts", "state", "error", "mint_batch", "updated_at"])


def _mark_minted(s: Settlement, *, batch: MintBatch | None, now) -> None:
    s.state = Settlement.State.MINTED
    s.token_id = str(token_id_for(sale_id=s.sale_id, buyer=s.buyer_address))
    s.owner_address = s.buyer_address
    s.minted_at = now
    if batch is not None:
        s.mint_batch = batch
    s.save(update_fields=["state", "token_id", "owner_address", "minted_at", "mint_batch", "updated_at"])
    metrics.SETTLEMENTS.labels(state=s.state).inc()


def _advance_minting(*, now) -> int:
    done = 0
    batches = (
        MintBatch.objects.filter(
            status=MintBatch.Status.SENT, tx__status__in=(CONFIRMED, FAILED, ChainTransaction.Status.REPLACED)
        )
        .select_related("tx")
        .order_by("id")[:20]
    )
    for batch_id in [b.pk for b in batches]:
        with transaction.atomic():
            batch = (
                MintBatch.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("tx")
                .filter(pk=batch_id, status=MintBatch.Status.SENT)
                .first()
            )
            if batch is None:
                continue
            rows = list(
                Settlement.objects.select_for_update()
                .filter(mint_batch=batch, state=Settlement.State.MINTING)
                .order_by("id")
            )
            if batch.tx.status == CONFIRMED:
                _batch_confirmed(batch, now=now)
                for r in rows:
                    _mark_minted(r, batch=batch, now=now)
                done += len(rows)
            else:
                batch.status, batch.error = MintBatch.Status.FAILED, batch.tx.error
                batch.save(update_fields=["status", "error"])
                _mint_failed(rows, error=batch.tx.error)
    return done


def _batch_confirmed(batch: MintBatch, *, now) -> None:
    w3 = chain_web3()
    with chain_errors():
        receipt = w3.eth.get_transaction_receipt(batch.tx.tx_hash)
    _, nft = settlement_contracts(chain_id=batch.chain_id)
    batch.status, batch.confirmed_at = MintBatch.Status.CONFIRMED, now
    batch.gas_used = int(receipt["gasUsed"])
    batch.onchain_batch_id = minted_batch_id(w3, nft, receipt)
    if batch.onchain_batch_id is not None:
        with chain_errors():
            batch.root = "0x" + bytes(lead_nft(w3, nft).functions.batchRoot(batch.onchain_batch_id).call()).hex()
    batch.save(update_fields=["status", "confirmed_at", "gas_used", "onchain_batch_id", "root"])
    metrics.MINT_CONFIRMATION_SECONDS.observe(max((now - batch.created_at).total_seconds(), 0))
    metrics.MINT_GAS_PER_TOKEN.observe(batch.gas_used / batch.size)


# ---------------------------------------------------------------- release


def release_split(*, settlement: Settlement) -> list[tuple[str, Decimal, AccountSpec | None]]:
    """(payee address, amount, ledger account) legs of the release: the platform fee
    (PLATFORM_FEE_BPS of the price), the vertical owner's royalty (VERTICAL_ROYALTY_BPS, when the
    vertical has an owner address), and the seller the rest. Rounded down to the cent-millionth;
    the seller gets the remainder, so the legs always sum to the price exactly."""
    vertical = settlement.sale.lead.vertical
    seller, fee, royalty = release_amounts(
        price=settlement.held_amount, vertical_has_owner=bool(vertical.owner_address)
    )
    legs = [
        (
            settlement.seller_address,
            seller,
            AccountSpec(kind=LedgerAccountKind.USER_AVAILABLE, owner_id=settlement.sale.seller_id),
        )
    ]
    if fee:
        legs.append(
            (platform_address(chain_id=settlement.chain_id), fee, AccountSpec(kind=LedgerAccountKind.PLATFORM_FEES))
        )
    if royalty:
        legs.append(
            (
                Web3.to_checksum_address(vertical.owner_address),
                royalty,
                AccountSpec(kind=LedgerAccountKind.ROYALTIES, reference=f"vertical:{vertical.pk}"),
            )
        )
    return [leg for leg in legs if leg[1] > 0]


def release_held() -> Q:
    """Settlements the release must not touch yet: a dispute open or deciding (its outcome not
    applied), or a partial refund sent and not yet mirrored in the ledger."""
    disputed = Exists(
        Dispute.objects.filter(settlement=OuterRef("pk"), state__in=(*OPEN_DISPUTE_STATES, DisputeState.DECIDED))
    )
    return Q(disputed) | Q(partial_refund_tx__isnull=False, partial_refunded_at__isnull=True)


def release_due(*, now=None, limit: int = 100) -> int:
    """Send releaseDeal for minted settlements whose dispute window is over and that no dispute
    holds (and each funded bounty deal with it). Each release is prepared with the node first,
    then recorded under its row's lock in a transaction of its own, which checks the dispute
    again: a dispute opened at the last moment and this release serialize on the row's lock."""
    now = now or timezone.now()
    sent = 0
    due = (
        Settlement.objects.filter(state=Settlement.State.MINTED, release_after__lte=now)
        .exclude(release_held())
        .select_related("sale__lead__vertical")
        .order_by("release_after", "id")[:limit]
    )
    for s in due:
        vault, _ = settlement_contracts(chain_id=s.chain_id)
        legs = release_split(settlement=s)
        prepared = chain_tx_prepare(
            to=vault,
            data=_vault().encode_abi(
                "releaseDeal",
                args=[s.sale_id, [Web3.to_checksum_address(a) for a, _, _ in legs], [to_units(x) for _, x, _ in legs]],
            ),
        )
        bounties = [
            (
                deal,
                chain_tx_prepare(
                    to=vault,
                    data=_vault().encode_abi(
                        "releaseDeal",
                        args=[
                            BOUNTY_DEAL_BASE + deal.award_id,
                            [Web3.to_checksum_address(s.seller_address)],
                            [to_units(deal.amount)],
                        ],
                    ),
                ),
            )
            for deal in s.bounty_deals.filter(
                release_tx__isnull=True, refund_tx__isnull=True, fund_tx__status=CONFIRMED
            )
        ]
        with transaction.atomic():
            s = (
                Settlement.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("sale__lead__vertical")
                .filter(pk=s.pk, state=Settlement.State.MINTED)
                .exclude(release_held())
                .first()
            )
            if s is None:
                continue  # another worker has it, it moved on, or a dispute holds it now
            retry = f":retry{s.release_retries}" if s.release_retries else ""
            tx = chain_tx_record(idempotency_key=f"escrow.release:{s.chain_id}:{s.sale_id}{retry}", prepared=prepared)
            for deal, bounty_prepared in bounties:
                deal.release_tx = chain_tx_record(
                    idempotency_key=f"escrow.release:{s.chain_id}:bounty:{deal.award_id}", prepared=bounty_prepared
                )
                deal.save(update_fields=["release_tx"])
            s.release_tx = tx
            s.seller_amount = legs[0][1]
            by_kind = {spec.kind: amount for _, amount, spec in legs[1:]}
            s.platform_fee = by_kind.get(LedgerAccountKind.PLATFORM_FEES, Decimal(0))
            s.vertical_royalty = by_kind.get(LedgerAccountKind.ROYALTIES, Decimal(0))
            if tx.status == FAILED:
                _fail(s, f"release refused: {tx.error}")
            else:
                s.state = Settlement.State.RELEASING
                sent += 1
            s.save(
                update_fields=[
                    "release_tx",
                    "seller_amount",
                    "platform_fee",
                    "vertical_royalty",
                    "state",
                    "error",
                    "updated_at",
                ]
            )
    return sent


class _NotYet(Exception):
    """A confirmed step whose companion transactions (bounty deals) are still on their way: the
    row waits for a later pass rather than mirror only part of what the chain will do."""


def _bounty_txs_final(s: Settlement, tx_field: str) -> None:
    live = (ChainTransaction.Status.PENDING, ChainTransaction.Status.SENT)
    if s.bounty_deals.filter(**{f"{tx_field}__status__in": live}).exists():
        raise _NotYet


def _advance_releasing(*, now) -> int:
    def released(s: Settlement) -> None:
        _bounty_txs_final(s, "release_tx")
        _release_ledger(s)
        s.state, s.released_at = Settlement.State.RELEASED, now
        earnings_released_notify(settlement=s)

    return _advance_on(
        Settlement.State.RELEASING,
        "release_tx",
        related=("sale__lead__vertical", "sale__escrow_account"),
        what="release",
        on_confirmed=released,
    )


def _release_ledger(s: Settlement) -> None:
    """Mirror the release in the ledger with the split that was sent on chain (stored on the row
    when the release was sent), out of the sale's escrow account; plus the bounty payouts whose
    own deal was released on chain with it (the row waits until every one of them is final). A
    bounty whose deal never funded, or whose release failed, stays in the sale's escrow account
    for staff (the vault never moved it)."""
    sale = s.sale
    vertical_id = sale.lead.vertical_id
    released_bounties = BountyDeal.objects.filter(settlement=s, release_tx__status=CONFIRMED)
    bounties = sum((deal.amount for deal in released_bounties), Decimal(0))
    legs = [(AccountSpec(kind=LedgerAccountKind.USER_AVAILABLE, owner_id=sale.seller_id), s.seller_amount + bounties)]
    if s.platform_fee:
        legs.append((AccountSpec(kind=LedgerAccountKind.PLATFORM_FEES), s.platform_fee))
    if s.vertical_royalty:
        legs.append(
            (AccountSpec(kind=LedgerAccountKind.ROYALTIES, reference=f"vertical:{vertical_id}"), s.vertical_royalty)
        )
    total = sum((amount for _, amount in legs), Decimal(0))
    ledger_post(
        kind=LedgerTransactionKind.TRANSFER,
        idempotency_key=f"settle:{sale.pk}",
        memo=f"Release of sale {sale.pk} after the dispute window",
        entries=[(sale.escrow_account, -total), *legs],
    )


# ---------------------------------------------------------------- refund

REFUNDABLE = (Settlement.State.FUNDED, Settlement.State.MINTED)


def settlement_refund(*, settlement_id: int, reason: str) -> Settlement:
    """Staff: give a sale's price back to its buyer before the release, and each bounty payout
    funded with it back to its funder: `refundDeal` on chain (asked of the node before any lock),
    mirrored in the ledger once confirmed (`refund:<sale>`). Only a funded or minted settlement;
    ValidationError otherwise. Once: a settlement already refunding returns as it is."""
    s = Settlement.objects.select_related("sale").get(pk=settlement_id)
    if s.state in (Settlement.State.REFUNDING, Settlement.State.REFUNDED):
        return s
    if s.state not in REFUNDABLE:
        raise ValidationError(
            {"state": f"Only a funded or minted sale can be refunded (this one is {s.get_state_display().lower()})."}
        )
    live = (ChainTransaction.Status.PENDING, ChainTransaction.Status.SENT)
    if s.bounty_deals.filter(fund_tx__status__in=live).exists():
        raise ValidationError(
            {
                "state": "A bounty payout of this sale is still being funded on chain: refund it in "
                "a minute, once that settled."
            }
        )
    vault, _ = settlement_contracts(chain_id=s.chain_id)
    if s.partial_refund_tx_id is not None and s.partial_refunded_at is None:
        raise ValidationError(
            {"state": "A partial refund of this sale is still on its way: refund the rest once it settled."}
        )
    prepared = chain_tx_prepare(
        to=vault, data=_vault().encode_abi("refundDeal", args=[s.sale_id, to_units(s.held_amount)])
    )
    deals = list(s.bounty_deals.filter(fund_tx__status=CONFIRMED, release_tx__isnull=True, refund_tx__isnull=True))
    bounty_refunds = [
        (
            deal,
            chain_tx_prepare(
                to=vault,
                data=_vault().encode_abi("refundDeal", args=[BOUNTY_DEAL_BASE + deal.award_id, to_units(deal.amount)]),
            ),
        )
        for deal in deals
    ]
    with transaction.atomic():
        s = Settlement.objects.select_for_update(of=("self",)).select_related("sale").get(pk=settlement_id)
        if s.state not in REFUNDABLE:
            return s
        s.refund_tx = chain_tx_record(idempotency_key=f"escrow.refund:{s.chain_id}:{s.sale_id}", prepared=prepared)
        if s.refund_tx.status == FAILED:
            raise ValidationError({"state": f"The vault refused the refund: {s.refund_tx.error[:200]}"})
        for deal, bounty_prepared in bounty_refunds:
            deal.refund_tx = chain_tx_record(
                idempotency_key=f"escrow.refund:{s.chain_id}:bounty:{deal.award_id}", prepared=bounty_prepared
            )
            deal.save(update_fields=["refund_tx"])
        s.state, s.refund_reason = Settlement.State.REFUNDING, reason[:255]
        s.save(update_fields=["refund_tx", "state", "refund_reason", "updated_at"])
    metrics.SETTLEMENTS.labels(state=s.state).inc()
    logger.info("settlement of sale %s: refund sent", s.sale_id, extra={"sale_id": s.sale_id})
    return s


def _refund_again(s: Settlement) -> Settlement:
    """A failed refund, sent again under a new key (staff retry). If the vault already returned
    the deal (the failed attempt was mined after all), it is recorded as refunded."""
    vault, _ = settlement_contracts(chain_id=s.chain_id)
    with chain_errors():
        held = int(_vault(chain_web3(), vault).functions.dealOf(s.sale_id).call()[1])
    prepared = None
    if held:
        prepared = chain_tx_prepare(to=vault, data=_vault().encode_abi("refundDeal", args=[s.sale_id, held]))
    attempts = ChainTransaction.objects.filter(
        idempotency_key__startswith=f"escrow.refund:{s.chain_id}:{s.sale_id}"
    ).count()
    with transaction.atomic():
        s = Settlement.objects.select_for_update(of=("self",)).select_related("sale__escrow_account").get(pk=s.pk)
        if s.state != Settlement.State.FAILED:
            return s
        if prepared is None:
            _bounty_txs_final(s, "refund_tx")
            _refund_ledger(s)
            s.state, s.refunded_at = Settlement.State.REFUNDED, timezone.now()
        else:
            s.refund_tx = chain_tx_record(
                idempotency_key=f"escrow.refund:{s.chain_id}:{s.sale_id}:retry{attempts}", prepared=prepared
            )
            s.state = Settlement.State.REFUNDING if s.refund_tx.status != FAILED else Settlement.State.FAILED
        s.error = ""
        s.save()
    return s


def _advance_refunding(*, now) -> int:
    def refunded(s: Settlement) -> None:
        _bounty_txs_final(s, "refund_tx")
        _refund_ledger(s)
        s.state, s.refunded_at = Settlement.State.REFUNDED, now
        if s.funding_address and s.funding_address != s.buyer_address:
            # Refunded to the custodial address it was funded from: follow the linked wallet.
            buyer_id = s.sale.buyer_id
            transaction.on_commit(lambda: wallet_sweep_quietly(user_id=buyer_id), robust=True)

    return _advance_on(
        Settlement.State.REFUNDING, "refund_tx", related=("sale__escrow_account",), what="refund", on_confirmed=refunded
    )


def _refund_ledger(s: Settlement) -> None:
    """Mirror the refund: the price from the sale's escrow account back to the buyer's available
    balance, and each bounty payout whose deal was refunded on chain back to its funder."""
    sale = s.sale
    legs = [(AccountSpec(kind=LedgerAccountKind.USER_AVAILABLE, owner_id=sale.buyer_id), s.held_amount)]
    for deal in s.bounty_deals.filter(refund_tx__status=CONFIRMED).select_related("award__bounty"):
        legs.append(
            (AccountSpec(kind=LedgerAccountKind.USER_AVAILABLE, owner_id=deal.award.bounty.buyer_id), deal.amount)
        )
    total = sum((amount for _, amount in legs), Decimal(0))
    ledger_post(
        kind=LedgerTransactionKind.TRANSFER,
        idempotency_key=f"refund:{sale.pk}",
        memo=f"Refund of sale {sale.pk}: {s.refund_reason}"[:255],
        entries=[(sale.escrow_account, -total), *legs],
    )


def tokens_return(*, limit: int = 50) -> int:
    """Take the LeadNFT of each fully refunded, minted sale back to the platform's returns address
    (`LeadNFT.returnToken`, once per sale: `lead.return:<chain>:<sale>`); nft_transfers_follow then
    moves Settlement.owner_address with the Transfer, as for any transfer. Returns how many were sent."""
    due = list(
        Settlement.objects.filter(state=Settlement.State.REFUNDED, token_id__isnull=False, nft_return_tx__isnull=True)
        .order_by("id")
        .only("pk", "chain_id", "token_id")[:limit]
    )
    sent = 0
    for s in due:
        _, nft = settlement_contracts(chain_id=s.chain_id)
        prepared = chain_tx_prepare(
            to=nft,
            data=lead_nft(Web3(), nft).encode_abi(
                "returnToken", args=[int(s.token_id), platform_address(chain_id=s.chain_id)]
            ),
        )
        with transaction.atomic():
            s = (
                Settlement.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(pk=s.pk, nft_return_tx__isnull=True)
                .first()
            )
            if s is None:
                continue
            s.nft_return_tx = chain_tx_record(
                idempotency_key=f"lead.return:{s.chain_id}:{s.sale_id}", prepared=prepared
            )
            s.save(update_fields=["nft_return_tx", "updated_at"])
            sent += 1
    return sent


# ---------------------------------------------------------------- partial refund

PARTIALLY_REFUNDABLE = (Settlement.State.FUNDED, Settlement.State.MINTING, Settlement.State.MINTED)


def settlement_partial_refund(*, settlement_id: int, amount: Decimal, reason: str) -> Settlement:
    """Return `amount` (0 < amount < price) of a sale's escrow deal to its buyer: `refundDeal` on
    chain for that much (asked of the node before any lock), mirrored in the ledger once confirmed
    (`refund:<sale>:partial`); the release later splits what the deal still holds. Once per sale:
    a settlement with a partial refund already sent returns as it is. ValidationError when the
    deal is not funded or is being released or refunded."""
    s = Settlement.objects.get(pk=settlement_id)
    if s.partial_refund_tx_id is not None:
        return s
    if s.state not in PARTIALLY_REFUNDABLE:
        raise ValidationError(
            {"state": f"Only a funded sale can be partly refunded (this one is {s.get_state_display().lower()})."}
        )
    if not Decimal(0) < amount < s.amount:
        raise ValidationError({"amount": f"A partial refund is more than 0 and less than the price ({s.amount} USDC)."})
    vault, _ = settlement_contracts(chain_id=s.chain_id)
    prepared = chain_tx_prepare(to=vault, data=_vault().encode_abi("refundDeal", args=[s.sale_id, to_units(amount)]))
    with transaction.atomic():
        s = Settlement.objects.select_for_update(of=("self",)).get(pk=settlement_id)
        if s.partial_refund_tx_id is not None:
            return s
        if s.state not in PARTIALLY_REFUNDABLE:
            raise ValidationError({"state": f"The sale is {s.get_state_display().lower()}: no partial refund now."})
        s.partial_refund_tx = chain_tx_record(
            idempotency_key=f"escrow.partial_refund:{s.chain_id}:{s.sale_id}", prepared=prepared
        )
        if s.partial_refund_tx.status == FAILED:
            raise ValidationError({"state": f"The vault refused the refund: {s.partial_refund_tx.error[:200]}"})
        s.partial_refund_amount, s.refund_reason = amount, reason[:255]
        s.save(update_fields=["partial_refund_tx", "partial_refund_amount", "refund_reason", "updated_at"])
    logger.info("settlement of sale %s: partial refund sent", s.sale_id, extra={"sale_id": s.sale_id})
    return s


def _advance_partial_refunds(*, now) -> int:
    """Mirror each confirmed partial refund in the ledger once (escrow account → the buyer's
    available balance); a failed one is left for staff on the row's error."""
    done = 0
    ids = list(
        Settlement.objects.filter(
            partial_refunded_at__isnull=True, partial_refund_tx__status__in=(CONFIRMED, FAILED)
        ).values_list("pk", flat=True)[:200]
    )
    for pk in ids:
        with transaction.atomic():
            s = (
                Settlement.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("partial_refund_tx", "sale__escrow_account")
                .filter(pk=pk, partial_refunded_at__isnull=True)
                .first()
            )
            if s is None:
                continue
            if s.partial_refund_tx.status == FAILED:
                if not s.error:
                    s.error = f"partial refund transaction failed: {s.partial_refund_tx.error}"
                    s.save(update_fields=["error", "updated_at"])
                continue
            sale = s.sale
            ledger_post(
                kind=LedgerTransactionKind.TRANSFER,
                idempotency_key=f"refund:{sale.pk}:partial",
                memo=f"Partial refund of sale {sale.pk}: {s.refund_reason}"[:255],
                entries=[
                    (sale.escrow_account, -s.partial_refund_amount),
                    (
                        AccountSpec(kind=LedgerAccountKind.USER_AVAILABLE, owner_id=sale.buyer_id),
                        s.partial_refund_amount,
                    ),
                ],
            )
            s.partial_refunded_at = now
            s.save(update_fields=["partial_refunded_at", "updated_at"])
            done += 1
    return done


def _open_missing(*, now, limit: int = 20) -> int:
    """Safety net for a settle task that never ran (the broker refused it): sales recorded since
    the vault was deployed, over a minute old and still without a settlement, are settled here.
    Runs only while the node answers (the steps above would have raised), so a node outage makes
    no dead letters from here; a task replayed later finds the settlement and does nothing."""
    if not settlement_enabled():
        return 0

    chain_id = chain_id_check(chain_web3())
    deployed = (
        ContractDeployment.objects.filter(chain_id=chain_id, name="EscrowVault")
        .values_list("deployed_at", flat=True)
        .first()
    )
    if deployed is None:
        return 0
    ids = list(
        Sale.objects.filter(
            settlement__isnull=True, created_at__gte=deployed, created_at__lte=now - timedelta(seconds=60)
        )
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )
    for sale_id in ids:
        logger.warning("settlement of sale %s was never started: starting it now", sale_id)
        settlement_fund(sale_id=sale_id)
    return len(ids)


# ---------------------------------------------------------------- resales

NFT_CURSOR = "leadnft-transfers"


def nft_transfers_follow(*, max_blocks: int = 2000) -> int:
    """Follow LeadNFT transfers (a resale) into Settlement.owner_address as soon as they are
    CHAIN_CONFIRMATIONS deep, so access to the contact details moves with the token: the logs
    after a cursor (escrow.cursors.cursor_lock, "leadnft-transfers"), read under its row lock and
    applied in the transaction that moves it. Mints are skipped (the owner is set at the mint).
    Reconciliation checks the owners again every minute. Returns the transfers applied."""
    if not Settlement.objects.filter(token_id__isnull=False).exists():
        return 0  # nothing minted yet: no need to ask the node
    w3 = chain_web3()
    chain_id = chain_id_check(w3)
    record = ContractDeployment.objects.filter(chain_id=chain_id, name="LeadNFT").first()
    if record is None:
        return 0
    with chain_errors():
        safe = w3.eth.block_number - (max(settings.CHAIN_CONFIRMATIONS, 1) - 1)
    first = max(record.block_number - 1, 0)
    applied = 0
    with transaction.atomic():
        cursor = cursor_lock(chain_id=chain_id, start=first, name=NFT_CURSOR)
        start = first if cursor.block > safe else max(cursor.block, first)  # a restarted dev chain: again
        to_block = min(safe, start + max_blocks)
        if to_block <= start:
            return 0
        contract = lead_nft(w3, record.address)
        with chain_errors():
            logs = contract.events.Transfer().get_logs(from_block=start + 1, to_block=to_block)
        for log in sorted(logs, key=lambda item: (item["blockNumber"], item["logIndex"])):
            args = log["args"]
            if int(args["from"], 16) == 0:
                continue
            token = int(args["tokenId"])
            applied += Settlement.objects.filter(
                chain_id=chain_id, sale_id=token & (2**64 - 1), token_id=str(token)
            ).update(owner_address=Web3.to_checksum_address(args["to"]))
        cursor.block = to_block
        cursor.save(update_fields=["block", "updated_at"])
    if applied:
        logger.info("LeadNFT transfers: %s owner(s) updated up to block %s", applied, to_block)
    return applied
