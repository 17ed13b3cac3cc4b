"""EscrowVault (with MockUSDC) on an in-process py-evm chain: roles, reverts, invariants, and the
two ways money leaves: withdrawals the platform and the account sign together, and the exit hatch."""

import random

import pytest
from web3.logs import DISCARD

from tests.chain.conftest import deploy

pytestmark = pytest.mark.django_db  # suite-wide autouse fixtures; no table is touched here

USDC = 10**6
ZERO = "0x" + "00" * 20


@pytest.fixture
def accounts(w3):
    return w3.eth.accounts


@pytest.fixture
def admin(accounts):
    return accounts[0]


@pytest.fixture
def operator(accounts):
    return accounts[8]


@pytest.fixture
def usdc(w3, admin):
    return deploy(w3, "MockUSDC", sender=admin)


EXIT_DELAY = 3600


@pytest.fixture
def vault(w3, usdc, admin, operator):
    return deploy(w3, "EscrowVault", usdc.address, admin, operator, EXIT_DELAY)


def send(fn, sender):
    return fn.transact({"from": sender})


def send_as(w3, fn, account, *, gas_from):
    """A transaction from a key-only account (given some ether by `gas_from` first)."""
    w3.eth.wait_for_transaction_receipt(
        w3.eth.send_transaction({"from": gas_from, "to": account.address, "value": 10**17})
    )
    tx = fn.build_transaction({"from": account.address, "nonce": w3.eth.get_transaction_count(account.address)})
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
    )
    assert receipt["status"] == 1
    return receipt


def travel(w3, seconds):
    """Move the in-process chain's clock forward (the next block is mined that much later)."""
    w3.provider.ethereum_tester.time_travel(w3.eth.get_block("latest")["timestamp"] + seconds)


def exit_now(w3, vault, account, amount):
    """Announce, wait out the delay, exit: the account's own way out."""
    send(vault.functions.announceExit(amount), account)
    travel(w3, EXIT_DELAY)
    return w3.eth.wait_for_transaction_receipt(send(vault.functions.exit(), account))


def fund_buyer(usdc, vault, buyer, amount):
    send(usdc.functions.mint(buyer, amount), buyer)
    send(usdc.functions.approve(vault.address, amount), buyer)
    send(vault.functions.deposit(amount), buyer)


def test_mock_usdc_has_6_decimals_and_anyone_can_mint(usdc, accounts):
    assert usdc.functions.decimals().call() == 6
    send(usdc.functions.mint(accounts[3], 5 * USDC), accounts[3])
    assert usdc.functions.balanceOf(accounts[3]).call() == 5 * USDC


def test_an_account_cannot_withdraw_alone_without_notice(usdc, vault, accounts, reverts):
    buyer = accounts[1]
    fund_buyer(usdc, vault, buyer, 100 * USDC)
    assert vault.functions.balanceOf(buyer).call() == 100 * USDC
    assert not any(i.get("name") == "withdraw" for i in vault.abi)  # no instant self-withdrawal
    with reverts(vault, "AccessControlUnauthorizedAccount"):
        send(vault.functions.withdrawWithSig(buyer, buyer, 100 * USDC, 2**40, b"\x00" * 65), buyer)
    with reverts(vault, "NoExitAnnounced"):
        send(vault.functions.exit(), buyer)
    assert usdc.functions.balanceOf(buyer).call() == 0


def test_exit_pays_the_announced_amount_after_the_delay_and_not_before(w3, usdc, vault, accounts, reverts):
    buyer = accounts[1]
    fund_buyer(usdc, vault, buyer, 100 * USDC)
    receipt = w3.eth.wait_for_transaction_receipt(send(vault.functions.announceExit(40 * USDC), buyer))
    announced = vault.events.ExitAnnounced().process_receipt(receipt, errors=DISCARD)[0]["args"]
    block_time = w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    assert (announced["account"], announced["amount"], announced["unlocksAt"]) == (
        buyer,
        40 * USDC,
        block_time + EXIT_DELAY,
    )
    assert vault.functions.exits(buyer).call() == [40 * USDC, block_time + EXIT_DELAY]
    with reverts(vault, "ExitLocked"):
        send(vault.functions.exit(), buyer)
    travel(w3, EXIT_DELAY)
    receipt = w3.eth.wait_for_transaction_receipt(send(vault.functions.exit(), buyer))
    assert vault.events.Exited().process_receipt(receipt, errors=DISCARD)[0]["args"]["amount"] == 40 * USDC
    assert not vault.events.Withdrawn().process_receipt(receipt, errors=DISCARD)  # one event per way out
    assert usdc.functions.balanceOf(buyer).call() == 40 * USDC
    assert vault.functions.balanceOf(buyer).call() == 60 * USDC
    with reverts(vault, "NoExitAnnounced"):  # one exit per announcement
        send(vault.functions.exit(), buyer)


def test_exit_pays_only_the_free_balance_left_when_deals_were_funded_meanwhile(w3, usdc, vault, accounts, operator):
    buyer = accounts[1]
    fund_buyer(usdc, vault, buyer, 100 * USDC)
    send(vault.functions.announceExit(100 * USDC), buyer)
    send(vault.functions.fundDeal(1, buyer, 70 * USDC), operator)  # a sale won before the notice ran out
    travel(w3, EXIT_DELAY)
    receipt = w3.eth.wait_for_transaction_receipt(send(vault.functions.exit(), buyer))
    assert vault.events.Exited().process_receipt(receipt, errors=DISCARD)[0]["args"]["amount"] == 30 * USDC
    assert vault.functions.dealOf(1).call() == [buyer, 70 * USDC]
    assert usdc.functions.balanceOf(vault.address).call() == 70 * USDC == vault.functions.totalHeld().call()


def test_once_an_exit_unlocked_the_operator_cannot_fund_deals_from_the_amount_leaving(
    w3, usdc, vault, accounts, operator, reverts
):
    buyer = accounts[1]
    fund_buyer(usdc, vault, buyer, 100 * USDC)
    send(vault.functions.announceExit(60 * USDC), buyer)
    send(vault.functions.fundDeal(1, buyer, 30 * USDC), operator)  # within the notice: a sale it owes
    travel(w3, EXIT_DELAY)
    with reverts(vault, "ExitUnlocked"):  # 70 free, 60 leaving: at most 10 may still be funded
        send(vault.functions.fundDeal(2, buyer, 11 * USDC), operator)
    send(vault.functions.fundDeal(2, buyer, 10 * USDC), operator)
    send(vault.functions.exit(), buyer)
    assert usdc.functions.balanceOf(buyer).call() == 60 * USDC


def test_exit_with_nothing_free_reverts_and_keeps_the_announcement(w3, usdc, vault, accounts, operator, reverts):
    buyer = accounts[1]
    fund_buyer(usdc, vault, buyer, 10 * USDC)
    send(vault.functions.announceExit(10 * USDC), buyer)
    send(vault.functions.fundDeal(1, buyer, 10 * USDC), operator)
    travel(w3, EXIT_DELAY)
    with reverts(vault, "InsufficientBalance"):
        send(vault.functions.exit(), buyer)
    assert vault.functions.exits(buyer).call()[0] == 10 * USDC


def test_a_new_announcement_replaces_the_old_one_and_restarts_the_clock(w3, usdc, vault, accounts, reverts):
    buyer = accounts[1]
    fund_buyer(usdc, vault, buyer, 100 * USDC)
    send(vault.functions.announceExit(10 * USDC), buyer)
    travel(w3, EXIT_DELAY - 10)
    send(vault.functions.announceExit(20 * USDC), buyer)
    travel(w3, 20)
    with reverts(vault, "ExitLocked"):
        send(vault.functions.exit(), buyer)
    travel(w3, EXIT_DELAY)
    send(vault.functions.exit(), buyer)
    assert usdc.functions.balanceOf(buyer).call() == 20 * USDC


def test_a_cancelled_exit_cannot_be_taken(w3, usdc, vault, accounts, reverts):
    buyer = accounts[1]
    fund_buyer(usdc, vault, buyer, 100 * USDC)
    with reverts(vault, "NoExitAnnounced"):
        send(vault.functions.cancelExit(), buyer)
    send(vault.functions.announceExit(10 * USDC), buyer)
    receipt = w3.eth.wait_for_transaction_receipt(send(vault.functions.cancelExit(), buyer))
    assert vault.events.ExitCancelled().process_receipt(receipt, errors=DISCARD)[0]["args"]["account"] == buyer
    travel(w3, EXIT_DELAY)
    with reverts(vault, "NoExitAnnounced"):
        send(vault.functions.exit(), buyer)
    with reverts(vault, "ZeroAmount"):
        send(vault.functions.announceExit(0), buyer)


def test_exit_only_pays_the_announcing_account_itself(w3, usdc, vault, accounts, operator, reverts):
    buyer = accounts[1]
    fund_buyer(usdc, vault, buyer, 50 * USDC)
    send(vault.functions.announceExit(50 * USDC), buyer)
    travel(w3, EXIT_DELAY)
    with reverts(vault, "NoExitAnnounced"):  # the operator has no announcement of its own to take
        send(vault.functions.exit(), operator)
    assert usdc.functions.balanceOf(operator).call() == 0


def test_the_exit_delay_is_bounded_at_deployment(w3, usdc, admin, operator):
    from eth_tester.exceptions import TransactionFailed

    with pytest.raises(TransactionFailed):
        deploy(w3, "EscrowVault", usdc.address, admin, operator, 31 * 24 * 3600)
    vault = deploy(w3, "EscrowVault", usdc.address, admin, operator, 30 * 24 * 3600)
    assert vault.functions.exitDelay().call() == vault.functions.MAX_EXIT_DELAY().call() == 30 * 24 * 3600


def test_deposit_without_approval_reverts(usdc, vault, accounts, reverts):
    send(usdc.functions.mint(accounts[1], USDC), accounts[1])
    with reverts(usdc, "ERC20InsufficientAllowance"):
        send(vault.functions.deposit(USDC), accounts[1])


def test_fund_release_splits_to_vault_balances(w3, usdc, vault, accounts, operator):
    buyer, seller, platform, vertical_owner, bounty = accounts[1:6]
    fund_buyer(usdc, vault, buyer, 100 * USDC)
    send(vault.functions.fundDeal(7, buyer, 100 * USDC), operator)
    assert vault.functions.dealOf(7).call() == [buyer, 100 * USDC]
    assert vault.functions.balanceOf(buyer).call() == 0
    payees = [seller, platform, vertical_owner, bounty]
    amounts = [88 * USDC, 5 * USDC, 2 * USDC, 5 * USDC]  # seller, 5 % fee, 2 % vertical royalty, bounty
    receipt = w3.eth.wait_for_transaction_receipt(send(vault.functions.releaseDeal(7, payees, amounts), operator))
    assert vault.events.DealReleased().process_receipt(receipt, errors=DISCARD)[0]["args"]["amount"] == 100 * USDC
    assert [vault.functions.balanceOf(p).call() for p in payees] == amounts
    assert vault.functions.dealOf(7).call() == [buyer, 0]
    assert vault.functions.totalHeld().call() == 0
    exit_now(w3, vault, seller, 88 * USDC)
    assert usdc.functions.balanceOf(seller).call() == 88 * USDC


def test_split_must_sum_to_the_deal_amount(usdc, vault, accounts, operator, reverts):
    fund_buyer(usdc, vault, accounts[1], 100 * USDC)
    send(vault.functions.fundDeal(7, accounts[1], 100 * USDC), operator)
    with reverts(vault, "SplitSumMismatch"):
        send(vault.functions.releaseDeal(7, [accounts[2], accounts[3]], [95 * USDC, 4 * USDC]), operator)
    with reverts(vault, "SplitSumMismatch"):
        send(vault.functions.releaseDeal(7, [accounts[2], accounts[3]], [95 * USDC, 6 * USDC]), operator)
    with reverts(vault, "SplitLengthMismatch"):
        send(vault.functions.releaseDeal(7, [accounts[2]], [95 * USDC, 5 * USDC]), operator)
    with reverts(vault, "ZeroAddress"):
        send(vault.functions.releaseDeal(7, [ZERO], [100 * USDC]), operator)


def test_partial_refund_then_release_of_the_rest(usdc, vault, accounts, operator, reverts):
    buyer, seller = accounts[1], accounts[2]
    fund_buyer(usdc, vault, buyer, 100 * USDC)
    send(vault.functions.fundDeal(9, buyer, 100 * USDC), operator)
    send(vault.functions.refundDeal(9, 30 * USDC), operator)
    assert vault.functions.balanceOf(buyer).call() == 30 * USDC
    with reverts(vault, "RefundExceedsDeal"):
        send(vault.functions.refundDeal(9, 71 * USDC), operator)
    with reverts(vault, "SplitSumMismatch"):
        send(vault.functions.releaseDeal(9, [seller], [100 * USDC]), operator)
    send(vault.functions.releaseDeal(9, [seller], [70 * USDC]), operator)
    assert vault.functions.balanceOf(seller).call() == 70 * USDC
    with reverts(vault, "DealNotOpen"):
        send(vault.functions.refundDeal(9, USDC), operator)
    with reverts(vault, "DealNotOpen"):
        send(vault.functions.releaseDeal(9, [seller], [0]), operator)


def test_full_refund_closes_the_deal(usdc, vault, accounts, operator, reverts):
    fund_buyer(usdc, vault, accounts[1], 10 * USDC)
    send(vault.functions.fundDeal(3, accounts[1], 10 * USDC), operator)
    send(vault.functions.refundDeal(3, 10 * USDC), operator)
    assert vault.functions.balanceOf(accounts[1]).call() == 10 * USDC
    with reverts(vault, "DealNotOpen"):
        send(vault.functions.releaseDeal(3, [accounts[2]], [10 * USDC]), operator)


def test_deal_id_cannot_be_reused_even_after_it_closed(usdc, vault, accounts, operator, reverts):
    fund_buyer(usdc, vault, accounts[1], 10 * USDC)
    send(vault.functions.fundDeal(5, accounts[1], 4 * USDC), operator)
    with reverts(vault, "DealAlreadyExists"):
        send(vault.functions.fundDeal(5, accounts[1], 4 * USDC), operator)
    send(vault.functions.refundDeal(5, 4 * USDC), operator)
    with reverts(vault, "DealAlreadyExists"):
        send(vault.functions.fundDeal(5, accounts[1], 4 * USDC), operator)


def test_fund_deal_needs_the_buyers_free_balance(usdc, vault, accounts, operator, reverts):
    fund_buyer(usdc, vault, accounts[1], 10 * USDC)
    with reverts(vault, "InsufficientBalance"):
        send(vault.functions.fundDeal(1, accounts[1], 11 * USDC), operator)
    with reverts(vault, "ZeroAmount"):
        send(vault.functions.fundDeal(1, accounts[1], 0), operator)


@pytest.mark.parametrize("who", [1, 0])  # a buyer, and the admin: neither holds OPERATOR_ROLE
def test_only_the_operator_moves_deal_funds(usdc, vault, accounts, operator, reverts, who):
    fund_buyer(usdc, vault, accounts[1], 10 * USDC)
    send(vault.functions.fundDeal(1, accounts[1], 10 * USDC), operator)
    fund_buyer(usdc, vault, accounts[2], 10 * USDC)
    intruder = accounts[who]
    with reverts(vault, "AccessControlUnauthorizedAccount"):
        send(vault.functions.fundDeal(2, accounts[2], 10 * USDC), intruder)
    with reverts(vault, "AccessControlUnauthorizedAccount"):
        send(vault.functions.releaseDeal(1, [intruder], [10 * USDC]), intruder)
    with reverts(vault, "AccessControlUnauthorizedAccount"):
        send(vault.functions.refundDeal(1, 10 * USDC), intruder)


def test_operator_cannot_pay_a_users_free_balance_out_of_the_vault(w3, usdc, vault, accounts, operator, reverts):
    """The operator's power over a free balance is settlement only: into a deal of that same
    account (refunds go back to it). Paying out needs the account's signature."""
    buyer = accounts[1]
    fund_buyer(usdc, vault, buyer, 50 * USDC)
    # without the account's signature the operator's withdrawal is refused
    with reverts(vault, "InvalidSignature"):
        send(vault.functions.withdrawWithSig(buyer, operator, 50 * USDC, 2**40, b"\x00" * 65), operator)
    # a refund can only go back to the deal's buyer, never to the operator
    send(vault.functions.fundDeal(1, buyer, 50 * USDC), operator)
    send(vault.functions.refundDeal(1, 50 * USDC), operator)
    assert vault.functions.balanceOf(buyer).call() == 50 * USDC
    assert vault.functions.balanceOf(operator).call() == 0
    assert usdc.functions.balanceOf(operator).call() == 0
    # the only functions taking a user's address and moving that user's free balance are fundDeal
    # (into that user's own deal, whose release the operator trusted with settlement directs) and
    # withdrawWithSig / moveWithSig (need the user's signature); exit pays msg.sender only
    operator_fns = {i["name"] for i in vault.abi if i["type"] == "function" and i["stateMutability"] == "nonpayable"}
    assert operator_fns == {
        "deposit",
        "depositFor",
        "withdrawWithSig",
        "moveWithSig",
        "announceExit",
        "cancelExit",
        "exit",
        "fundDeal",
        "releaseDeal",
        "refundDeal",
        "grantRole",
        "revokeRole",
        "renounceRole",
    }


def test_escrow_invariants_hold_over_a_random_sequence(w3, usdc, vault, accounts, operator):
    """Funds in == funds out + held, and the vault's token balance == free balances + open deals."""
    rng = random.Random(20261122)
    buyers, payees = accounts[1:5], accounts[5:8]
    users = buyers + payees
    free = dict.fromkeys(users, 0)  # model of the vault's free balances
    deals = {}  # open deal id -> [buyer, held]
    deposited = withdrawn = 0
    next_deal = 1
    for step in range(150):
        action = rng.choice(["deposit", "deposit", "withdraw", "fund", "fund", "release", "refund"])
        if action == "deposit":
            who, amount = rng.choice(users), rng.randint(1, 200) * USDC
            fund_buyer(usdc, vault, who, amount)
            free[who] += amount
            deposited += amount
        elif action == "withdraw":
            who = rng.choice(users)
            if free[who]:
                amount = rng.randint(1, free[who])
                exit_now(w3, vault, who, amount)
                free[who] -= amount
                withdrawn += amount
        elif action == "fund":
            who = rng.choice(buyers)
            if free[who]:
                amount = rng.randint(1, free[who])
                send(vault.functions.fundDeal(next_deal, who, amount), operator)
                free[who] -= amount
                deals[next_deal] = [who, amount]
                next_deal += 1
        elif action == "release" and deals:
            deal_id = rng.choice(sorted(deals))
            held = deals.pop(deal_id)[1]
            fee, royalty = held * 5 // 100, held * 2 // 100
            split = [(rng.choice(payees), held - fee - royalty), (payees[0], fee), (payees[1], royalty)]
            send(vault.functions.releaseDeal(deal_id, [p for p, _ in split], [a for _, a in split]), operator)
            for payee, amount in split:
                free[payee] += amount
        elif action == "refund" and deals:
            deal_id = rng.choice(sorted(deals))
            buyer, held = deals[deal_id]
            amount = rng.randint(1, held)
            send(vault.functions.refundDeal(deal_id, amount), operator)
            free[buyer] += amount
            deals[deal_id][1] -= amount
            if deals[deal_id][1] == 0:
                del deals[deal_id]

        if step % 10 == 0 or step == 149:
            vault_tokens = usdc.functions.balanceOf(vault.address).call()
            on_chain_free = {u: vault.functions.balanceOf(u).call() for u in users}
            held = vault.functions.totalHeld().call()
            assert on_chain_free == free
            assert held == sum(h for _, h in deals.values())
            assert all(vault.functions.dealOf(d).call() == [b, h] for d, (b, h) in deals.items())
            assert vault_tokens == sum(on_chain_free.values()) + held
            assert deposited == withdrawn + vault_tokens
    assert next_deal > 12  # the sequence exercised a fair number of deals


# ---------------------------------------------------------------- depositFor and withdrawWithSig


def test_deposit_for_credits_the_named_account_from_the_payers_tokens(w3, usdc, vault, accounts, reverts):
    payer, beneficiary = accounts[1], accounts[2]
    send(usdc.functions.mint(payer, 30 * USDC), payer)
    send(usdc.functions.approve(vault.address, 30 * USDC), payer)
    receipt = w3.eth.wait_for_transaction_receipt(send(vault.functions.depositFor(beneficiary, 30 * USDC), payer))
    event = vault.events.Deposited().process_receipt(receipt, errors=DISCARD)[0]["args"]
    assert (event["account"], event["amount"]) == (beneficiary, 30 * USDC)
    assert vault.functions.balanceOf(beneficiary).call() == 30 * USDC
    assert vault.functions.balanceOf(payer).call() == 0 and usdc.functions.balanceOf(payer).call() == 0
    with reverts(vault, "ZeroAddress"):
        send(vault.functions.depositFor(ZERO, USDC), payer)
    with reverts(vault, "ZeroAmount"):
        send(vault.functions.depositFor(beneficiary, 0), payer)
    with reverts(usdc, "ERC20InsufficientAllowance"):
        send(vault.functions.depositFor(beneficiary, USDC), payer)


@pytest.fixture
def holder(w3, usdc, vault, accounts):
    """A key-only account (no ether) with 100 USDC free in the vault, credited by depositFor."""
    from eth_account import Account

    account = Account.create()
    payer = accounts[1]
    send(usdc.functions.mint(payer, 100 * USDC), payer)
    send(usdc.functions.approve(vault.address, 100 * USDC), payer)
    send(vault.functions.depositFor(account.address, 100 * USDC), payer)
    return account


def _signed(w3, vault, account, *, to, amount, deadline=None, nonce=None, key=None):
    from escrow.services.withdrawals import withdrawal_sign, withdrawal_typed_data

    deadline = deadline or w3.eth.get_block("latest")["timestamp"] + 3600
    typed = withdrawal_typed_data(
        chain_id=w3.eth.chain_id,
        vault=vault.address,
        account=account.address,
        to=to,
        amount_units=amount,
        nonce=vault.functions.nonces(account.address).call() if nonce is None else nonce,
        deadline=deadline,
    )
    return deadline, withdrawal_sign(account=key or account, typed_data=typed)


def test_withdraw_with_sig_pays_to_from_the_signers_free_balance(w3, usdc, vault, accounts, operator, holder):
    to = accounts[6]
    deadline, signature = _signed(w3, vault, holder, to=to, amount=40 * USDC)
    tx = send(vault.functions.withdrawWithSig(holder.address, to, 40 * USDC, deadline, signature), operator)
    receipt = w3.eth.wait_for_transaction_receipt(tx)
    event = vault.events.Withdrawn().process_receipt(receipt, errors=DISCARD)[0]["args"]
    assert (event["account"], event["amount"]) == (holder.address, 40 * USDC)
    assert usdc.functions.balanceOf(to).call() == 40 * USDC
    assert vault.functions.balanceOf(holder.address).call() == 60 * USDC
    assert vault.functions.nonces(holder.address).call() == 1
    assert usdc.functions.balanceOf(operator).call() == 0


def test_withdraw_with_sig_refuses_another_signer(w3, vault, accounts, operator, holder, reverts):
    from eth_account import Account

    deadline, forged = _signed(w3, vault, holder, to=operator, amount=USDC, key=Account.create())
    with reverts(vault, "InvalidSignature"):
        send(vault.functions.withdrawWithSig(holder.address, operator, USDC, deadline, forged), operator)
    # a valid signature for other terms (amount, recipient) does not fit either
    deadline, signature = _signed(w3, vault, holder, to=accounts[6], amount=USDC)
    with reverts(vault, "InvalidSignature"):
        send(vault.functions.withdrawWithSig(holder.address, operator, USDC, deadline, signature), operator)
    with reverts(vault, "InvalidSignature"):
        send(vault.functions.withdrawWithSig(holder.address, accounts[6], 2 * USDC, deadline, signature), operator)
    assert vault.functions.balanceOf(holder.address).call() == 100 * USDC


def test_withdraw_with_sig_cannot_be_replayed(w3, usdc, vault, accounts, operator, holder, reverts):
    to = accounts[6]
    deadline, signature = _signed(w3, vault, holder, to=to, amount=10 * USDC)
    call = vault.functions.withdrawWithSig(holder.address, to, 10 * USDC, deadline, signature)
    send(call, operator)
    with reverts(vault, "InvalidSignature"):
        send(call, operator)
    assert usdc.functions.balanceOf(to).call() == 10 * USDC


def test_withdraw_with_sig_needs_the_platform_too(w3, usdc, vault, accounts, holder, reverts):
    """A valid signature of the account is not enough: only the operator submits it (the platform
    may hold that balance for bids); the account's own way out is the exit hatch."""
    to = accounts[6]
    deadline, signature = _signed(w3, vault, holder, to=to, amount=10 * USDC)
    for intruder in (accounts[0], accounts[2], to):  # the admin, a stranger, the recipient
        with reverts(vault, "AccessControlUnauthorizedAccount"):
            send(vault.functions.withdrawWithSig(holder.address, to, 10 * USDC, deadline, signature), intruder)
    assert usdc.functions.balanceOf(to).call() == 0


def _signed_move(w3, vault, account, *, to, amount, key=None):
    from escrow.services.withdrawals import vault_typed_data, withdrawal_sign

    deadline = w3.eth.get_block("latest")["timestamp"] + 3600
    typed = vault_typed_data(
        primary_type="Move",
        chain_id=w3.eth.chain_id,
        vault=vault.address,
        account=account.address,
        to=to,
        amount_units=amount,
        nonce=vault.functions.nonces(account.address).call(),
        deadline=deadline,
    )
    return deadline, withdrawal_sign(account=key or account, typed_data=typed)


def test_move_with_sig_moves_free_balance_between_addresses(w3, usdc, vault, accounts, operator, holder, reverts):
    to = accounts[6]
    deadline, signature = _signed_move(w3, vault, holder, to=to, amount=60 * USDC)
    call = vault.functions.moveWithSig(holder.address, to, 60 * USDC, deadline, signature)
    with reverts(vault, "AccessControlUnauthorizedAccount"):
        send(call, to)
    receipt = w3.eth.wait_for_transaction_receipt(send(call, operator))
    moved = vault.events.Moved().process_receipt(receipt, errors=DISCARD)[0]["args"]
    assert (moved["from"], moved["to"], moved["amount"]) == (holder.address, to, 60 * USDC)
    assert vault.functions.balanceOf(holder.address).call() == 40 * USDC
    assert vault.functions.balanceOf(to).call() == 60 * USDC
    assert usdc.functions.balanceOf(vault.address).call() == 100 * USDC  # nothing left the vault
    with reverts(vault, "InvalidSignature"):  # once
        send(call, operator)


def test_move_with_sig_refuses_a_withdraw_signature_and_other_signers(w3, vault, accounts, operator, holder, reverts):
    from eth_account import Account

    to = accounts[6]
    deadline, withdraw_signature = _signed(w3, vault, holder, to=to, amount=USDC)  # typed "Withdraw", not "Move"
    with reverts(vault, "InvalidSignature"):
        send(vault.functions.moveWithSig(holder.address, to, USDC, deadline, withdraw_signature), operator)
    deadline, forged = _signed_move(w3, vault, holder, to=to, amount=USDC, key=Account.create())
    with reverts(vault, "InvalidSignature"):
        send(vault.functions.moveWithSig(holder.address, to, USDC, deadline, forged), operator)
    deadline, signature = _signed_move(w3, vault, holder, to=to, amount=101 * USDC)
    with reverts(vault, "InsufficientBalance"):
        send(vault.functions.moveWithSig(holder.address, to, 101 * USDC, deadline, signature), operator)


def test_move_with_sig_leaves_an_announced_exit_at_its_address(w3, vault, accounts, operator, holder, reverts):
    """The exit pays from the announcing address: the platform cannot move its amount away, only
    the rest; once the exit is cancelled, everything may move."""
    to = accounts[6]
    send_as(w3, vault.functions.announceExit(70 * USDC), holder, gas_from=accounts[0])
    deadline, signature = _signed_move(w3, vault, holder, to=to, amount=31 * USDC)
    with reverts(vault, "ExitPending"):
        send(vault.functions.moveWithSig(holder.address, to, 31 * USDC, deadline, signature), operator)
    deadline, signature = _signed_move(w3, vault, holder, to=to, amount=30 * USDC)
    send(vault.functions.moveWithSig(holder.address, to, 30 * USDC, deadline, signature), operator)
    assert vault.functions.balanceOf(holder.address).call() == 70 * USDC
    send_as(w3, vault.functions.cancelExit(), holder, gas_from=accounts[0])
    deadline, signature = _signed_move(w3, vault, holder, to=to, amount=70 * USDC)
    send(vault.functions.moveWithSig(holder.address, to, 70 * USDC, deadline, signature), operator)
    assert vault.functions.balanceOf(to).call() == 100 * USDC


def test_withdraw_with_sig_refuses_an_expired_deadline(w3, vault, accounts, operator, holder, reverts):
    past = w3.eth.get_block("latest")["timestamp"] - 1
    deadline, signature = _signed(w3, vault, holder, to=accounts[6], amount=USDC, deadline=past)
    with reverts(vault, "SignatureExpired"):
        send(vault.functions.withdrawWithSig(holder.address, accounts[6], USDC, deadline, signature), operator)


def test_withdraw_with_sig_pays_only_the_free_balance_never_held_deal_funds(
    w3, usdc, vault, accounts, operator, holder, reverts
):
    to = accounts[6]
    deadline, signature = _signed(w3, vault, holder, to=to, amount=101 * USDC)
    with reverts(vault, "InsufficientBalance"):
        send(vault.functions.withdrawWithSig(holder.address, to, 101 * USDC, deadline, signature), operator)
    send(vault.functions.fundDeal(1, holder.address, 70 * USDC), operator)
    deadline, signature = _signed(w3, vault, holder, to=to, amount=31 * USDC)
    with reverts(vault, "InsufficientBalance"):
        send(vault.functions.withdrawWithSig(holder.address, to, 31 * USDC, deadline, signature), operator)
    deadline, signature = _signed(w3, vault, holder, to=to, amount=30 * USDC)
    send(vault.functions.withdrawWithSig(holder.address, to, 30 * USDC, deadline, signature), operator)
    assert vault.functions.dealOf(1).call() == [holder.address, 70 * USDC]
    assert usdc.functions.balanceOf(vault.address).call() == 70 * USDC == vault.functions.totalHeld().call()


def test_domain_separator_matches_the_python_typed_data(w3, vault, holder):
    from eth_account.messages import encode_typed_data

    from escrow.services.withdrawals import withdrawal_typed_data

    typed = withdrawal_typed_data(
        chain_id=w3.eth.chain_id,
        vault=vault.address,
        account=holder.address,
        to=holder.address,
        amount_units=1,
        nonce=0,
        deadline=1,
    )
    assert encode_typed_data(full_message=typed).header == vault.functions.DOMAIN_SEPARATOR().call()
