"""Signer pool, nonce manager and transactions keyed by an idempotency key.

- `chain_tx_submit` allocates a nonce under select_for_update on the Signer row, in the same
  database transaction that inserts the ChainTransaction row: nonces are contiguous and never
  reused, whatever the number of concurrent workers. Signing and sending happen after commit,
  outside that lock. It is `chain_tx_prepare` (the node: chain id, gas estimate) then
  `chain_tx_record` (the database only); a caller that locks ledger rows prepares first.
- `chain_tx_send` signs with the EIP-1559 policy and broadcasts; `chain_tx_poll` tracks the
  receipt and re-sends a stuck (bumped fees) or dropped transaction with the SAME nonce.
- The same idempotency key always returns the same row: a retry never sends twice.
"""

import logging
import math
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from functools import lru_cache

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.exceptions import ContractLogicError, TransactionNotFound, Web3RPCError

from chain.artifacts import artifact_names, load_artifact
from chain.client import chain_dev_keys_allowed, chain_errors, chain_id_check, chain_web3
from chain.errors import decode_revert
from chain.metrics import PENDING_TRANSACTIONS
from chain.models import ChainTransaction, Signer
from core import correlation

logger = logging.getLogger(__name__)

# anvil's dev accounts 1..5 (mnemonic "test test ... junk"): public knowledge, dev chains only.
# Account 0 deploys the contracts (chain/deploy.py) and is not a signer.
ANVIL_SIGNER_KEYS = (
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
)
# Nodes accept a replacement for a pending nonce only when both fees rise by at least 10 %
# (geth; anvil too); 12.5 % leaves a margin.
FEE_BUMP_NUM, FEE_BUMP_DEN = 1125, 1000
# Added to every estimate (+20 %): state can change between the estimate and the mining — a
# storage slot going from zero to non-zero (say, the vault's totalHeld after every deal closed
# meanwhile) costs 17,100 gas more than the estimate saw. Unused gas is not paid for.
GAS_HEADROOM = 30_000
GWEI = 10**9
LIVE = (ChainTransaction.Status.PENDING, ChainTransaction.Status.SENT)


class SignerError(Exception):
    """No signer key is configured for this chain."""


# ---------------------------------------------------------------- keys and signers


@lru_cache(maxsize=8)
def _accounts_from(keys: str) -> dict[str, LocalAccount]:
    accounts = (Account.from_key(k.strip()) for k in keys.split(",") if k.strip())
    return {a.address: a for a in accounts}


def signer_accounts(*, chain_id: int) -> dict[str, LocalAccount]:
    """address -> account for CHAIN_SIGNER_KEYS, or anvil's dev accounts 1..5 on 31337 in the
    embedded and test profiles only (chain.client.chain_dev_keys_allowed)."""
    if settings.CHAIN_SIGNER_KEYS:
        return _accounts_from(settings.CHAIN_SIGNER_KEYS)
    if chain_dev_keys_allowed(chain_id=chain_id):
        return _accounts_from(",".join(ANVIL_SIGNER_KEYS))
    raise SignerError(
        f"CHAIN_SIGNER_KEYS is required to send transactions on chain {chain_id} in the "
        f"{getattr(settings, 'PROFILE', '?')} profile (anvil's development keys stand in for it "
        f"only in the embedded and test profiles)"
    )


def _chain_id() -> int:
    return chain_id_check(chain_web3())


def signer_pool_sync(*, chain_id: int) -> list[Signer]:
    """Create a Signer row per configured key (starting at the node's pending nonce); deactivate
    rows whose key is no longer configured. Returns the active signers."""
    w3 = chain_web3()
    accounts = signer_accounts(chain_id=chain_id)
    existing = set(Signer.objects.filter(chain_id=chain_id, address__in=accounts).values_list("address", flat=True))
    for address in accounts:
        if address in existing:
            continue
        with chain_errors():
            nonce = w3.eth.get_transaction_count(address, "pending")
        try:
            with transaction.atomic():
                Signer.objects.create(address=address, chain_id=chain_id, next_nonce=nonce)
        except IntegrityError:  # another worker created it first
            pass
    Signer.objects.filter(chain_id=chain_id).exclude(address__in=accounts).update(active=False)
    Signer.objects.filter(chain_id=chain_id, address__in=accounts, active=False).update(active=True)
    return list(Signer.objects.filter(chain_id=chain_id, active=True))


def _signer_lock(*, chain_id: int) -> Signer:
    """The active signer with the fewest live transactions, locked (select_for_update).

    Signers another worker holds are skipped, so concurrent submits spread over the pool; when
    all are held, wait for the least busy one. Must run inside transaction.atomic().
    """
    candidates = list(
        Signer.objects.filter(chain_id=chain_id, active=True)
        .annotate(live=Count("transactions", filter=Q(transactions__status__in=LIVE)))
        .order_by("live", "id")
        .values_list("pk", flat=True)
    )
    if not candidates:
        raise SignerError(f"no active signer on chain {chain_id}")
    for pk in candidates:
        signer = Signer.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
        if signer is not None:
            return signer
    return Signer.objects.select_for_update().get(pk=candidates[0])


# ---------------------------------------------------------------- submit


def _abi_errors() -> list[dict]:

    return [e for name in artifact_names() for e in load_artifact(name)["abi"] if e.get("type") == "error"]


def _describe_revert(exc: BaseException) -> str:
    name, args = decode_revert(exc, _abi_errors())
    if name is None:
        return f"reverted: {exc}"[:2000]
    return f"{name}{tuple(str(a) for a in args)}"


@dataclass(frozen=True)
class PreparedTx:
    """What `chain_tx_record` needs, read from the node beforehand: the chain, the destination,
    the calldata and a gas limit — or the decoded error when the estimate reverted."""

    chain_id: int
    to: str
    data: str
    value: int
    gas_limit: int | None
    error: str = ""


def chain_tx_prepare(*, to: str, data: str = "0x", value: int = 0, gas_limit: int | None = None) -> PreparedTx:
    """The node's part of submitting (chain id, the signer pool, the gas estimate): call it before
    a transaction that locks rows, so no lock waits on the node. Raises ChainUnavailable."""
    chain_id = _chain_id()
    to = Web3.to_checksum_address(to)
    if not Signer.objects.filter(chain_id=chain_id, active=True).exists():
        signer_pool_sync(chain_id=chain_id)
    error = ""
    if gas_limit is None:
        w3 = chain_web3()
        # Estimate from any signer: balance and code paths do not depend on which one sends.
        sender = next(iter(signer_accounts(chain_id=chain_id)))
        try:
            with chain_errors():
                estimate = w3.eth.estimate_gas({"from": sender, "to": to, "data": data, "value": value})
            gas_limit = int(estimate * 6 // 5) + GAS_HEADROOM
        except ContractLogicError as exc:
            error = _describe_revert(exc)
    return PreparedTx(chain_id=chain_id, to=to, data=data, value=value, gas_limit=gas_limit, error=error)


def chain_tx_record(*, idempotency_key: str, prepared: PreparedTx) -> ChainTransaction:
    """Record a prepared transaction and send it after commit; the same key returns the existing
    row. No node call: only the database (a nonce under the signer's row lock). A prepared
    transaction whose estimate reverted is recorded `failed` with its error and no nonce."""
    existing = ChainTransaction.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    fields = dict(
        idempotency_key=idempotency_key,
        chain_id=prepared.chain_id,
        to=prepared.to,
        data=prepared.data,
        value=prepared.value,
        gas_limit=prepared.gas_limit,
        correlation_id=correlation.get() or "",
    )
    try:
        with transaction.atomic():
            if prepared.error:
                return ChainTransaction.objects.create(
                    **fields, status=ChainTransaction.Status.FAILED, error=prepared.error
                )
            signer = _signer_lock(chain_id=prepared.chain_id)
            tx = ChainTransaction.objects.create(**fields, signer=signer, nonce=signer.next_nonce)
            Signer.objects.filter(pk=signer.pk).update(next_nonce=signer.next_nonce + 1)
            transaction.on_commit(lambda: _send_after_commit(tx.pk))
    except IntegrityError:
        # The same key inserted concurrently: that row won, our nonce increment rolled back with us.
        return ChainTransaction.objects.get(idempotency_key=idempotency_key)
    return tx


def chain_tx_submit(
    *, idempotency_key: str, to: str, data: str = "0x", value: int = 0, gas_limit: int | None = None
) -> ChainTransaction:
    """Record a transaction and send it after commit; the same key returns the existing row.

    Without `gas_limit` the gas is estimated first: a transaction whose estimate reverts is
    recorded `failed` with the decoded error and no nonce (nothing is sent). Asks the node first
    (chain_tx_prepare): callers holding ledger rows use prepare and record apart.
    """
    existing = ChainTransaction.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    prepared = chain_tx_prepare(to=to, data=data, value=value, gas_limit=gas_limit)
    return chain_tx_record(idempotency_key=idempotency_key, prepared=prepared)


def _send_after_commit(tx_id: int) -> None:
    """Broadcast right after commit, in the submitting worker; if that fails, the poller
    (chain.poll_txs, every 5 s) sends the row that is still pending."""
    try:
        chain_tx_send(tx_id=tx_id)
    except Exception:  # noqa: BLE001 - the row stays pending and the poller retries it
        logger.warning("chain tx %s: send after commit failed; the poller will retry", tx_id, exc_info=True)


# ---------------------------------------------------------------- fees, signing, sending


def fee_policy(w3: Web3) -> tuple[int, int]:
    """(max fee, max priority fee) per gas: base fee x multiplier + tip, capped at CHAIN_MAX_FEE_GWEI."""
    with chain_errors():
        base = int(w3.eth.get_block("latest").get("baseFeePerGas") or 0)
    cap = settings.CHAIN_MAX_FEE_GWEI * GWEI
    tip = min(settings.CHAIN_PRIORITY_FEE_WEI, cap)
    return min(base * settings.CHAIN_BASE_FEE_MULTIPLIER + tip, cap), tip


def _bump(old: int) -> int:
    return math.ceil(old * FEE_BUMP_NUM / FEE_BUMP_DEN)


def _broadcast(tx: ChainTransaction, *, bump: bool) -> None:
    """Sign tx with fresh (or bumped) fees and broadcast it. Caller holds select_for_update on tx."""
    w3 = chain_web3()
    account = signer_accounts(chain_id=tx.chain_id).get(tx.signer.address)
    if account is None:
        raise SignerError(f"no key configured for signer {tx.signer.address}")
    max_fee, tip = fee_policy(w3)
    if tx.max_fee_per_gas is not None:
        old_fee, old_tip = int(tx.max_fee_per_gas), int(tx.max_priority_fee_per_gas)
        if bump:
            max_fee, tip = max(max_fee, _bump(old_fee)), max(tip, _bump(old_tip))
        else:  # a re-send never lowers the fees of what the node may still hold
            max_fee, tip = max(max_fee, old_fee), max(tip, old_tip)
        tip = min(tip, max_fee)
    signed = account.sign_transaction(
        {
            "type": 2,
            "chainId": tx.chain_id,
            "nonce": tx.nonce,
            "to": tx.to,
            "value": int(tx.value),
            "data": tx.data,
            "gas": tx.gas_limit,
            "maxFeePerGas": max_fee,
            "maxPriorityFeePerGas": tip,
        }
    )
    tx_hash = signed.hash.to_0x_hex()
    try:
        with chain_errors():
            w3.eth.send_raw_transaction(signed.raw_transaction)
    except (Web3RPCError, ValueError) as exc:
        message = str(exc).lower()
        if "already known" in message or "nonce too low" in message:
            # Known to the node, or this nonce is already mined (ours, or not: the poller decides).
            logger.info("chain tx %s: node says %r; treated as sent", tx.pk, message[:120])
        else:
            tx.attempts += 1
            tx.error = str(exc)[:2000]
            if tx.attempts >= settings.CHAIN_TX_MAX_ATTEMPTS:
                tx.status = ChainTransaction.Status.FAILED
            tx.save(update_fields=["attempts", "error", "status"])
            return
    tx.max_fee_per_gas, tx.max_priority_fee_per_gas = Decimal(max_fee), Decimal(tip)
    tx.tx_hash = tx_hash
    if tx_hash not in tx.tx_hashes:
        tx.tx_hashes = [*tx.tx_hashes, tx_hash]
    tx.attempts += 1
    tx.last_sent_at = timezone.now()
    tx.status = ChainTransaction.Status.SENT
    tx.save(
        update_fields=[
            "max_fee_per_gas",
            "max_priority_fee_per_gas",
            "tx_hash",
            "tx_hashes",
            "attempts",
            "last_sent_at",
            "status",
            "error",
        ]
    )


@transaction.atomic
def chain_tx_send(*, tx_id: int) -> ChainTransaction:
    """Sign and broadcast a pending transaction (no-op for one already sent or final)."""
    tx = ChainTransaction.objects.select_for_update(of=("self",)).select_related("signer").get(pk=tx_id)
    if tx.status == ChainTransaction.Status.PENDING and tx.signer_id is not None:
        _broadcast(tx, bump=False)
    return tx


# ---------------------------------------------------------------- confirmation tracking


def _receipt(w3: Web3, tx: ChainTransaction):
    """The receipt of whichever of our hashes for this nonce was mined (None: none yet)."""
    for tx_hash in reversed(tx.tx_hashes or [tx.tx_hash]):
        try:
            with chain_errors():
                return w3.eth.get_transaction_receipt(tx_hash)
        except TransactionNotFound:
            continue
    return None


def _revert_reason(w3: Web3, tx: ChainTransaction, block: int) -> str:
    """Replay the mined call on the state it ran against to decode its revert."""
    try:
        with chain_errors():
            w3.eth.call(
                {"from": tx.signer.address, "to": tx.to, "data": tx.data, "value": int(tx.value), "gas": tx.gas_limit},
                block - 1,
            )
    except ContractLogicError as exc:
        return _describe_revert(exc)
    except (Web3RPCError, ValueError) as exc:
        return f"reverted: {exc}"[:2000]
    return "reverted (no revert data on replay)"


@transaction.atomic
def chain_tx_poll(*, tx_id: int, now=None) -> ChainTransaction:
    """Confirm, fail, or re-send one live transaction (rows another poller holds are skipped)."""
    tx = (
        ChainTransaction.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("signer")
        .filter(pk=tx_id)
        .first()
    )
    if tx is None or tx.status not in LIVE or tx.signer_id is None:
        return tx or ChainTransaction.objects.get(pk=tx_id)
    if tx.status == ChainTransaction.Status.PENDING:
        _broadcast(tx, bump=False)
        return tx
    w3 = chain_web3()
    now = now or timezone.now()
    receipt = _receipt(w3, tx)
    if receipt is not None:
        with chain_errors():
            latest = w3.eth.block_number
        block = receipt["blockNumber"]
        tx.tx_hash = receipt["transactionHash"].to_0x_hex()
        tx.confirmed_block, tx.receipt_status = block, receipt["status"]
        # The block holding it is the first confirmation.
        if latest - block + 1 >= settings.CHAIN_CONFIRMATIONS:
            if receipt["status"] == 1:
                tx.status = ChainTransaction.Status.CONFIRMED
            else:
                tx.status = ChainTransaction.Status.FAILED
                tx.error = _revert_reason(w3, tx, block)
        tx.save(update_fields=["tx_hash", "confirmed_block", "receipt_status", "status", "error"])
        return tx
    try:
        with chain_errors():
            w3.eth.get_transaction(tx.tx_hash)
        in_pool = True
    except TransactionNotFound:
        in_pool = False
    if in_pool and tx.last_sent_at and now - tx.last_sent_at < timedelta(seconds=settings.CHAIN_STUCK_SECONDS):
        return tx
    if not in_pool:
        with chain_errors():
            mined_nonce = w3.eth.get_transaction_count(tx.signer.address, "latest")
        if mined_nonce > tx.nonce and _receipt(w3, tx) is None:
            # The nonce was mined by a transaction that is none of ours (the key used elsewhere).
            tx.status = ChainTransaction.Status.REPLACED
            tx.error = "nonce used by a transaction not sent by this system"
            tx.save(update_fields=["status", "error"])
            logger.error("chain tx %s: nonce %s of %s used outside this system", tx.pk, tx.nonce, tx.signer.address)
            return tx
    if tx.attempts >= settings.CHAIN_TX_MAX_ATTEMPTS:
        tx.status = ChainTransaction.Status.FAILED
        tx.error = f"not mined after {tx.attempts} broadcasts"
        tx.save(update_fields=["status", "error"])
        return tx
    # Stuck in the pool: replace with bumped fees. Dropped: broadcast again (fees never lower).
    logger.warning("chain tx %s: %s, re-sending nonce %s", tx.pk, "stuck" if in_pool else "dropped", tx.nonce)
    _broadcast(tx, bump=in_pool)
    return tx


def chain_tx_poll_pending() -> int:
    """Poll every live transaction, oldest nonce first; sets the pending-per-signer gauge."""
    ids = list(
        ChainTransaction.objects.filter(status__in=LIVE, signer__isnull=False)
        .order_by("signer_id", "nonce")
        .values_list("pk", flat=True)
    )
    for tx_id in ids:
        try:
            chain_tx_poll(tx_id=tx_id)
        except Exception:  # one bad row must not stop the sweep
            logger.exception("chain tx %s: poll failed", tx_id)
    counts = dict(
        Signer.objects.annotate(live=Count("transactions", filter=Q(transactions__status__in=LIVE))).values_list(
            "address", "live"
        )
    )
    for address, live in counts.items():
        PENDING_TRANSACTIONS.labels(signer=address).set(live)
    return len(ids)


def signer_resync(*, signer: Signer) -> list[int]:
    """Compare the node's pending nonce with `next_nonce` and fill gaps by re-sending our rows.

    Never skips a nonce: when the node is behind (our transactions dropped), our own live rows
    from the node's nonce upward are re-broadcast in order. When the node is ahead, nonces were
    spent outside this system; they are mined and cannot be reused, so `next_nonce` moves up to
    the node's mined count (no gap is created). Returns the ids re-sent.
    """
    w3 = chain_web3()
    with chain_errors():
        pending = w3.eth.get_transaction_count(signer.address, "pending")
        mined = w3.eth.get_transaction_count(signer.address, "latest")
    resent = []
    if pending < signer.next_nonce:
        for tx_id in (
            ChainTransaction.objects.filter(signer=signer, nonce__gte=pending, status__in=LIVE)
            .order_by("nonce")
            .values_list("pk", flat=True)
        ):
            with transaction.atomic():
                tx = ChainTransaction.objects.select_for_update(of=("self",)).select_related("signer").get(pk=tx_id)
                if tx.status in LIVE:
                    _broadcast(tx, bump=False)
                    resent.append(tx_id)
    with transaction.atomic():
        locked = Signer.objects.select_for_update().get(pk=signer.pk)
        if mined > locked.next_nonce:
            logger.warning(
                "signer %s: node has mined %s nonces, we had %s; moving up", locked.address, mined, locked.next_nonce
            )
            Signer.objects.filter(pk=locked.pk).update(next_nonce=mined)
    return resent
