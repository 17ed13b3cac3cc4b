"""A randomized sequence of money operations from several threads against anvil and PostgreSQL,
then the ledger ≡ vault checks. Run by tests/escrow/test_ledger_vault.py (2,000 operations in
`make test`) and by the `ledger_vault` bench suite (10,000 in `make bench`).

Operations, each by a random user from a seeded generator per thread: deposits (depositFor from a
payer), bids and raises, buy-now, withdrawals the platform sends, attempted direct withdrawals
(the account calling withdrawWithSig or exit() itself: must revert), exit announcements,
cancellations and exits taken (the chain's clock moved past the delay), auctions listed and
closed, staff refunds of funded sales. One more thread plays the platform's beat the whole time:
chain transactions polled, settlements advanced (funded, minted, released after a zero-hour
dispute window), the vault indexed, withdrawals completed, claims covered.

Ops of one user are serialised by a per-user lock (a person does one thing at a time), and an
exit is taken only when the user has no sale waiting to be funded and no standing bid: the trust
model's premise that the platform funds what a user won within the exit delay (docs/settlement.md).

Afterwards, quiet: open auctions closed, the beat run until nothing moves. Then for every user the
ledger's available + held + exiting + own bounty pools equals the vault's free balance of their
addresses; the platform fee account equals the platform address's vault balance; every deal on
chain equals its sale's escrow account (and bounty deals theirs); the vault's token balance is its
free balances plus what deals hold; no settlement failed; no claim is short; `ledger_check` passes.
"""

import random
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from eth_account import Account
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError

D = Decimal
USDC = 10**6


@dataclass
class SequenceResult:
    seed: int
    operations: int
    counts: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)  # unexpected exceptions, with tracebacks
    differences: list[str] = field(default_factory=list)  # ledger ≠ vault after the run
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors and not self.differences

    def report(self) -> str:
        lines = [
            f"seed {self.seed}: {self.operations} operations in {self.seconds:.1f} s",
            "counts: " + ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items())),
        ]
        lines += [f"ERROR {e}" for e in self.errors[:10]]
        lines += [f"DIFFERENCE {d}" for d in self.differences[:400]]
        return "\n".join(lines)


class _World:
    """The users, contracts and helpers the threads share."""

    def __init__(self, *, buyers: int, sellers: int, rng: random.Random):
        from chain.client import chain_web3
        from chain.deploy import platform_address
        from chain.wallets import wallet_for
        from tests.auctions.factories import make_vertical
        from tests.escrow.settlement_helpers import contract, deploy
        from tests.factories import UserFactory

        deploy()
        self.w3 = chain_web3()
        self.vault = contract(self.w3, "EscrowVault")
        self.usdc = contract(self.w3, "MockUSDC")
        self.platform = platform_address(chain_id=31337)
        self.buyers = [UserFactory(is_buyer=True) for _ in range(buyers)]
        self.sellers = [UserFactory(is_seller=True) for _ in range(sellers)]
        for user in self.buyers + self.sellers:
            wallet_for(user=user)
        self.verticals = [
            make_vertical(reserve_price=D("5"), dispute_window_hours=0, auction_duration_seconds=3600) for _ in range(2)
        ]
        self.locks = {u.pk: threading.Lock() for u in self.buyers + self.sellers}
        self.own_keys: dict[int, object] = {}  # user id -> the key of the wallet they linked
        self.clock_lock = threading.Lock()
        self.rng = rng

    def addresses(self, user) -> set[str]:
        from chain.wallets import wallet_for

        wallet = wallet_for(user=user)
        return {a for a in (wallet.address, wallet.custodial_address) if a}


class _Payer:
    """A funded key of its own per thread (no nonce shared with another thread)."""

    def __init__(self, world: _World):
        self.world = world
        self.account = Account.create()
        world.w3.provider.make_request("anvil_setBalance", [self.account.address, hex(10**20)])
        self.approved = False

    def deposit_for(self, address: str, amount: Decimal) -> None:
        units = int(amount * USDC)
        _send(self.world.w3, self.account, self.world.usdc.functions.mint(self.account.address, units))
        if not self.approved:
            _send(self.world.w3, self.account, self.world.usdc.functions.approve(self.world.vault.address, 2**256 - 1))
            self.approved = True
        _send(
            self.world.w3, self.account, self.world.vault.functions.depositFor(Web3.to_checksum_address(address), units)
        )


def _send(w3, account, call) -> None:
    """Sign and send `call` from `account`, wait for its receipt (anvil mines at once: poll fast).
    A revert raises the decoded custom error (from the gas estimate)."""
    tx = call.build_transaction(
        {"from": account.address, "chainId": 31337, "nonce": w3.eth.get_transaction_count(account.address, "pending")}
    )
    tx_hash = w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60, poll_latency=0.005)
    assert receipt["status"] == 1, f"{tx_hash.to_0x_hex()} reverted"


def _key_of(world: _World, user):
    """The key of the user's address: the wallet they linked, else the custodial one."""
    from chain.wallets import wallet_custodial_account, wallet_for

    return world.own_keys.get(user.pk) or wallet_custodial_account(wallet=wallet_for(user=user))


def _as_user(world: _World, user, call, *, account=None) -> None:
    """The user's own address (or `account`, another key of theirs) sends `call` (gas topped up)."""
    account = account or _key_of(world, user)
    world.w3.provider.make_request("anvil_setBalance", [account.address, hex(10**18)])
    _send(world.w3, account, call)


# ---------------------------------------------------------------- operations


def _amount(rng: random.Random, low: int, high: int) -> Decimal:
    return D(rng.randint(low * 100, high * 100)) / 100


def op_deposit(world, rng, payer, user, counts):
    from chain.wallets import wallet_for

    payer.deposit_for(wallet_for(user=user).address, _amount(rng, 50, 400))
    counts["deposit"] += 1


def op_list(world, rng, payer, user, counts):
    from auctions.services.auctions import auction_open
    from tests.auctions.factories import make_scored_lead

    lead = make_scored_lead(seller=rng.choice(world.sellers), vertical=rng.choice(world.verticals))
    auction_open(lead_id=lead.pk)
    counts["auction listed"] += 1


def _open_auctions():
    from auctions.choices import AuctionStatus
    from auctions.models import Auction

    return list(Auction.objects.filter(status=AuctionStatus.OPEN).values_list("pk", flat=True)[:50])


def op_bid(world, rng, payer, user, counts):
    from auctions.models import AuctionBidder
    from auctions.services.auctions import BidRejected, bid_place

    auctions = _open_auctions()
    if not auctions:
        return op_list(world, rng, payer, user, counts)
    auction_id = rng.choice(auctions)
    mine = AuctionBidder.objects.filter(auction_id=auction_id, buyer=user, withdrawn_at__isnull=True).first()
    base = mine.max_amount if mine else D("5")
    try:
        bid_place(auction_id=auction_id, buyer=user, max_amount=base + _amount(rng, 1, 40))
        counts["raise" if mine else "bid"] += 1
    except BidRejected as exc:
        counts[f"bid refused ({exc.code})"] += 1


def op_close(world, rng, payer, user, counts):
    auctions = _open_auctions()
    if not auctions:
        return
    _close_now(rng.choice(auctions))
    counts["close"] += 1


def _close_now(auction_id: int) -> None:
    """The auction's time is up now (its deadline brought forward), and it closes."""
    from auctions.models import Auction
    from auctions.services.auctions import auction_close

    now = timezone.now()
    Auction.objects.filter(pk=auction_id, status="open", deadline__gt=now).update(deadline=now)
    auction_close(auction_id=auction_id, now=now)


def op_buy_now(world, rng, payer, user, counts):
    from auctions.choices import BuyNowStatus
    from auctions.models import BuyNowListing
    from auctions.services.buynow import BuyNowRefused, buy_now_purchase

    listings = list(BuyNowListing.objects.filter(status=BuyNowStatus.OPEN).values_list("pk", flat=True)[:20])
    if not listings:
        return op_close(world, rng, payer, user, counts)
    try:
        buy_now_purchase(listing_id=rng.choice(listings), buyer=user)
        counts["buy-now"] += 1
    except BuyNowRefused as exc:
        counts[f"buy-now refused ({exc.code})"] += 1


def op_withdraw(world, rng, payer, user, counts):
    from escrow.services.withdrawals import (
        WithdrawalUnavailable,
        withdrawal_prepare,
        withdrawal_request,
        withdrawal_sign,
    )

    amount, extra = _amount(rng, 1, 60), {}
    try:
        if user.pk in world.own_keys:  # a linked wallet signs its own withdrawal
            typed = withdrawal_prepare(user=user, amount=amount, to_address=payer.account.address)
            extra = {
                "signature": withdrawal_sign(account=world.own_keys[user.pk], typed_data=typed),
                "deadline": typed["message"]["deadline"],
            }
        withdrawal_request(
            user=user, amount=amount, to_address=payer.account.address, idempotency_key=f"seq-{rng.random()}", **extra
        )
        counts["withdrawal" if not extra else "withdrawal (linked wallet)"] += 1
    except ValidationError as exc:
        counts[f"withdrawal refused ({next(iter(exc.message_dict))})"] += 1
    except WithdrawalUnavailable:
        counts["withdrawal refused (chain)"] += 1


def op_direct_withdraw(world, rng, payer, user, counts):
    """The account tries to take money out alone: withdrawWithSig without the platform, or exit()
    with no exit announced. The vault must refuse both. (With an exit announced, exit() is the
    legitimate way out: op_exit, which keeps the trust model's premise.)"""
    from chain.wallets import wallet_for

    address = wallet_for(user=user).address
    if rng.random() < 0.5 and world.vault.functions.exits(address).call()[0]:
        return op_exit(world, rng, payer, user, counts)
    attempt = rng.choice(["withdrawWithSig", "exit"])
    if attempt == "exit" and world.vault.functions.exits(address).call()[0]:
        attempt = "withdrawWithSig"
    call = (
        world.vault.functions.withdrawWithSig(address, address, USDC, 2**40, b"\x00" * 65)
        if attempt == "withdrawWithSig"
        else world.vault.functions.exit()
    )
    try:
        _as_user(world, user, call)
    except (ContractCustomError, ContractLogicError):
        counts["direct withdrawal refused by the vault"] += 1
        return
    raise AssertionError(f"the vault paid {address} without the platform ({attempt})")


def _owes_the_chain(user) -> bool:
    """A sale of the user's still waiting to be funded, or a standing bid that could become one."""
    from auctions.models import AuctionBidder, Bounty, BountyAward, Sale
    from escrow.models import BountyDeal, Settlement

    waiting = (
        Sale.objects.filter(buyer=user)
        .exclude(
            settlement__state__in=(
                Settlement.State.FUNDED,
                Settlement.State.MINTING,
                Settlement.State.MINTED,
                Settlement.State.RELEASING,
                Settlement.State.RELEASED,
                Settlement.State.REFUNDING,
                Settlement.State.REFUNDED,
            )
        )
        .exists()
    )
    standing = AuctionBidder.objects.filter(
        buyer=user, released_at__isnull=True, withdrawn_at__isnull=True, auction__status="open"
    ).exists()
    pools = Bounty.objects.filter(buyer=user).exclude(status="closed").exists()
    awards = (
        BountyDeal.objects.filter(award__bounty__buyer=user)
        .exclude(fund_tx__status__in=("confirmed", "failed", "replaced"))
        .exists()
        or BountyAward.objects.filter(bounty__buyer=user, bounty_deal__isnull=True)
        .exclude(sale__settlement__state="refunded")
        .exists()
    )
    return waiting or standing or pools or awards


def _settle_up(user, rng) -> bool:
    """What a user leaving the vault does first (the exit delay gives them days in real life):
    withdraw their bounties, let the auctions they bid on close, and wait for their won sales to be
    funded by the platform's beat. False when that did not finish in time."""
    from auctions.models import AuctionBidder, Bounty
    from auctions.services.bounties import bounty_withdraw

    for bounty in Bounty.objects.filter(buyer=user).exclude(status="closed"):
        bounty_withdraw(bounty=bounty, idempotency_key=f"seq-leave-{rng.random()}")
    for auction_id in list(
        AuctionBidder.objects.filter(
            buyer=user, released_at__isnull=True, withdrawn_at__isnull=True, auction__status="open"
        ).values_list("auction_id", flat=True)
    ):
        _close_now(auction_id)
    try:
        _wait(lambda: not _owes_the_chain(user), timeout=30)
    except AssertionError:
        return False
    return True


def op_announce(world, rng, payer, user, counts):
    """Announce an exit. The test vaults' delay is 2 s (and other threads move the clock on), far
    shorter than a real one: the premise that the delay outlasts what the user already owes the
    chain is kept by settling up first, and by waiting for the platform to have seen the
    announcement before this user does anything else."""
    from chain.wallets import wallet_for
    from escrow.models import VaultEvent
    from ledger.selectors import balance_for

    if not _settle_up(user, rng):
        counts["exit deferred (funding or bids pending)"] += 1
        return
    total = balance_for(user=user)["total"]
    amount = _amount(rng, 1, max(2, int(total) + 20))
    seen = VaultEvent.objects.filter(account=wallet_for(user=user).address, kind="exit_announced").count()
    _as_user(world, user, world.vault.functions.announceExit(int(amount * USDC)))
    _wait(
        lambda: VaultEvent.objects.filter(account=wallet_for(user=user).address, kind="exit_announced").count() > seen
    )
    counts["exit announced"] += 1


def _wait(predicate, timeout: float = 60.0) -> None:
    """Poll another thread's progress (the platform's beat), bounded."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("the platform's beat did not apply the event in time")
        time.sleep(0.05)


def _custodial_exit(world, rng, user):
    """For a user who linked a wallet after announcing an exit at their custodial address, that
    address's key, half the time (the exit pays what that address still holds)."""
    from chain.wallets import wallet_custodial_account, wallet_for

    wallet = wallet_for(user=user)
    custodial = wallet.custodial_address
    if (
        user.pk in world.own_keys
        and custodial
        and rng.random() < 0.5
        and world.vault.functions.exits(custodial).call()[0]
    ):
        return wallet_custodial_account(wallet=wallet)
    return None


def op_cancel(world, rng, payer, user, counts):
    from chain.wallets import wallet_for

    custodial = _custodial_exit(world, rng, user)
    if custodial is not None:
        _as_user(world, user, world.vault.functions.cancelExit(), account=custodial)
        counts["exit cancelled (custodial address)"] += 1
        return
    if not world.vault.functions.exits(wallet_for(user=user).address).call()[0]:
        return op_announce(world, rng, payer, user, counts)
    _as_user(world, user, world.vault.functions.cancelExit())
    counts["exit cancelled"] += 1


def op_exit(world, rng, payer, user, counts):
    """Take an announced exit. First the user settles up, as the exit delay lets them in real life:
    their bounties withdrawn, the auctions they bid on closed, and their won sales funded (the
    platform's beat does that; waited for, bounded)."""
    from chain.wallets import wallet_for

    custodial = _custodial_exit(world, rng, user)
    if custodial is None and not world.vault.functions.exits(wallet_for(user=user).address).call()[0]:
        return op_announce(world, rng, payer, user, counts)
    if not _settle_up(user, rng):
        counts["exit deferred (funding or bids pending)"] += 1
        return
    with world.clock_lock:
        world.w3.provider.make_request("evm_increaseTime", [3])
        world.w3.provider.make_request("evm_mine", [])
    try:
        _as_user(world, user, world.vault.functions.exit(), account=custodial)
    except (ContractCustomError, ContractLogicError):  # nothing free at that address (all in deals)
        counts["exit refused (nothing free)"] += 1
        return
    counts["exit taken" if custodial is None else "exit taken (custodial address)"] += 1


def op_bounty(world, rng, payer, user, counts):
    """Fund a small bounty (its pool stays in the funder's vault balance until an award is paid on
    chain), or withdraw what is left of one."""
    from auctions.models import Bounty
    from auctions.services.bounties import BountyConflict, bounty_create, bounty_withdraw

    open_ = Bounty.objects.filter(buyer=user).exclude(status="closed").first()
    try:
        if open_ is not None and rng.random() < 0.4:
            bounty_withdraw(bounty=open_, idempotency_key=f"seq-{rng.random()}")
            counts["bounty withdrawn"] += 1
            return
        bounty_create(
            buyer=user,
            vertical=rng.choice(world.verticals),
            name="sequence",
            amount_per_lead=_amount(rng, 1, 3),
            amount=_amount(rng, 3, 20),
            idempotency_key=f"seq-{rng.random()}",
        )
        counts["bounty funded"] += 1
    except (ValidationError, BountyConflict):
        counts["bounty refused"] += 1


def op_link(world, rng, payer, user, counts):
    """Link an own wallet (Sign-In with Ethereum): the custodial balance follows it on chain."""
    from chain import wallets
    from tests.chain.test_wallets import _sign, _siwe

    if user.pk in world.own_keys:
        return op_deposit(world, rng, payer, user, counts)
    own = Account.create()
    message = _siwe(address=own.address, nonce=wallets.siwe_nonce_issue(user=user))
    wallets.siwe_message_check_and_link(user=user, message=message, signature=_sign(own, message), domain="testserver")
    world.own_keys[user.pk] = own
    counts["wallet linked"] += 1


def op_refund(world, rng, payer, user, counts):
    from escrow.models import Settlement
    from escrow.services.settlement import REFUNDABLE, settlement_refund

    ids = list(Settlement.objects.filter(state__in=REFUNDABLE).values_list("pk", flat=True)[:20])
    if not ids:
        return
    try:
        settlement_refund(settlement_id=rng.choice(ids), reason="sequence test")
        counts["refund"] += 1
    except ValidationError:
        counts["refund refused (state moved on)"] += 1


BUYER_OPS = [
    (op_deposit, 14),
    (op_bid, 30),
    (op_buy_now, 6),
    (op_withdraw, 6),
    (op_direct_withdraw, 4),
    (op_announce, 3),
    (op_cancel, 2),
    (op_exit, 3),
    (op_bounty, 3),
    (op_link, 1),
]
ANY_OPS = [(op_list, 10), (op_close, 12), (op_refund, 2)]


# ---------------------------------------------------------------- the platform's beat


def _beat() -> None:
    from chain.transactions import chain_tx_poll_pending
    from escrow.services.deposits import vault_index
    from escrow.services.exits import claims_cover
    from escrow.services.settlement import settlement_advance
    from escrow.services.withdrawals import withdrawal_advance

    chain_tx_poll_pending()
    settlement_advance()
    vault_index()
    withdrawal_advance()
    claims_cover()


def _busy() -> list[str]:
    """What is still moving (empty when the system is quiet)."""
    from auctions.models import Sale
    from chain.models import ChainTransaction
    from escrow.models import Settlement, VaultClaim, Withdrawal

    busy = []
    live = ChainTransaction.objects.filter(status__in=("pending", "sent")).count()
    if live:
        busy.append(f"{live} chain transactions live")
    moving = Counter(
        Settlement.objects.exclude(
            state__in=(Settlement.State.RELEASED, Settlement.State.REFUNDED, Settlement.State.FAILED)
        ).values_list("state", flat=True)
    )
    if moving:
        busy.append("settlements under way: " + ", ".join(f"{n} {state}" for state, n in sorted(moving.items())))
    unsettled = Sale.objects.filter(settlement__isnull=True).count()
    if unsettled:
        busy.append(f"{unsettled} sales without a settlement")
    if Withdrawal.objects.filter(status__in=("requested", "sent")).exists():
        busy.append("withdrawals in flight")
    if VaultClaim.objects.filter(state="open", purpose="outflow").exists():
        busy.append("outflow claims open")
    return busy


# ---------------------------------------------------------------- the run


def run_sequence(
    *, seed: int, operations: int, threads: int = 4, buyers: int = 8, sellers: int = 3, quiet_timeout: float = 300.0
) -> SequenceResult:
    """Run `operations` random operations from `threads` threads, quiet the system, compare."""
    result = SequenceResult(seed=seed, operations=operations)
    started = time.monotonic()
    with override_settings(CHAIN_SETTLEMENT=True, CHAIN_MINT_FLUSH_SECONDS=0, CHAIN_MINT_BATCH=20):
        world = _World(buyers=buyers, sellers=sellers, rng=random.Random(seed))
        stop = threading.Event()
        counts_lock = threading.Lock()

        def platform():
            try:
                while not stop.is_set():
                    try:
                        _beat()
                    except Exception:  # noqa: BLE001 - recorded; the run fails
                        result.errors.append("beat: " + traceback.format_exc(limit=8))
                    time.sleep(0.2)
            finally:
                connection.close()

        def worker(index: int):
            rng = random.Random(seed * 1000 + index)
            counts: Counter = Counter()
            payer = _Payer(world)
            buyer_ops, buyer_weights = zip(*BUYER_OPS, strict=True)
            any_ops, any_weights = zip(*ANY_OPS, strict=True)
            try:
                for _ in range(operations // threads):
                    if rng.random() < 0.75:
                        op = rng.choices(buyer_ops, buyer_weights)[0]
                        user = rng.choice(world.buyers)
                    else:
                        op = rng.choices(any_ops, any_weights)[0]
                        user = rng.choice(world.buyers)
                    with world.locks[user.pk]:
                        try:
                            op(world, rng, payer, user, counts)
                        except Exception:  # noqa: BLE001 - recorded; the run fails
                            result.errors.append(f"{op.__name__} by user {user.pk}: " + traceback.format_exc(limit=8))
            finally:
                with counts_lock:
                    result.counts.update(counts)
                connection.close()

        beat = threading.Thread(target=platform, name="platform-beat")
        beat.start()
        workers = [threading.Thread(target=worker, args=(i,), name=f"ops-{i}") for i in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        _close_everything()
        deadline = time.monotonic() + quiet_timeout
        while _busy() and time.monotonic() < deadline:
            time.sleep(0.2)
        stop.set()
        beat.join()
        for _ in range(3):  # a last few beats in this thread, so every confirmed log is applied
            _beat()
        still = _busy()
        if still:
            from escrow.models import Settlement

            stuck = Settlement.objects.exclude(state__in=("released", "refunded", "failed")).values_list(
                "sale_id", "state", "release_after", "error"
            )[:10]
            result.errors.append(
                "the system did not quiet down: " + "; ".join(still) + f" (now {timezone.now()}; {list(stuck)})"
            )
        result.differences = compare(world)
        from tests.escrow.funds_fixtures import chain_clock_reset

        chain_clock_reset(world.w3)  # the exits moved anvil's clock on: back to ours for later tests
    result.seconds = time.monotonic() - started
    return result


def _close_everything() -> None:
    from auctions.models import Auction

    for auction_id in Auction.objects.filter(status="open").values_list("pk", flat=True):
        _close_now(auction_id)


def compare(world: _World) -> list[str]:
    """Every way the ledger and the vault could disagree, as readable lines (empty: they agree)."""
    from auctions.models import Sale
    from escrow.models import BountyDeal, Settlement, VaultClaim
    from escrow.selectors.funds import ledger_vault_backing
    from escrow.services.settlement import BOUNTY_DEAL_BASE
    from ledger.choices import LedgerAccountKind
    from ledger.models import LedgerAccount
    from ledger.selectors import ledger_check

    vault = world.vault.functions
    differences = []
    users = world.buyers + world.sellers
    backing = ledger_vault_backing(user_ids=[u.pk for u in users])
    for user in users:
        on_chain = sum((D(vault.balanceOf(a).call()) / USDC for a in world.addresses(user)), D(0))
        if on_chain != backing[user.pk]:
            differences.append(f"user {user.pk}: ledger {backing[user.pk]} USDC, vault {on_chain} USDC")
            differences += _history(world, user)
    fees = LedgerAccount.objects.filter(kind=LedgerAccountKind.PLATFORM_FEES).values_list("balance", flat=True).first()
    platform = D(vault.balanceOf(world.platform).call()) / USDC
    if (fees or D(0)) != platform:
        differences.append(f"platform fees: ledger {fees} USDC, vault {platform} USDC")
    held = 0
    for sale in Sale.objects.select_related("escrow_account"):
        deal = D(vault.dealOf(sale.pk).call()[1]) / USDC
        bounty = sum(
            (
                D(vault.dealOf(BOUNTY_DEAL_BASE + d.award_id).call()[1]) / USDC
                for d in BountyDeal.objects.filter(award__sale=sale)
            ),
            D(0),
        )
        held += int((deal + bounty) * USDC)
        if deal + bounty != sale.escrow_account.balance:
            differences.append(
                f"sale {sale.pk}: escrow account {sale.escrow_account.balance} USDC, "
                f"deals on chain {deal} + bounties {bounty} USDC"
            )
    if vault.totalHeld().call() != held:
        differences.append(f"vault totalHeld {vault.totalHeld().call()} units, deals sum to {held}")
    free = sum((vault.balanceOf(a).call() for u in users for a in world.addresses(u)), 0)
    tokens = world.usdc.functions.balanceOf(world.vault.address).call()
    if tokens != free + vault.balanceOf(world.platform).call() + vault.totalHeld().call():
        differences.append(f"vault holds {tokens} units; free balances + platform + deals differ")
    failed = list(Settlement.objects.filter(state=Settlement.State.FAILED).values_list("sale_id", "error"))
    differences += [f"settlement of sale {sale_id} failed: {error[:200]}" for sale_id, error in failed]
    short = VaultClaim.objects.filter(state=VaultClaim.State.SHORT).count()
    if short:
        differences.append(f"{short} vault claims short")
    report = ledger_check()
    if not report.ok:
        differences += ["ledger_check: " + line for line in report.lines()]
    return differences


def _history(world: _World, user) -> list[str]:
    """What happened to one user's vault balance, to read a difference by."""
    from escrow.models import VaultClaim, VaultEvent, VaultExit

    lines = [f"  addresses: {sorted(world.addresses(user))}"]
    lines += [
        f"  event {e.kind} {e.amount} {e.account[:10]}→{e.counterparty[:10]} block {e.block_number}"
        for e in VaultEvent.objects.filter(user=user).order_by("block_number", "log_index")
    ]
    lines += [
        f"  exit {x.pk} {x.account[:10]} amount {x.amount} reserved {x.reserved} paid {x.paid} {x.state}"
        for x in VaultExit.objects.filter(user=user).order_by("pk")
    ]
    lines += [
        f"  claim {c.pk} {c.purpose} {c.covered}/{c.amount} {c.state} exit {c.vault_exit_id}"
        for c in VaultClaim.objects.filter(user=user).order_by("pk")
    ]
    return lines
