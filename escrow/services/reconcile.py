"""Reconciliation: the books against the chain (escrow.reconcile, every minute).

For every settlement whose deal should be open (funded → releasing) the vault must hold exactly
its amount; for every released one it must hold nothing; every minted token must exist, and its
owner is synced into `Settlement.owner_address` (a resale moves PII access to the new owner).
The vault's total held must equal the open settlements' sum plus the bounty deals funded and not
yet released. Each difference is one open
ReconciliationIssue (staff see it in admin) until a later run finds it gone; open issues per kind
are the `leadengine_reconciliation_open_differences` gauge.
"""

import logging
from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from web3 import Web3

from chain.artifacts import load_artifact
from chain.client import chain_errors, chain_id_check, chain_web3
from chain.leadnft import lead_nft, token_id_for
from chain.models import ChainTransaction
from escrow import metrics
from escrow.models import BountyDeal, ReconciliationIssue, Settlement
from escrow.services.settlement import SettlementUnavailable, settlement_contracts, to_units

logger = logging.getLogger(__name__)

Kind = ReconciliationIssue.Kind
State = Settlement.State
OPEN_DEAL = (State.FUNDED, State.MINTING, State.MINTED, State.RELEASING)
WITH_TOKEN = (State.MINTED, State.RELEASING, State.RELEASED)
BATCH = 100
CONFIRMED = ChainTransaction.Status.CONFIRMED


def _batched(w3: Web3, calls: list) -> list:
    """Run contract calls as JSON-RPC batches of BATCH; an individual revert comes back as None."""
    results: list = []
    for start in range(0, len(calls), BATCH):
        chunk = calls[start : start + BATCH]
        with chain_errors(), w3.batch_requests() as batch:
            for call in chunk:
                batch.add(call)
            try:
                results.extend(batch.execute())
            except Exception:  # noqa: BLE001 - one revert fails the batch: fall back to single calls
                for call in chunk:
                    try:
                        results.append(call.call())
                    except Exception:  # noqa: BLE001 - e.g. ERC721NonexistentToken
                        results.append(None)
    return results


def _expected_units(s: Settlement) -> set[int]:
    """What an open deal may hold: the price, less a partial refund once mirrored; while a
    partial refund is on its way either amount is right."""
    if s.partial_refund_tx_id is None:
        return {to_units(s.amount)}
    if s.partial_refunded_at is not None:
        return {to_units(s.held_amount)}
    return {to_units(s.amount), to_units(s.held_amount)}


def reconcile(*, now=None) -> dict[str, int]:
    """One full comparison; returns open differences per kind."""
    now = now or timezone.now()
    w3 = chain_web3()
    chain_id = chain_id_check(w3)
    try:
        vault_address, nft_address = settlement_contracts(chain_id=chain_id)
    except SettlementUnavailable:
        return {}
    vault = w3.eth.contract(address=vault_address, abi=load_artifact("EscrowVault")["abi"])
    nft = lead_nft(w3, nft_address)
    found: dict[tuple[str, int | None], tuple[str, str]] = {}

    deals = list(
        Settlement.objects.filter(chain_id=chain_id, state__in=(*OPEN_DEAL, State.RELEASED))
        .only("id", "sale_id", "state", "amount", "partial_refund_amount", "partial_refund_tx", "partial_refunded_at")
        .order_by("id")
    )
    held = _batched(w3, [vault.functions.dealOf(s.sale_id) for s in deals])
    for s, result in zip(deals, held, strict=True):
        exists = result is not None and int(result[0], 16) != 0
        amount = int(result[1]) if exists else 0
        if s.state in OPEN_DEAL:
            if not exists:
                found[(Kind.ESCROW_MISSING, s.pk)] = (f"{s.amount} USDC held", "no deal")
            elif amount == 0:
                found[(Kind.ESCROW_RELEASED, s.pk)] = (f"{s.amount} USDC held", "0 held")
            elif amount not in _expected_units(s):
                found[(Kind.ESCROW_AMOUNT, s.pk)] = (f"{to_units(s.held_amount)} units", f"{amount} units")
        elif amount != 0:
            found[(Kind.ESCROW_AMOUNT, s.pk)] = ("0 units (released)", f"{amount} units")

    tokens = list(
        Settlement.objects.filter(chain_id=chain_id, state__in=WITH_TOKEN)
        .only("id", "sale_id", "buyer_address", "owner_address")
        .order_by("id")
    )
    owners = _batched(
        w3, [nft.functions.ownerOf(token_id_for(sale_id=s.sale_id, buyer=s.buyer_address)) for s in tokens]
    )
    moved = []
    for s, owner in zip(tokens, owners, strict=True):
        if not owner:
            found[(Kind.NFT_MISSING, s.pk)] = (f"token of sale {s.sale_id}", "no token")
        elif Web3.to_checksum_address(owner) != Web3.to_checksum_address(s.owner_address or s.buyer_address):
            moved.append((s, Web3.to_checksum_address(owner)))

    open_deals = Settlement.objects.filter(chain_id=chain_id, state__in=OPEN_DEAL).aggregate(
        total=Sum("amount"),
        # Partial refunds (disputes) the chain confirmed left the vault's deals.
        partial=Sum("partial_refund_amount", filter=Q(partial_refund_tx__status=CONFIRMED)),
    )
    expected = (open_deals["total"] or Decimal(0)) - (open_deals["partial"] or Decimal(0))
    expected += BountyDeal.objects.filter(settlement__chain_id=chain_id, fund_tx__status=CONFIRMED).exclude(
        release_tx__status=CONFIRMED
    ).aggregate(total=Sum("amount"))["total"] or Decimal(0)
    with chain_errors():
        total_held = int(vault.functions.totalHeld().call())
    if total_held != to_units(expected):
        found[(Kind.VAULT_BALANCE, None)] = (f"{to_units(expected)} units", f"{total_held} units")

    return _record(found, moved, chain_id=chain_id, now=now)


@transaction.atomic
def _record(found: dict, moved: list, *, chain_id: int, now) -> dict[str, int]:
    # A token that changed hands (a resale): follow it, and keep a resolved record for staff.
    for s, owner in moved:
        previous = s.owner_address or s.buyer_address
        Settlement.objects.filter(pk=s.pk).update(owner_address=owner)
        ReconciliationIssue.objects.create(
            chain_id=chain_id,
            kind=Kind.NFT_OWNER,
            settlement_id=s.pk,
            expected=previous,
            actual=owner,
            detected_at=now,
            last_seen_at=now,
            resolved_at=now,
        )
        logger.info("reconcile: token of sale %s now owned by %s", s.sale_id, owner)
    # Only the kinds this job finds: a user's shortfall is opened and resolved by escrow/services/exits.py.
    open_issues = {
        (i.kind, i.settlement_id): i
        for i in ReconciliationIssue.objects.select_for_update()
        .filter(chain_id=chain_id, resolved_at__isnull=True)
        .exclude(kind=Kind.USER_SHORTFALL)
    }
    for key, (expected, actual) in found.items():
        issue = open_issues.pop(key, None)
        if issue is None:
            ReconciliationIssue.objects.create(
                chain_id=chain_id,
                kind=key[0],
                settlement_id=key[1],
                expected=expected,
                actual=actual,
                detected_at=now,
                last_seen_at=now,
            )
            logger.error("reconcile: %s on settlement %s: expected %s, chain has %s", key[0], key[1], expected, actual)
        else:
            ReconciliationIssue.objects.filter(pk=issue.pk).update(expected=expected, actual=actual, last_seen_at=now)
    for issue in open_issues.values():  # gone since the last run
        ReconciliationIssue.objects.filter(pk=issue.pk).update(resolved_at=now)
    counts: dict[str, int] = defaultdict(int)
    for kind, _ in found:
        counts[kind] += 1
    shortfalls = ReconciliationIssue.objects.filter(
        chain_id=chain_id, kind=Kind.USER_SHORTFALL, resolved_at__isnull=True
    ).count()
    if shortfalls:
        counts[Kind.USER_SHORTFALL] = shortfalls
    for kind in Kind.values:
        metrics.RECONCILIATION_DIFFERENCES.labels(kind=kind).set(counts.get(kind, 0))
    return dict(counts)
