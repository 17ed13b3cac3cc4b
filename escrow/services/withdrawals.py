"""Withdrawals: USDC out of the vault to an address the user names.

- `withdrawal_request` first asks the node what it needs (the vault's nonce for the account, the
  gas estimate) and signs, holding no lock; then, in ONE database transaction, it debits the
  ledger (available → the user's external account), creates the Withdrawal and records the
  `EscrowVault.withdrawWithSig` transaction, which the signer pool sends after commit (we pay the
  gas). No ledger row waits on the node, and no ledger row is shared by every withdrawal.
- The vault pays only when both agree: the platform (only the operator may submit
  withdrawWithSig) and the account owner (its EIP-712 signature): for a custodial wallet we sign
  with its sealed key, a linked wallet signs in its own wallet and sends the signature.
- `withdrawal_advance` (periodic, escrow.index_vault) completes a withdrawal once its transaction
  is confirmed, or marks it failed and credits the ledger back, exactly once, when it failed.
- One withdrawal in flight per user: the signature carries the vault's nonce for the account,
  and our transactions leave from several signers in no guaranteed order, so a second signature
  made before the first is mined could be mined first and void it.
- The same idempotency key (per user) returns the same Withdrawal: money moves once.
"""

import logging
import time
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import is_checksum_address
from web3 import Web3

from chain.artifacts import load_artifact
from chain.client import ChainMisconfigured, ChainUnavailable, chain_errors, chain_id_check, chain_web3
from chain.deploy import contract_address
from chain.models import ChainTransaction, Wallet
from chain.transactions import PreparedTx, SignerError, chain_tx_prepare, chain_tx_record
from chain.wallets import wallet_custodial_account, wallet_for
from escrow.models import Withdrawal
from escrow.notices import withdrawal_paid_notify
from escrow.units import to_units
from ledger.choices import LedgerAccountKind, LedgerTransactionKind
from ledger.models import LedgerTransaction
from ledger.selectors import balance_for
from ledger.services import (
    AccountSpec,
    InsufficientFunds,
    InvalidAmount,
    check_positive_amount,
    external_for,
    ledger_post,
)

logger = logging.getLogger(__name__)

# How long a custodial signature stays valid: longer than the poller's re-sends of a stuck transaction.
SIGNATURE_TTL_SECONDS = 3600
# A linked wallet's signature must leave at least this long to get the transaction mined.
MIN_DEADLINE_MARGIN_SECONDS = 120
MAX_DEADLINE_SECONDS = 86_400
IN_FLIGHT = (Withdrawal.Status.REQUESTED, Withdrawal.Status.SENT)
TX_DONE_BAD = (ChainTransaction.Status.FAILED, ChainTransaction.Status.REPLACED)

_VAULT_MESSAGE = [
    {"name": "account", "type": "address"},
    {"name": "to", "type": "address"},
    {"name": "amount", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
WITHDRAW_TYPES = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "Withdraw": _VAULT_MESSAGE,
}


class WithdrawalUnavailable(Exception):
    """The chain is down or the vault is not deployed on it: nothing was withdrawn, try later."""


class WithdrawalConflict(Exception):
    """The idempotency key was already used for a different withdrawal."""


def ledger_key(withdrawal: Withdrawal) -> str:
    """Idempotency key of the withdrawal's ledger debit."""
    return f"withdrawal:{withdrawal.pk}"


def refund_key(withdrawal: Withdrawal) -> str:
    return f"withdrawal-refund:{withdrawal.pk}"


# ---------------------------------------------------------------- EIP-712


def vault_typed_data(
    *, primary_type: str, chain_id: int, vault: str, account: str, to: str, amount_units: int, nonce: int, deadline: int
) -> dict:
    """An EIP-712 message the EscrowVault checks (eth_signTypedData_v4 JSON): "Withdraw"
    (withdrawWithSig) or "Move" (moveWithSig); both have the same fields."""
    if primary_type not in ("Withdraw", "Move"):
        raise ValueError(f"unknown vault message {primary_type!r}")
    return {
        "types": {"EIP712Domain": WITHDRAW_TYPES["EIP712Domain"], primary_type: _VAULT_MESSAGE},
        "primaryType": primary_type,
        "domain": {
            "name": "EscrowVault",
            "version": "1",
            "chainId": chain_id,
            "verifyingContract": Web3.to_checksum_address(vault),
        },
        "message": {
            "account": Web3.to_checksum_address(account),
            "to": Web3.to_checksum_address(to),
            "amount": amount_units,
            "nonce": nonce,
            "deadline": deadline,
        },
    }


def withdrawal_typed_data(
    *, chain_id: int, vault: str, account: str, to: str, amount_units: int, nonce: int, deadline: int
) -> dict:
    """The EIP-712 message `EscrowVault.withdrawWithSig` checks (eth_signTypedData_v4 JSON)."""
    return vault_typed_data(
        primary_type="Withdraw",
        chain_id=chain_id,
        vault=vault,
        account=account,
        to=to,
        amount_units=amount_units,
        nonce=nonce,
        deadline=deadline,
    )


def withdrawal_sign(*, account: LocalAccount, typed_data: dict) -> str:
    return account.sign_typed_data(full_message=typed_data).signature.to_0x_hex()


def withdrawal_signer(*, typed_data: dict, signature: str) -> str | None:
    """The address that signed `typed_data`, or None for a malformed signature."""
    try:
        return Account.recover_message(encode_typed_data(full_message=typed_data), signature=signature)
    except Exception:  # noqa: BLE001 - malformed signatures raise several types
        return None


# ---------------------------------------------------------------- checks


def check_withdrawal_amount(amount) -> Decimal:
    """A positive Decimal with at most 6 places; ValidationError on `amount` otherwise."""
    if not isinstance(amount, Decimal):
        raise ValidationError({"amount": "Send the amount as a decimal string (USDC, up to 6 places)."})
    try:
        return check_positive_amount(amount)
    except InvalidAmount as exc:
        raise ValidationError({"amount": str(exc)}) from None


def check_to_address(to_address: str) -> str:
    if not isinstance(to_address, str) or not is_checksum_address(to_address):
        raise ValidationError({"to_address": "Not an EIP-55 checksummed address (0x… with mixed case)."})
    if int(to_address, 16) == 0:
        raise ValidationError({"to_address": "The zero address would burn the funds."})
    return to_address


def _vault(w3: Web3, address: str):
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=load_artifact("EscrowVault")["abi"])


def _chain_vault() -> tuple[Web3, int, str]:
    try:
        w3 = chain_web3()
        chain_id = chain_id_check(w3)
    except (ChainUnavailable, ChainMisconfigured) as exc:
        raise WithdrawalUnavailable("The chain is unavailable right now; nothing was withdrawn.") from exc
    vault = contract_address(chain_id=chain_id, name="EscrowVault")
    if not vault:
        raise WithdrawalUnavailable("Withdrawals are not available: the vault is not deployed on this chain.")
    return w3, chain_id, vault


def withdrawal_prepare(*, user, amount: Decimal, to_address: str, deadline: int | None = None) -> dict:
    """The typed data the user's wallet must sign for this withdrawal (for linked wallets).

    The nonce is the vault's current one for the account: sign, then request at once.
    """
    amount, to_address = check_withdrawal_amount(amount), check_to_address(to_address)
    wallet = wallet_for(user=user)
    w3, chain_id, vault = _chain_vault()
    try:
        with chain_errors():
            nonce = _vault(w3, vault).functions.nonces(wallet.address).call()
        default = vault_clock(w3) + SIGNATURE_TTL_SECONDS
    except ChainUnavailable as exc:
        raise WithdrawalUnavailable("The chain is unavailable right now.") from exc
    return withdrawal_typed_data(
        chain_id=chain_id,
        vault=vault,
        account=wallet.address,
        to=to_address,
        amount_units=to_units(amount),
        nonce=nonce,
        deadline=deadline or default,
    )


def vault_clock(w3: Web3) -> int:
    """The time a signature's deadline is judged by: the vault compares it with the block's
    timestamp, so the newest block's when the chain's clock runs ahead of ours (a development chain
    moved on by tests, or our own clock behind), else ours. Raises ChainUnavailable."""
    return max(int(time.time()), _block_time(w3))


def _block_time(w3: Web3) -> int:
    """The newest block's timestamp. Raises ChainUnavailable."""
    with chain_errors():
        return int(w3.eth.get_block("latest")["timestamp"])


# ---------------------------------------------------------------- request


def _replay(existing: Withdrawal, *, amount: Decimal, to_address: str) -> Withdrawal:
    if existing.amount != amount or existing.to_address != to_address:
        raise WithdrawalConflict("This Idempotency-Key was already used for a different withdrawal.")
    existing.replayed = True
    return existing


def _signature(*, wallet: Wallet, typed_data: dict, signature: str | None) -> str:
    if wallet.kind == Wallet.Kind.CUSTODIAL:
        return withdrawal_sign(account=wallet_custodial_account(wallet=wallet), typed_data=typed_data)
    if not signature:
        raise ValidationError(
            {
                "signature": "Your wallet is your own: sign the Withdraw typed data "
                "(POST /api/v1/withdrawals/typed-data/) and send the signature."
            }
        )
    if withdrawal_signer(typed_data=typed_data, signature=signature) != wallet.address:
        raise ValidationError(
            {
                "signature": f"Not a signature by {wallet.address} of this withdrawal "
                "(amount, address, deadline and the vault's current nonce)."
            }
        )
    return signature


def withdrawal_request(
    *,
    user,
    amount: Decimal,
    to_address: str,
    idempotency_key: str,
    signature: str | None = None,
    deadline: int | None = None,
) -> Withdrawal:
    """Accept a withdrawal: ledger debit, Withdrawal and the withdrawWithSig transaction commit
    together; the transaction is sent on commit. Raises ValidationError by field (amount,
    to_address, signature, deadline, idempotency_key, __all__), WithdrawalConflict for a key
    reused with another body, WithdrawalUnavailable when the chain or the vault is not there.
    A linked wallet must send `signature` (and the `deadline` it signed).

    Everything the node is asked (the vault nonce, the gas estimate) is asked before the
    database transaction, so no lock is held while the node answers."""
    if not idempotency_key or len(idempotency_key) > 179:
        raise ValidationError({"idempotency_key": "An idempotency key of 1 to 179 characters is required."})
    key = f"{user.pk}:{idempotency_key}"
    amount, to_address = check_withdrawal_amount(amount), check_to_address(to_address)
    existing = Withdrawal.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return _replay(existing, amount=amount, to_address=to_address)
    wallet = wallet_for(user=user)
    if wallet.kind == Wallet.Kind.LINKED:
        if deadline is None:
            raise ValidationError({"deadline": "Send the deadline (unix seconds) you signed."})
        if deadline < time.time() + MIN_DEADLINE_MARGIN_SECONDS:
            raise ValidationError({"deadline": "Expired or too close: sign again with a later deadline."})
        if deadline > time.time() + MAX_DEADLINE_SECONDS:
            # A failed payout is refunded only once its signature can no longer be used.
            raise ValidationError({"deadline": "At most a day ahead: sign again with an earlier deadline."})
    w3, chain_id, vault_address = _chain_vault()
    if to_address == Web3.to_checksum_address(vault_address):
        raise ValidationError({"to_address": "That is the vault itself: the USDC would be stranded there."})
    _check_available(user=user, amount=amount)  # a cheap read first; the debit below checks under lock
    try:
        if wallet.kind != Wallet.Kind.LINKED:
            deadline = vault_clock(w3) + SIGNATURE_TTL_SECONDS
        prepared = _prepare(
            wallet=wallet,
            amount=amount,
            to_address=to_address,
            signature=signature,
            deadline=deadline,
            w3=w3,
            chain_id=chain_id,
            vault_address=vault_address,
        )
        withdrawal = _request(
            user=user, wallet=wallet, amount=amount, to_address=to_address, key=key, prepared=prepared
        )
    except IntegrityError:
        # The same key committed concurrently (unique Withdrawal.idempotency_key): that one stands.
        existing = Withdrawal.objects.filter(idempotency_key=key).first()
        if existing is None:
            raise
        return _replay(existing, amount=amount, to_address=to_address)
    except (ChainUnavailable, SignerError) as exc:
        raise WithdrawalUnavailable("The chain is unavailable right now; nothing was withdrawn.") from exc
    if getattr(withdrawal, "replayed", False):
        return _replay(withdrawal, amount=amount, to_address=to_address)
    logger.info("withdrawal requested", extra={"withdrawal_id": withdrawal.pk, "user_id": user.pk})
    withdrawal.replayed = False
    return withdrawal


def _check_available(*, user, amount: Decimal) -> None:
    available = balance_for(user=user)["available"]
    if amount > available:
        raise ValidationError({"amount": f"More than your available balance ({available:f} USDC)."})


def _prepare(
    *,
    wallet: Wallet,
    amount: Decimal,
    to_address: str,
    signature: str | None,
    deadline: int,
    w3: Web3,
    chain_id: int,
    vault_address: str,
) -> PreparedTx:
    """The node's part, before any lock: the account's vault nonce, the signature over it, and
    the transaction's gas estimate (a revert there — the vault balance short — is a field error)."""
    vault = _vault(w3, vault_address)
    with chain_errors():
        nonce = vault.functions.nonces(wallet.address).call()
    typed = withdrawal_typed_data(
        chain_id=chain_id,
        vault=vault_address,
        account=wallet.address,
        to=to_address,
        amount_units=to_units(amount),
        nonce=nonce,
        deadline=deadline,
    )
    signed = _signature(wallet=wallet, typed_data=typed, signature=signature)
    data = vault.encode_abi(
        "withdrawWithSig",
        args=[wallet.address, to_address, to_units(amount), deadline, bytes.fromhex(signed.removeprefix("0x"))],
    )
    prepared = chain_tx_prepare(to=vault_address, data=data)
    if prepared.error:  # the estimate reverted: nothing would be paid
        if prepared.error.startswith("InsufficientBalance"):
            raise ValidationError(
                {
                    "amount": "Your vault balance on chain is lower than this amount "
                    "(deposits still confirming, or funds held for a purchase)."
                }
            )
        if prepared.error.startswith("SignatureExpired"):
            raise ValidationError({"deadline": "Expired by the chain's clock: sign again with a later deadline."})
        raise ValidationError({"__all__": f"The vault refused this withdrawal: {prepared.error[:200]}"})
    return prepared


@transaction.atomic
def _request(*, user, wallet: Wallet, amount: Decimal, to_address: str, key: str, prepared: PreparedTx) -> Withdrawal:
    # The wallet row serialises a user's requests: the in-flight check below cannot interleave
    # with another request of the same user. Nothing in here calls the node.
    wallet = Wallet.objects.select_for_update().get(pk=wallet.pk)
    existing = Withdrawal.objects.filter(idempotency_key=key).first()
    if existing is not None:  # the same key committed while we waited for the lock
        existing.replayed = True
        return existing
    if Withdrawal.objects.filter(user=user, status__in=IN_FLIGHT).exists():
        raise ValidationError({"__all__": "A withdrawal of yours is on its way; wait until it completes."})
    withdrawal = Withdrawal.objects.create(
        user=user, amount=amount, to_address=to_address, idempotency_key=key, status=Withdrawal.Status.SENT
    )
    try:
        ledger_post(
            kind=LedgerTransactionKind.WITHDRAWAL,
            idempotency_key=ledger_key(withdrawal),
            memo=f"Withdrawal {withdrawal.pk} to {to_address}",
            entries=[
                (AccountSpec(kind=LedgerAccountKind.USER_AVAILABLE, owner_id=user.pk), -amount),
                (external_for(user_id=user.pk), amount),
            ],
        )
    except InsufficientFunds as exc:
        raise ValidationError({"amount": f"More than your available balance ({exc.balance:f} USDC)."}) from None
    withdrawal.withdraw_tx = chain_tx_record(
        idempotency_key=f"escrow.withdraw:{prepared.chain_id}:{withdrawal.pk}", prepared=prepared
    )
    withdrawal.save(update_fields=["withdraw_tx"])
    return withdrawal


# ---------------------------------------------------------------- outcome


def withdrawal_mark_completed(*, withdrawal: Withdrawal) -> None:
    """Caller holds select_for_update on the withdrawal."""
    if withdrawal.status != Withdrawal.Status.COMPLETED:
        withdrawal.status = Withdrawal.Status.COMPLETED
        withdrawal.completed_at = timezone.now()
        withdrawal.save(update_fields=["status", "completed_at"])
        withdrawal_paid_notify(withdrawal=withdrawal)


def _refund(withdrawal: Withdrawal, *, error: str) -> None:
    """Mark failed and credit the ledger back (once: the idempotency key and the status change
    commit together). Caller holds select_for_update on the withdrawal."""
    ledger_post(
        kind=LedgerTransactionKind.WITHDRAWAL,
        idempotency_key=refund_key(withdrawal),
        memo=f"Withdrawal {withdrawal.pk} failed: refunded",
        entries=[
            (external_for(user_id=withdrawal.user_id), -withdrawal.amount),
            (AccountSpec(kind=LedgerAccountKind.USER_AVAILABLE, owner_id=withdrawal.user_id), withdrawal.amount),
        ],
    )
    withdrawal.status = Withdrawal.Status.FAILED
    withdrawal.error = error[:2000]
    withdrawal.save(update_fields=["status", "error"])
    logger.warning("withdrawal failed and refunded", extra={"withdrawal_id": withdrawal.pk})


def withdrawal_advance(*, limit: int = 200) -> dict:
    """Complete withdrawals whose transaction is confirmed; fail and refund those whose
    transaction failed (rows another worker holds are skipped). Idempotent. The node is asked
    for its time once, before any row is locked."""
    done = {"completed": 0, "failed": 0}
    ids = list(
        Withdrawal.objects.filter(
            status__in=IN_FLIGHT,
            withdraw_tx__status__in=(ChainTransaction.Status.CONFIRMED, *TX_DONE_BAD),
        )
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )
    if not ids:
        return done
    chain_now = None
    if Withdrawal.objects.filter(pk__in=ids).exclude(withdraw_tx__status=ChainTransaction.Status.CONFIRMED).exists():
        chain_now = _chain_time()
    for pk in ids:
        with transaction.atomic():
            withdrawal = (
                Withdrawal.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("withdraw_tx")
                .filter(pk=pk, status__in=IN_FLIGHT)
                .first()
            )
            if withdrawal is None:
                continue
            tx = withdrawal.withdraw_tx
            if tx.status == ChainTransaction.Status.CONFIRMED:
                withdrawal_mark_completed(withdrawal=withdrawal)
                done["completed"] += 1
            elif _signature_spent_or_expired(tx, chain_now=chain_now):
                _refund(withdrawal, error=f"chain transaction {tx.status}: {tx.error}")
                done["failed"] += 1
    return done


def _chain_time() -> int | None:
    """The newest block's timestamp, or None when the node does not answer."""
    try:
        return _block_time(chain_web3())
    except (ChainUnavailable, ChainMisconfigured):
        return None


def _signature_spent_or_expired(tx: ChainTransaction, *, chain_now: int | None) -> bool:
    """Whether a failed withdrawWithSig can no longer pay out, so a refund is safe: it reverted on
    chain, or its signed deadline has passed (by the chain's clock, `chain_now`). A transaction
    given up after its broadcasts (or replaced) may still sit in some node's pool and be mined
    until then; refunding earlier could pay the user twice."""
    if tx.receipt_status == 0:
        return True
    try:
        _, args = _vault(Web3(), tx.to).decode_function_input(tx.data)
        deadline = int(args["deadline"])
    except (ValueError, KeyError):
        return True  # not a withdrawWithSig: nothing signed can be replayed
    return chain_now is not None and chain_now > deadline


def withdrawal_ledger_transaction(*, withdrawal: Withdrawal) -> LedgerTransaction | None:
    return LedgerTransaction.objects.filter(idempotency_key=ledger_key(withdrawal)).first()
