"""The vault indexer: the EscrowVault's logs about users' free balances, applied to the ledger
exactly once; and money the platform itself puts into the vault (the development faucet, staff
credit from the treasury).

In chain mode a user's money enters and leaves the ledger ONLY here (and through withdrawals the
platform sends, escrow/services/withdrawals.py). `vault_index` works in two phases:
1. the node: read the logs from the block after ChainCursor("vault", chain id) up to the newest
   block that is CHAIN_CONFIRMATIONS deep, and the calldata of any withdrawal whose transaction
   hash we did not record — holding no lock;
2. the database: under a row lock on the cursor (and only if nobody moved it meanwhile), apply
   each log as a VaultEvent (unique on chain id, tx hash, log index) plus its ledger posts, and
   move the cursor, in ONE transaction: two workers never apply a log twice, a crash applies all
   of a range or none of it, and no ledger row is ever held while the node answers.

What each log does (escrow/services/exits.py has the exit and claim rules):
- Deposited: credits the owner of the address (`Wallet.address` or `Wallet.custodial_address`);
  an unknown address is recorded, not credited. Funds arriving at the custodial address of a
  user who linked their own wallet are moved there on chain (`wallet_sweep`), as is what an exit
  announced there kept back, once it is cancelled or taken.
- Withdrawn: our Withdrawal (by transaction hash, else by calldata) was debited when requested;
  the event completes it. Any other Withdrawn is an outflow the ledger did not see coming: a claim.
- ExitAnnounced / ExitCancelled / Exited: the exit hatch (escrow/services/exits.py).
- Moved: between two addresses of one user nothing changes in the ledger; otherwise an outflow for
  the sender and a deposit for the receiver.

Reorgs: nothing is read before it is CHAIN_CONFIRMATIONS blocks deep (the block holding a log is
its first confirmation), so a reorg shallower than that never reaches the ledger. Set
CHAIN_CONFIRMATIONS above the chain's practical reorg depth (1 on anvil; e.g. 64 on Ethereum
mainnet, where blocks are final after two epochs; more on chains with weaker finality).
"""

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
from escrow.cursors import cursor_lock
from escrow.models import ChainCursor, VaultClaim, VaultEvent, VaultExit, Withdrawal
from escrow.notices import deposit_credited_notify
from escrow.services import exits
from escrow.services.settlement import settlement_enabled
from escrow.services.sweeps import wallet_sweep_quietly
from escrow.services.withdrawals import withdrawal_ledger_transaction, withdrawal_mark_completed
from escrow.units import from_units, to_units
from ledger.choices import LedgerAccountKind, LedgerTransactionKind
from ledger.services import (
    USDC_LIMIT,
    AccountSpec,
    InvalidAmount,
    external_for,
    ledger_accounts_lock,
    ledger_credit_user,
)

logger = logging.getLogger(__name__)

VAULT_CURSOR = "vault"
EVENTS = ("Deposited", "Withdrawn", "ExitAnnounced", "ExitCancelled", "Exited", "Moved")


class VaultUnavailable(Exception):
    """The EscrowVault is not deployed on the node's chain: nothing to index."""


def _vault(w3: Web3, address: str):
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=load_artifact("EscrowVault")["abi"])


def _hex(value) -> str:
    return value.to_0x_hex() if hasattr(value, "to_0x_hex") else str(value)


# ---------------------------------------------------------------- the indexer


@dataclass
class _Log:
    """One vault log, decoded in the node phase."""

    name: str
    tx_hash: str
    log_index: int
    block_number: int
    args: dict
    # Withdrawn only: the calldata of the transaction that emitted it, when its hash is not one we
    # recorded (a re-sent transaction, or a hash recorded after the node mined it).
    tx_input: str | None = None
    # ExitAnnounced only: what the exit could pay at its block (its reserve's cap), if the node said.
    payable: Decimal | None = None


@dataclass
class _Batch:
    chain_id: int
    vault: str
    start: int
    to_block: int
    logs: list[_Log] = field(default_factory=list)


def _fetch(w3: Web3, *, chain_id: int, vault_address: str, start: int, to_block: int) -> _Batch:
    """Phase 1, no lock held: the range's logs, decoded, with what matching them needs."""
    vault = _vault(w3, vault_address)
    topics = {vault.events[name]().topic: name for name in EVENTS}
    with chain_errors():
        raw = w3.eth.get_logs(
            {"address": vault.address, "fromBlock": start + 1, "toBlock": to_block, "topics": [list(topics)]}
        )
    batch = _Batch(chain_id=chain_id, vault=vault.address, start=start, to_block=to_block)
    for log in sorted(raw, key=lambda item: (item["blockNumber"], item["logIndex"])):
        name = topics[_hex(log["topics"][0])]
        args = dict(vault.events[name]().process_log(log)["args"])
        batch.logs.append(
            _Log(
                name=name,
                tx_hash=_hex(log["transactionHash"]),
                log_index=log["logIndex"],
                block_number=log["blockNumber"],
                args=args,
            )
        )
    for entry in batch.logs:
        if entry.name == "ExitAnnounced":
            entry.payable = exits.exit_payable_read(
                chain_id=chain_id,
                account=Web3.to_checksum_address(entry.args["account"]),
                amount=from_units(min(int(entry.args["amount"]), MAX_UNITS)),
                unlocks_at=datetime.fromtimestamp(entry.args["unlocksAt"], tz=UTC),
                block=entry.block_number,
            )
    unknown = [entry for entry in batch.logs if entry.name == "Withdrawn"]
    known = set(
        ChainTransaction.objects.filter(tx_hash__in=[e.tx_hash for e in unknown]).values_list("tx_hash", flat=True)
    )
    for entry in unknown:
        if entry.tx_hash not in known:
            with chain_errors():
                sent = w3.eth.get_transaction(entry.tx_hash)
            if sent["to"] and Web3.to_checksum_address(sent["to"]) == vault.address:
                entry.tx_input = _hex(sent["input"])
    return batch


def vault_index(*, max_blocks: int = 2000) -> int:
    """Apply the vault's logs that are CHAIN_CONFIRMATIONS deep, at most `max_blocks` blocks per
    call; returns how many events were applied. Idempotent; raises ChainUnavailable (node down)
    and VaultUnavailable (not deployed)."""
    w3 = chain_web3()
    chain_id = chain_id_check(w3)
    record = ContractDeployment.objects.filter(chain_id=chain_id, name="EscrowVault").first()
    if record is None:
        raise VaultUnavailable(f"EscrowVault is not deployed on chain {chain_id}")
    with chain_errors():
        head = w3.eth.block_number
    safe = head - (max(settings.CHAIN_CONFIRMATIONS, 1) - 1)
    first_possible = max(record.block_number - 1, 0)
    ChainCursor.objects.get_or_create(name=VAULT_CURSOR, chain_id=chain_id, defaults={"block": first_possible})
    seen = ChainCursor.objects.get(name=VAULT_CURSOR, chain_id=chain_id).block
    if seen > head:
        # Only a restarted development chain goes backwards this far: start over from the vault.
        logger.warning(
            "vault index: cursor at block %s is past the head %s on chain %s; restarting at %s",
            seen,
            head,
            chain_id,
            first_possible,
        )
    # A vault deployed again later (a re-anchored dev chain) has no logs before its deployment.
    start = first_possible if seen > head else max(seen, first_possible)
    to_block = min(safe, start + max_blocks)
    batch = (
        _fetch(w3, chain_id=chain_id, vault_address=record.address, start=start, to_block=to_block)
        if to_block > start
        else _Batch(chain_id=chain_id, vault=record.address, start=start, to_block=start)
    )
    sweeps: set[int] = set()
    with transaction.atomic():
        cursor = cursor_lock(chain_id=chain_id, start=first_possible, name=VAULT_CURSOR)
        if cursor.block != seen:
            return 0  # another indexer applied this range meanwhile: the next beat goes on from there
        _lock_rows(batch)
        applied = sum(_apply(entry, batch=batch, sweeps=sweeps) for entry in batch.logs)
        if cursor.block != batch.to_block:
            cursor.block = batch.to_block
            cursor.save(update_fields=["block", "updated_at"])
        if applied:
            transaction.on_commit(exits.claims_cover_soon, robust=True)
        for user_id in sweeps:
            transaction.on_commit(lambda user_id=user_id: wallet_sweep_quietly(user_id=user_id), robust=True)
    if applied:
        logger.info("vault index: applied %s events up to block %s on chain %s", applied, batch.to_block, chain_id)
    return applied


def _lock_rows(batch: _Batch) -> None:
    """Lock what the range's events can write, before writing any of it, in the order the other
    writers take the same rows: the users' live vault claims, their announced exits and the
    withdrawals the range completes first, then every ledger row of the people concerned in one
    statement (id order). Taking ledger rows one event at a time would hold one person's rows while
    waiting for another's, and deadlock against a close that locks them in id order."""
    addresses = {entry.args.get("account") or entry.args.get("from") for entry in batch.logs}
    addresses |= {entry.args["to"] for entry in batch.logs if entry.name == "Moved"}
    addresses = {Web3.to_checksum_address(a) for a in addresses if a}
    if not addresses:
        return
    user_ids = sorted(
        set(
            Wallet.objects.filter(Q(address__in=addresses) | Q(custodial_address__in=addresses)).values_list(
                "user_id", flat=True
            )
        )
    )
    list(
        VaultClaim.objects.select_for_update()
        .filter(user_id__in=user_ids, state__in=exits.LIVE_CLAIMS)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    list(
        VaultExit.objects.select_for_update()
        .filter(chain_id=batch.chain_id, account__in=addresses, state=VaultExit.State.ANNOUNCED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    hashes = [entry.tx_hash for entry in batch.logs if entry.name == "Withdrawn"]
    inputs = [entry.tx_input for entry in batch.logs if entry.name == "Withdrawn" and entry.tx_input]
    if hashes:
        list(
            Withdrawal.objects.select_for_update(of=("self",))
            .filter(Q(withdraw_tx__tx_hash__in=hashes) | Q(withdraw_tx__to=batch.vault, withdraw_tx__data__in=inputs))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    specs = []
    for user_id in user_ids:
        specs += [
            AccountSpec(kind=LedgerAccountKind.USER_AVAILABLE, owner_id=user_id),
            AccountSpec(kind=LedgerAccountKind.USER_EXITING, owner_id=user_id),
            external_for(user_id=user_id),
        ]
    if specs:
        ledger_accounts_lock(accounts=specs)


# Amounts past what the ledger can hold (10^14 USDC) cannot be real USDC: an exit announced for
# more is only "everything" (an exit pays at most the balance); a deposit that large is recorded,
# never credited. Clamping keeps one absurd log from stopping the indexer for everyone.
MAX_UNITS = to_units(USDC_LIMIT) - 1


def _wallet_for_address(address: str) -> Wallet | None:
    return Wallet.objects.select_related("user").filter(Q(address=address) | Q(custodial_address=address)).first()


_KINDS = {
    "Deposited": VaultEvent.Kind.DEPOSIT,
    "Withdrawn": VaultEvent.Kind.WITHDRAWAL,
    "ExitAnnounced": VaultEvent.Kind.EXIT_ANNOUNCED,
    "ExitCancelled": VaultEvent.Kind.EXIT_CANCELLED,
    "Exited": VaultEvent.Kind.EXIT,
    "Moved": VaultEvent.Kind.MOVE,
}


def _apply(entry: _Log, *, batch: _Batch, sweeps: set[int]) -> int:
    """Phase 2, database only: one log, once."""
    if VaultEvent.objects.filter(chain_id=batch.chain_id, tx_hash=entry.tx_hash, log_index=entry.log_index).exists():
        return 0
    account = Web3.to_checksum_address(entry.args.get("account") or entry.args["from"])
    units = int(entry.args.get("amount", 0))
    event = VaultEvent(
        chain_id=batch.chain_id,
        tx_hash=entry.tx_hash,
        log_index=entry.log_index,
        block_number=entry.block_number,
        kind=_KINDS[entry.name],
        account=account,
        amount=from_units(min(units, MAX_UNITS)),
    )
    if units > MAX_UNITS:
        logger.error(
            "vault %s of %s units is beyond any real amount: recorded as %s USDC",
            entry.name,
            units,
            event.amount,
            extra={"address": account, "tx_hash": entry.tx_hash},
        )
        if entry.name == "Deposited":
            event.save()  # recorded, never credited
            return 1
    if entry.name == "Moved":
        event.counterparty = Web3.to_checksum_address(entry.args["to"])
    wallet = _wallet_for_address(account)
    event.user = wallet.user if wallet else None
    if wallet is None and entry.name not in ("Withdrawn", "Moved"):
        logger.warning(
            "vault %s by an unknown address: recorded only",
            entry.name,
            extra={"address": account, "tx_hash": entry.tx_hash},
        )
        event.save()
        return 1
    if entry.name == "Deposited":
        event.save()
        _apply_deposit(event, wallet=wallet, sweeps=sweeps)
    elif entry.name == "Withdrawn":
        event.save()
        _apply_withdrawal(event, wallet=wallet, tx_input=entry.tx_input, vault=batch.vault)
    elif entry.name == "ExitAnnounced":
        event.save()
        exits.exit_announced(
            event=event, unlocks_at=datetime.fromtimestamp(entry.args["unlocksAt"], tz=UTC), payable=entry.payable
        )
    elif entry.name in ("ExitCancelled", "Exited"):
        event.save()
        (exits.exit_cancelled if entry.name == "ExitCancelled" else exits.exit_taken)(event=event)
        if _custodial_of_linked(wallet, account):
            sweeps.add(wallet.user_id)  # what the exit kept at the custodial address follows the wallet
    else:
        event.save()
        _apply_move(event, sender=wallet, sweeps=sweeps)
    return 1


def _apply_deposit(event: VaultEvent, *, wallet: Wallet, sweeps: set[int]) -> None:
    try:
        event.ledger_transaction = ledger_credit_user(
            user=wallet.user,
            amount=event.amount,
            idempotency_key=_key(event),
            memo=f"Vault deposit (tx {event.tx_hash[:12]}…)",
        )
    except InvalidAmount:
        logger.error(
            "vault deposit too large for the ledger: recorded, not credited",
            extra={"address": event.account, "tx_hash": event.tx_hash},
        )
        return
    event.save(update_fields=["ledger_transaction"])
    deposit_credited_notify(user_id=wallet.user_id, event_id=event.pk, amount=event.amount)
    if _custodial_of_linked(wallet, event.account):
        sweeps.add(wallet.user_id)  # money sent to the old custodial address follows the user's wallet


def _custodial_of_linked(wallet: Wallet, address: str) -> bool:
    return wallet.kind == Wallet.Kind.LINKED and address == wallet.custodial_address != wallet.address


def _key(event: VaultEvent) -> str:
    return f"vault:{event.chain_id}:{event.tx_hash}:{event.log_index}"


def _our_withdrawal(event: VaultEvent, *, tx_input: str | None, vault: str) -> Withdrawal | None:
    """The Withdrawal whose transaction emitted this log: by its latest hash, else by the mined
    transaction's calldata, which holds the user's one-time signature (a re-sent transaction has
    another hash; and the hash is recorded just after broadcasting, so a fast node can mine first)."""
    locked = Withdrawal.objects.select_for_update(of=("self",)).select_related("withdraw_tx")
    found = locked.filter(withdraw_tx__tx_hash=event.tx_hash).first()
    if found is not None or tx_input is None:
        return found
    tx = ChainTransaction.objects.filter(to=vault, data=tx_input).first()
    return locked.filter(withdraw_tx=tx).first() if tx is not None else None


def _apply_withdrawal(event: VaultEvent, *, wallet: Wallet | None, tx_input: str | None, vault: str) -> None:
    withdrawal = _our_withdrawal(event, tx_input=tx_input, vault=vault)
    if withdrawal is not None and withdrawal.status != Withdrawal.Status.FAILED:
        event.user_id = withdrawal.user_id
        event.ledger_transaction = withdrawal_ledger_transaction(withdrawal=withdrawal)
        event.save(update_fields=["user", "ledger_transaction"])
        withdrawal_mark_completed(withdrawal=withdrawal)
        return
    if wallet is None:
        logger.warning("vault withdrawal by an unknown address: recorded", extra={"address": event.account})
        return
    if withdrawal is not None:
        # Failed and refunded, then mined after all (a stuck transaction): it is a payout again.
        logger.error("withdrawal %s was refunded but paid on chain: claimed again", withdrawal.pk)
        withdrawal.error = f"{withdrawal.error}\npaid on chain in {event.tx_hash} after the refund; claimed again"
        withdrawal_mark_completed(withdrawal=withdrawal)
    else:
        logger.error(
            "vault withdrawal the platform did not send: claimed from the user's balance",
            extra={"user_id": wallet.user_id, "tx_hash": event.tx_hash},
        )
    exits.claim_open(user=wallet.user, purpose=exits.OUTFLOW, amount=event.amount, event=event)


def _apply_move(event: VaultEvent, *, sender: Wallet | None, sweeps: set[int]) -> None:
    receiver = _wallet_for_address(event.counterparty)
    if sender is not None and receiver is not None and sender.user_id == receiver.user_id:
        return  # between two addresses of one user (a sweep to the linked wallet): the ledger is per user
    if sender is not None:
        exits.claim_open(user=sender.user, purpose=exits.OUTFLOW, amount=event.amount, event=event)
    if receiver is not None:
        event.user = receiver.user
        event.ledger_transaction = ledger_credit_user(
            user=receiver.user,
            amount=event.amount,
            idempotency_key=_key(event),
            memo=f"Moved in the vault from {event.account[:10]}… (tx {event.tx_hash[:12]}…)",
        )
        event.save(update_fields=["user", "ledger_transaction"])


# ---------------------------------------------------------------- the platform's own deposits

FAUCET_LOCK_ID = 0x1EAD_FA0C  # pg advisory lock: one treasury sender at a time (one nonce)


def faucet_chain_target() -> tuple[Web3, str, str] | None:
    """(web3, vault, MockUSDC) when the faucet can go on chain: a reachable development chain
    (31337) with both contracts deployed and the vault holding that token; None otherwise."""
    if not chain_enabled():
        return None
    records = dict(
        ContractDeployment.objects.filter(chain_id=DEV_CHAIN_ID, name__in=("EscrowVault", "MockUSDC")).values_list(
            "name", "address"
        )
    )
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
    """The on-chain faucet could not send (the node refused or reverted), or the marketplace
    settles on chain and no development chain is there to back the money."""


def treasury_deposit_for(*, user, amount: Decimal, once: str, mint: bool) -> str:
    """Deposit `amount` USDC into the vault for the user's wallet from the platform treasury
    (`CHAIN_DEPLOYER_KEY`'s account; MockUSDC minted first when `mint`, dev chains only), and
    return the vault address it went to. The ledger credit comes from the indexer once the
    deposit is confirmed, so the ledger never holds money the vault does not. `once` (a cache
    key) makes a resubmitted form send nothing. Raises FaucetError."""
    target = faucet_chain_target() if mint else _treasury_target()
    if target is None:
        raise FaucetError("No chain to deposit on: the vault is not deployed or the node does not answer.")
    w3, vault_address, usdc_address = target
    if not cache.add(once, 1, timeout=86_400):
        return vault_address  # the same form submitted again
    wallet = wallet_for(user=user)
    units = to_units(amount)
    sent = None  # the depositFor's hash once it was broadcast: from then on it may be mined
    try:
        chain_id = chain_id_check(w3)
        treasury = deployer_account(chain_id=chain_id)
        usdc = w3.eth.contract(address=usdc_address, abi=load_artifact("MockUSDC")["abi"])
        vault = _vault(w3, vault_address)
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as db:
                    db.execute("SELECT pg_advisory_xact_lock(%s)", [FAUCET_LOCK_ID])
            send = {"w3": w3, "account": treasury, "chain_id": chain_id}
            if mint:
                _send_call(**send, call=usdc.functions.mint(treasury.address, units))
            with chain_errors():
                allowance = usdc.functions.allowance(treasury.address, vault_address).call()
            if allowance < units:
                _send_call(**send, call=usdc.functions.approve(vault_address, 2**256 - 1))
            with chain_errors():
                tx = vault.functions.depositFor(wallet.address, units).build_transaction(
                    {
                        "from": treasury.address,
                        "chainId": chain_id,
                        "nonce": w3.eth.get_transaction_count(treasury.address, "pending"),
                    }
                )
                sent = w3.eth.send_raw_transaction(treasury.sign_transaction(tx).raw_transaction)
                receipt = w3.eth.wait_for_transaction_receipt(sent, timeout=settings.CHAIN_RPC_TIMEOUT * 6)
            if receipt["status"] != 1:
                raise DeployError(f"the deposit {sent.to_0x_hex()} reverted")
    except (ChainUnavailable, DeployError) as exc:
        if sent is None:  # nothing left the treasury: the same form may try again
            cache.delete(once)
            raise FaucetError(str(exc)) from exc
        # Broadcast, then no receipt in time: it may still be mined. The form's key stays used, so
        # a resubmission cannot deposit twice; the indexer credits it when (if) it confirms.
        raise FaucetError(
            f"the deposit was sent ({sent.to_0x_hex()}) but is not confirmed yet; it is credited "
            "when it confirms — do not send it again"
        ) from exc
    logger.info("treasury deposit sent on chain", extra={"user_id": user.pk, "address": wallet.address})
    return vault_address


def _treasury_target() -> tuple[Web3, str, str] | None:
    """(web3, vault, USDC) of the chain the marketplace settles on, when the vault is deployed."""
    try:
        w3 = chain_web3()
        chain_id = chain_id_check(w3)
    except (ChainUnavailable, ChainMisconfigured):
        return None
    vault = (
        ContractDeployment.objects.filter(chain_id=chain_id, name="EscrowVault")
        .values_list("address", flat=True)
        .first()
    )
    if not vault:
        return None
    with chain_errors():
        token = _vault(w3, vault).functions.token().call()
    return w3, vault, Web3.to_checksum_address(token)


def faucet_dispense(*, user, amount: Decimal, nonce: str) -> str:
    """Development test funds; returns "chain" or "ledger".

    On a development chain with the contracts deployed: mint MockUSDC to the treasury and
    `depositFor` the user's wallet (synchronously); the ledger credit then comes from the indexer.
    With no chain configured at all (CHAIN_RPC_URL empty) credit the ledger directly. When the
    marketplace settles on chain but no development chain answers, refuse (FaucetError): a ledger
    credit there would be money the vault does not hold. A form's nonce moves money once."""
    if faucet_chain_target() is None:
        if settlement_enabled():
            raise FaucetError(
                "Test funds come from the development chain, and it is not running: start it "
                "(make run starts anvil) and try again."
            )
        ledger_credit_user(
            user=user,
            amount=amount,
            idempotency_key=f"faucet:{user.pk}:{nonce}",
            memo="Test funds from the faucet",
            kind=LedgerTransactionKind.FAUCET,
        )
        return "ledger"
    treasury_deposit_for(user=user, amount=amount, once=f"faucet:chain:{user.pk}:{nonce}", mint=True)
    return "chain"
