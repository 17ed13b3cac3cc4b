"""EscrowVault (with MockUSDC) on an in-process py-evm chain: roles, reverts, invariants."""

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


@pytest.fixture
def vault(w3, usdc, admin, operator):
    return deploy(w3, "EscrowVault", usdc.address, admin, operator)


def send(fn, sender):
    return fn.transact({"from": sender})


def fund_buyer(usdc, vault, buyer, amount):
    send(usdc.functions.mint(buyer, amount), buyer)
    send(usdc.functions.approve(vault.address, amount), buyer)
    send(vault.functions.deposit(amount), buyer)


def test_mock_usdc_has_6_decimals_and_anyone_can_mint(usdc, accounts):
    assert usdc.functions.decimals().call() == 6
    send(usdc.functions.mint(accounts[3], 5 * USDC), accounts[3])
    assert usdc.functions.balanceOf(accounts[3]).call() == 5 * USDC


def test_deposit_and_withdraw_own_balance(w3, usdc, vault, accounts):
    buyer = accounts[1]
    fund_buyer(usdc, vault, buyer, 100 * USDC)
    assert vault.functions.balanceOf(buyer).call() == 100 * USDC
    receipt = w3.eth.wait_for_transaction_receipt(send(vault.functions.withdraw(40 * USDC), buyer))
    assert vault.events.Withdrawn().process_receipt(receipt, errors=DISCARD)[0]["args"]["amount"] == 40 * USDC
    assert vault.functions.balanceOf(buyer).call() == 60 * USDC
    assert usdc.functions.balanceOf(buyer).call() == 40 * USDC
    assert usdc.functions.balanceOf(vault.address).call() == 60 * USDC


def test_withdraw_more_than_balance_reverts(usdc, vault, accounts, reverts):
    fund_buyer(usdc, vault, accounts[1], 10 * USDC)
    with reverts(vault, "InsufficientBalance"):
        send(vault.functions.withdraw(11 * USDC), accounts[1])
    with reverts(vault, "ZeroAmount"):
        send(vault.functions.withdraw(0), accounts[1])


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
    send(vault.functions.withdraw(88 * USDC), seller)
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


def test_operator_cannot_withdraw_a_users_balance(usdc, vault, accounts, operator, reverts):
    buyer = accounts[1]
    fund_buyer(usdc, vault, buyer, 50 * USDC)
    # withdraw only ever pays msg.sender from msg.sender's own balance
    with reverts(vault, "InsufficientBalance"):
        send(vault.functions.withdraw(50 * USDC), operator)
    # a refund can only go back to the deal's buyer, never to the operator
    send(vault.functions.fundDeal(1, buyer, 50 * USDC), operator)
    send(vault.functions.refundDeal(1, 50 * USDC), operator)
    assert vault.functions.balanceOf(buyer).call() == 50 * USDC
    assert vault.functions.balanceOf(operator).call() == 0
    assert usdc.functions.balanceOf(operator).call() == 0
    # no function of the vault takes a user's address and moves that user's free balance out
    operator_fns = {i["name"] for i in vault.abi if i["type"] == "function" and i["stateMutability"] == "nonpayable"}
    assert operator_fns == {"deposit", "withdraw", "fundDeal", "releaseDeal", "refundDeal",
                            "grantRole", "revokeRole", "renounceRole"}


def test_escrow_invariants_hold_over_a_random_sequence(usdc, vault, accounts, operator):
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
                send(vault.functions.withdraw(amount), who)
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
