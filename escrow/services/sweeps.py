"""A user who links their own wallet keeps one vault balance: what sits at their old custodial
address is moved to the linked address on chain (EscrowVault.moveWithSig, signed with the sealed
custodial key, sent by the operator) when they link, whenever a deposit arrives there later, and
when an exit announced at the custodial address ends (until then its amount stays there).
The ledger is per user, so a move changes nothing in it. A deal is always funded from the user's
wallet address; when the money is still at the custodial address, the funding waits for the move
(`vault_address_to_fund` raises FundingDeferred and escrow.advance funds it once it arrived)."""

import logging
from decimal import Decimal

from django.db.models import Q, Sum
from web3 import Web3

from chain.artifacts import load_artifact
from chain.client import ChainMisconfigured, ChainUnavailable, chain_errors, chain_id_check, chain_web3
from chain.deploy import contract_address
from chain.models import ChainTransaction, Wallet
from chain.transactions import LIVE, chain_tx_prepare, chain_tx_record
from chain.wallets import wallet_custodial_account, wallet_for
from escrow.models import BountyDeal, Settlement
from escrow.services.withdrawals import vault_clock, vault_typed_data, withdrawal_sign
from escrow.units import to_units

logger = logging.getLogger(__name__)

MOVE_TTL_SECONDS = 3600


def _vault(w3: Web3, address: str):
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=load_artifact("EscrowVault")["abi"])


def wallet_sweep(*, user_id: int) -> ChainTransaction | None:
    """Move the vault balance at a linked user's custodial address to their wallet. Asks the node
    first (balance, nonce, gas), then records one transaction keyed by the custodial address's
    vault nonce (so it happens once per nonce); one move in flight per address. Returns the
    transaction, or None when there is nothing to move."""
    wallet = Wallet.objects.filter(user_id=user_id).first()
    if (
        wallet is None
        or wallet.kind != Wallet.Kind.LINKED
        or not wallet.custodial_address
        or wallet.encrypted_key is None
        or wallet.custodial_address == wallet.address
    ):
        return None
    w3 = chain_web3()
    chain_id = chain_id_check(w3)
    vault_address = contract_address(chain_id=chain_id, name="EscrowVault")
    if not vault_address:
        return None
    prefix = f"escrow.move:{chain_id}:{wallet.custodial_address}:"
    live = ChainTransaction.objects.filter(idempotency_key__startswith=prefix, status__in=LIVE).first()
    if live is not None:
        return live
    vault = _vault(w3, vault_address)
    with chain_errors():
        balance = vault.functions.balanceOf(wallet.custodial_address).call()
        exiting = vault.functions.exits(wallet.custodial_address).call()[0]
        nonce = vault.functions.nonces(wallet.custodial_address).call()
    # An exit announced at the custodial address keeps its amount there (the vault refuses to move
    # it: ExitPending); the rest follows once the exit is taken or cancelled (the indexer sweeps).
    # So does what deals recorded before the link are about to fund from there (their fundDeal
    # would fail if the move went first); a deal planned from there after the link is planned again
    # from the wallet (escrow.services.settlement._moved_funders).
    balance -= min(balance, exiting + _committed_units(wallet.custodial_address))
    if balance == 0:
        return None
    typed = vault_typed_data(
        primary_type="Move",
        chain_id=chain_id,
        vault=vault_address,
        account=wallet.custodial_address,
        to=wallet.address,
        amount_units=balance,
        nonce=nonce,
        deadline=vault_clock(w3) + MOVE_TTL_SECONDS,
    )
    signature = withdrawal_sign(account=wallet_custodial_account(wallet=wallet), typed_data=typed)
    data = vault.encode_abi(
        "moveWithSig",
        args=[
            wallet.custodial_address,
            wallet.address,
            balance,
            typed["message"]["deadline"],
            bytes.fromhex(signature.removeprefix("0x")),
        ],
    )
    # One key per vault nonce; a move that failed did not use the nonce up, so the next try gets
    # a fresh key for the same nonce (else it would find the failed row for ever).
    key = f"{prefix}{nonce}"
    tries = ChainTransaction.objects.filter(
        Q(idempotency_key=key) | Q(idempotency_key__startswith=f"{key}:retry")
    ).count()
    if tries:
        key = f"{key}:retry{tries}"
    tx = chain_tx_record(idempotency_key=key, prepared=chain_tx_prepare(to=vault_address, data=data))
    logger.info("custodial balance moved to the linked wallet", extra={"user_id": user_id, "chain_tx_id": tx.pk})
    return tx


def _committed_units(address: str) -> int:
    """What recorded, not yet final, fundDeal transactions take from `address` (base units)."""
    sales = Settlement.objects.filter(funding_address=address, fund_tx__status__in=LIVE).aggregate(t=Sum("amount"))
    bounties = BountyDeal.objects.filter(funder_address=address, fund_tx__status__in=LIVE).aggregate(t=Sum("amount"))
    return to_units((sales["t"] or Decimal(0)) + (bounties["t"] or Decimal(0)))


def wallet_sweep_quietly(*, user_id: int) -> None:
    """wallet_sweep after a commit: a failure is logged and retried (wallet_sweeps_retry, the next
    deposit there), never raised into the transaction that asked for it."""
    try:
        wallet_sweep(user_id=user_id)
    except Exception:  # noqa: BLE001 - retried later
        logger.warning("custodial sweep for user %s failed; retried later", user_id, exc_info=True)


def on_wallet_linked(sender, *, wallet: Wallet, **kwargs) -> None:
    """Receiver of chain.signals.wallet_linked (connected in EscrowConfig.ready)."""
    try:
        wallet_sweep(user_id=wallet.user_id)
    except (ChainUnavailable, ChainMisconfigured) as exc:
        logger.warning("custodial sweep after linking: %s (the next deposit there sweeps again)", exc)


class FundingDeferred(Exception):
    """The buyer's money is on its way to their wallet (a custodial balance being moved to the
    wallet they linked): fund the deal once it has arrived (escrow.advance tries again)."""


def vault_address_to_fund(*, user, amount: Decimal, w3: Web3, vault_address: str) -> str:
    """The address a deal of `user` is funded from: their wallet's. When a linked wallet is short
    and its old custodial address still holds money, that money is moved first (the sweep is
    recorded) and FundingDeferred is raised: funding from the custodial address instead would race
    the move of the very same balance."""
    wallet = wallet_for(user=user)
    if wallet.kind != Wallet.Kind.LINKED or not wallet.custodial_address or wallet.custodial_address == wallet.address:
        return wallet.address
    vault = _vault(w3, vault_address)
    with chain_errors():
        if vault.functions.balanceOf(wallet.address).call() >= to_units(amount):
            return wallet.address
        custodial = vault.functions.balanceOf(wallet.custodial_address).call()
    if custodial > 0 and wallet_sweep(user_id=user.pk) is not None:
        raise FundingDeferred(f"user {user.pk}: moving the custodial balance to the linked wallet first")
    return wallet.address


def wallet_sweeps_retry(*, limit: int = 20) -> int:
    """Sweep again for linked wallets whose latest move failed (a move that expired, or one that
    raced a funding): the custodial balance must not stay stranded there. Returns how many were
    tried; a node that does not answer waits for the next beat."""
    failed = ChainTransaction.objects.filter(
        idempotency_key__startswith="escrow.move:", status=ChainTransaction.Status.FAILED
    )
    addresses = {key.split(":")[2] for key in failed.order_by("-id").values_list("idempotency_key", flat=True)[:200]}
    tried = 0
    for wallet in Wallet.objects.filter(kind=Wallet.Kind.LINKED, custodial_address__in=addresses):
        latest = (
            ChainTransaction.objects.filter(
                idempotency_key__startswith="escrow.move:", idempotency_key__contains=f":{wallet.custodial_address}:"
            )
            .order_by("-id")
            .values_list("status", flat=True)
            .first()
        )
        if latest != ChainTransaction.Status.FAILED:
            continue
        try:
            wallet_sweep(user_id=wallet.user_id)
        except (ChainUnavailable, ChainMisconfigured):
            return tried
        tried += 1
        if tried >= limit:
            break
    return tried
