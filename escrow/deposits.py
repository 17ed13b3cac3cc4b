"""Deposits: the vault's Deposited and Withdrawn logs, applied to the ledger exactly once; and the
development faucet.

In chain mode buyer money enters the ledger ONLY here: `vault_index` reads the EscrowVault's
logs from the block after ChainCursor("vault", chain id) up to the newest block that is
CHAIN_CONFIRMATIONS deep, and applies each one in a VaultEvent (unique on chain id, tx hash, log
index) plus its ledger post, in the SAME database transaction that moves the cursor, under a row
lock on the cursor: two workers never apply a log twice, and a crash applies all of a range or
none of it.

Reorgs: nothing is read before it is CHAIN_CONFIRMATIONS blocks deep (the block holding a log is
its first confirmation), so a reorg shallower than that never reaches the ledger. A deeper one
would leave applied events for logs that no longer exist; set CHAIN_CONFIRMATIONS above the
chain's practical reorg depth (1 on anvil; e.g. 64 on Ethereum mainnet, where blocks are final
after two epochs; more on chains with weaker finality).

Withdrawn logs: those of our own Withdrawal rows (matched by transaction hash, else by calldata
while the hash is not recorded yet) were debited when requested: the event is only recorded and
linked, and the Withdrawal completed. Any other Withdrawn (a linked wallet calling `withdraw`
itself) debits the user's available balance, never below zero: a shortfall (amount − what the
linked ledger transaction debited) is logged at error level for reconciliation.
"""

import logging
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Q
from web3 import Web3

from chain.artifacts import load_artifact
from chain.client import (
    DEV_CHAIN_ID,
    ChainMisconfigured,
    ChainUnavailable,
    chain_code_at,
    chain_enabled,
    chain_errors,
    chain_id_check,
    chain_web3,
)
from chain.deploy import DeployError, _send_call, deployer_account
from chain.models import ChainTransaction, ContractDeployment, Wallet
from chain.wallets import wallet_for
from escrow.models import ChainCursor, VaultEvent, Withdrawal
from escrow.settlement import to_units
from escrow.withdrawals import withdrawal_ledger_transaction, withdrawal_mark_completed
from marketplace.ledger import EXTERNAL, InvalidAmount, account_for, ledger_credit_user, ledger_post
from marketplace.ledger_choices import LedgerTransactionKind
from marketplace.ledger_models import LedgerAccount

logger = logging.getLogger(__name__)

VAULT_CURSOR = "vault"
USDC_UNITS = Decimal(10) ** 6
QUANTUM = Decimal("0.000001")


class VaultUnavailable(Exception):
    """The EscrowVault is not deployed on the node's chain: nothing to index."""


def _vault(w3: Web3, address: str):
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=load_artifact("EscrowVault")["abi"])


def _topic(w3: Web3, name: str) -> str:
    return _vault(w3, "0x" + "00" * 20).events[name]().topic


def from_units(units: int) -> Decimal:
    return (Decimal(units) / USDC_UNITS).quantize(QUANTUM)


# ---------------------------------------------------------------- the indexer

def cursor_lock(*, chain_id: int, start: int, name: str = VAULT_CURSOR) -> ChainCursor:
    """The indexer cursor `name` of `chain_id`, created at `start` on first use, locked
    (select_for_update). Must run inside transaction.atomic()."""
    ChainCursor.objects.get_or_create(name=name, chain_id=chain_id, defaults={"block": start})
    return ChainCursor.objects.select_for_update().get(name=name, chain_id=chain_id)


def vault_index(*, max_blocks: int = 2000) -> int:
    """Apply the vault's Deposited/Withdrawn logs that are CHAIN_CONFIRMATIONS deep, at most
    `max_blocks` blocks per call; returns how many events were applied. Idempotent; raises
    ChainUnavailable (node down) and VaultUnavailable (not deployed)."""
    w3 = chain_web3()
    chain_id = chain_id_check(w3)
    record = ContractDeployment.objects.filter(chain_id=chain_id, name="EscrowVault").first()
    if record is None:
        raise VaultUnavailable(f"EscrowVault is not deployed on chain {chain_id}")
    with chain_errors():
        head = w3.eth.block_number
    safe = head - (max(settings.CHAIN_CONFIRMATIONS, 1) - 1)
    first_possible = max(record.block_number - 1, 0)
    with transaction.atomic():
        cursor = cursor_lock(chain_id=chain_id, start=first_possible)
        if cursor.block > head:
            # Only a restarted development chain goes backwards this far: start over from the vault.
            logger.warning("vault index: cursor at block %s is past the head %s on chain %s; restarting at %s",
                           cursor.block, head, chain_id, first_possible)
            cursor.block = first_possible
        # A vault deployed again later (a re-anchored dev chain) has no logs before its deployment.
        start = max(cursor.block, first_possible)
        to_block = min(safe, start + max_blocks)
        if to_block <= start:
            if cursor.block != start:
                cursor.block = start
                cursor.save(update_fields=["block", "updated_at"])
            return 0
        vault = _vault(w3, record.address)
        deposited, withdrawn = _topic(w3, "Deposited"), _topic(w3, "Withdrawn")
        with chain_errors():
            logs = w3.eth.get_logs({"address": vault.address, "fromBlock": start + 1, "toBlock": to_block,
                                    "topics": [[deposited, withdrawn]]})
        applied = 0
        for log in sorted(logs, key=lambda item: (item["blockNumber"], item["logIndex"])):
            applied += _apply(w3, vault, log, chain_id=chain_id, deposited=deposited)
        cursor.block = to_block
        cursor.save(update_fields=["block", "updated_at"])
    if applied:
        logger.info("vault index: applied %s events up to block %s on chain %s", applied, to_block, chain_id)
    return applied


def _hex(value) -> str:
    return value.to_0x_hex() if hasattr(value, "to_0x_hex") else str(value)


def _apply(w3: Web3, vault, log, *, chain_id: int, deposited: str) -> int:
    tx_hash, log_index = _hex(log["transactionHash"]), log["logIndex"]
    if VaultEvent.objects.filter(chain_id=chain_id, tx_hash=tx_hash, log_index=log_index).exists():
        return 0
    is_deposit = _hex(log["topics"][0]) == deposited
    args = (vault.events.Deposited() if is_deposit else vault.events.Withdrawn()).process_log(log)["args"]
    event = VaultEvent(chain_id=chain_id, tx_hash=tx_hash, log_index=log_index, block_number=log["blockNumber"],
                       kind=VaultEvent.Kind.DEPOSIT if is_deposit else VaultEvent.Kind.WITHDRAWAL,
                       account=Web3.to_checksum_address(args["account"]), amount=from_units(args["amount"]))
    key = f"vault:{chain_id}:{tx_hash}:{log_index}"
    if is_deposit:
        _apply_deposit(event, key=key)
    else:
        _apply_withdrawal(w3, vault, event, key=key)
    event.save()
    return 1


def _wallet_for_address(address: str) -> Wallet | None:
    return Wallet.objects.select_related("user").filter(Q(address=address) | Q(custodial_address=address)).first()


def _apply_deposit(event: VaultEvent, *, key: str) -> None:
    wallet = _wallet_for_address(event.account)
    if wallet is None:
        logger.warning("vault deposit from an unknown address: recorded, not credited",
                       extra={"address": event.account, "tx_hash": event.tx_hash})
        return
    event.user = wallet.user
    try:
        event.ledger_transaction = ledger_credit_user(
            user=wallet.user, amount=event.amount, idempotency_key=key,
            memo=f"Vault deposit (tx {event.tx_hash[:12]}…)")
    except InvalidAmount:
        logger.error("vault deposit too large for the ledger: recorded, not credited",
                     extra={"address": event.account, "tx_hash": event.tx_hash})


def _our_withdrawal(w3: Web3, vault, event: VaultEvent) -> Withdrawal | None:
    """The Withdrawal whose transaction emitted this log: by its latest hash, else by the mined
    transaction's calldata, which holds the user's one-time signature (a re-sent transaction has
    another hash; and the hash is recorded just after broadcasting, so a fast node can mine first)."""
    locked = Withdrawal.objects.select_for_update(of=("self",)).select_related("withdraw_tx")
    found = locked.filter(withdraw_tx__tx_hash=event.tx_hash).first()
    if found is not None:
        return found
    with chain_errors():
        sent = w3.eth.get_transaction(event.tx_hash)
    if Web3.to_checksum_address(sent["to"]) != vault.address:
        return None
    tx = ChainTransaction.objects.filter(to=vault.address, data=_hex(sent["input"])).first()
    return locked.filter(withdraw_tx=tx).first() if tx is not None else None


def _apply_withdrawal(w3: Web3, vault, event: VaultEvent, *, key: str) -> None:
    withdrawal = _our_withdrawal(w3, vault, event)
    if withdrawal is not None and withdrawal.status != Withdrawal.Status.FAILED:
        event.user_id = withdrawal.user_id
        event.ledger_transaction = withdrawal_ledger_transaction(withdrawal=withdrawal)
        withdrawal_mark_completed(withdrawal=withdrawal)
        return
    wallet = _wallet_for_address(event.account)
    if wallet is None:
        logger.warning("vault withdrawal by an unknown address: recorded", extra={"address": event.account})
        return
    event.user = wallet.user
    if withdrawal is not None:
        # Failed and refunded, then mined after all (a stuck transaction): it is a payout again.
        logger.error("withdrawal %s was refunded but paid on chain: debiting again", withdrawal.pk)
        withdrawal.error = f"{withdrawal.error}\npaid on chain in {event.tx_hash} after the refund; debited again"
        withdrawal_mark_completed(withdrawal=withdrawal)
    account = account_for(user=wallet.user)
    available = LedgerAccount.objects.select_for_update().get(pk=account.pk).balance
    debit = min(event.amount, available)
    if debit > 0:
        event.ledger_transaction = ledger_post(
            kind=LedgerTransactionKind.WITHDRAWAL, idempotency_key=key,
            memo=f"Vault withdrawal on chain (tx {event.tx_hash[:12]}…)",
            entries=[(account, -debit), (EXTERNAL, debit)])
    if debit < event.amount:
        logger.error("vault withdrawal exceeds the ledger's available balance: shortfall for reconciliation",
                     extra={"user_id": wallet.user_id, "tx_hash": event.tx_hash, "log_index": event.log_index,
                            "amount": str(event.amount), "debited": str(debit),
                            "shortfall": str(event.amount - debit)})


# ---------------------------------------------------------------- the development faucet

FAUCET_LOCK_ID = 0x1EAD_FA0C  # pg advisory lock: one faucet sender at a time (one deployer nonce)


def faucet_chain_target() -> tuple[Web3, str, str] | None:
    """(web3, vault, MockUSDC) when the faucet can go on chain: a reachable development chain
    (31337) with both contracts deployed and the vault holding that token; None otherwise."""
    if not chain_enabled():
        return None
    records = dict(ContractDeployment.objects.filter(chain_id=DEV_CHAIN_ID, name__in=("EscrowVault", "MockUSDC"))
                   .values_list("name", "address"))
    if len(records) < 2:
        return None
    try:
        w3 = chain_web3()
        if chain_id_check(w3) != DEV_CHAIN_ID:
            return None
        vault, usdc = records["EscrowVault"], records["MockUSDC"]
        if not chain_code_at(w3, vault) or not chain_code_at(w3, usdc):
            return None
        with chain_errors():
            token = _vault(w3, vault).functions.token().call()
        return (w3, vault, usdc) if token == usdc else None
    except (ChainUnavailable, ChainMisconfigured):
        return None


class FaucetError(Exception):
    """The on-chain faucet could not send (the node refused or reverted)."""


def faucet_dispense(*, user, amount: Decimal, nonce: str) -> str:
    """Development test funds; returns "chain" or "ledger".

    On a development chain with the contracts deployed: mint MockUSDC to the deployer and
    `depositFor` the user's wallet (synchronously); the ledger credit then comes from the indexer.
    Otherwise (no node: the embedded profile) credit the ledger directly. A form's nonce moves
    money once either way.
    """
    target = faucet_chain_target()
    if target is None:
        ledger_credit_user(user=user, amount=amount, idempotency_key=f"faucet:{user.pk}:{nonce}",
                           memo="Test funds from the faucet", kind=LedgerTransactionKind.FAUCET)
        return "ledger"
    w3, vault_address, usdc_address = target
    once = f"faucet:chain:{user.pk}:{nonce}"
    if not cache.add(once, 1, timeout=86_400):
        return "chain"  # the same form submitted again
    wallet = wallet_for(user=user)
    units = to_units(amount)
    try:
        deployer = deployer_account(chain_id=DEV_CHAIN_ID)
        usdc = w3.eth.contract(address=usdc_address, abi=load_artifact("MockUSDC")["abi"])
        vault = _vault(w3, vault_address)
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as db:
                    db.execute("SELECT pg_advisory_xact_lock(%s)", [FAUCET_LOCK_ID])
            send = {"w3": w3, "account": deployer, "chain_id": DEV_CHAIN_ID}
            _send_call(**send, call=usdc.functions.mint(deployer.address, units))
            with chain_errors():
                allowance = usdc.functions.allowance(deployer.address, vault_address).call()
            if allowance < units:
                _send_call(**send, call=usdc.functions.approve(vault_address, 2**256 - 1))
            _send_call(**send, call=vault.functions.depositFor(wallet.address, units))
    except (ChainUnavailable, DeployError) as exc:
        cache.delete(once)
        raise FaucetError(str(exc)) from exc
    logger.info("faucet deposit sent on chain", extra={"user_id": user.pk, "address": wallet.address})
    return "chain"
