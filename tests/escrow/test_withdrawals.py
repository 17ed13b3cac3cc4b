"""Withdrawals end to end on anvil and PostgreSQL: the ledger is debited once, the vault pays the
address with the owner's signature, a failed payout is credited back exactly once."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from eth_account import Account

from chain.deploy import deployer_account
from chain.models import ChainTransaction
from chain.transactions import chain_tx_poll, chain_tx_poll_pending
from chain.wallets import wallet_for
from escrow.models import VaultEvent, Withdrawal
from escrow.services.deposits import vault_index
from escrow.services.withdrawals import (
    WithdrawalConflict,
    vault_clock,
    withdrawal_advance,
    withdrawal_prepare,
    withdrawal_request,
    withdrawal_sign,
)
from ledger.choices import LedgerTransactionKind
from ledger.models import LedgerTransaction
from ledger.selectors import balance_for
from tests.concurrency import run_threads
from tests.escrow import funds_fixtures
from tests.escrow.funds_fixtures import units, wait_mined

pytestmark = pytest.mark.django_db(transaction=True)

# The shared fixtures (assigned, not imported: test arguments would shadow imported names).
w3, contracts, deposit, mine = funds_fixtures.w3, funds_fixtures.contracts, funds_fixtures.deposit, funds_fixtures.mine

D = Decimal
Status = Withdrawal.Status


@pytest.fixture
def funded(user, deposit):
    """The user's custodial wallet with 100 USDC deposited and indexed."""
    wallet = wallet_for(user=user)
    deposit(wallet.address, "100")
    assert vault_index() == 1
    return wallet


def _confirm():
    wait_mined()
    for _ in range(5):
        chain_tx_poll_pending()
        if not ChainTransaction.objects.filter(status__in=("pending", "sent")).exists():
            return


def test_a_withdrawal_debits_the_ledger_pays_the_address_and_completes(user, funded, contracts):
    to = Account.create().address

    withdrawal = withdrawal_request(user=user, amount=D("40.25"), to_address=to, idempotency_key="w1")
    wait_mined()

    assert withdrawal.status == Status.SENT and not withdrawal.replayed
    assert balance_for(user=user)["available"] == D("59.75")
    assert contracts.usdc.functions.balanceOf(to).call() == units("40.25")  # sent on commit, automined
    assert contracts.vault.functions.balanceOf(funded.address).call() == units("59.75")
    _confirm()
    assert withdrawal_advance() == {"completed": 1, "failed": 0}
    withdrawal.refresh_from_db()
    assert withdrawal.status == Status.COMPLETED and withdrawal.completed_at
    # The indexer sees the Withdrawn log, links it to our debit and debits nothing more.
    assert vault_index() == 1
    event = VaultEvent.objects.get(kind="withdrawal")
    assert event.user == user and event.amount == D("40.25")
    assert event.ledger_transaction.idempotency_key == f"withdrawal:{withdrawal.pk}"
    assert balance_for(user=user)["available"] == D("59.75")
    assert LedgerTransaction.objects.filter(kind=LedgerTransactionKind.WITHDRAWAL).count() == 1


def test_the_indexer_completes_a_withdrawal_before_the_poller(user, funded):
    withdrawal = withdrawal_request(
        user=user, amount=D("1"), to_address=Account.create().address, idempotency_key="w-index-first"
    )
    wait_mined()
    assert vault_index() == 1
    withdrawal.refresh_from_db()
    assert withdrawal.status == Status.COMPLETED
    assert balance_for(user=user)["available"] == D("99")


def test_the_same_idempotency_key_returns_the_same_withdrawal_and_moves_money_once(user, funded, contracts):
    to = Account.create().address
    first = withdrawal_request(user=user, amount=D("10"), to_address=to, idempotency_key="same")
    again = withdrawal_request(user=user, amount=D("10"), to_address=to, idempotency_key="same")
    wait_mined()

    assert again.pk == first.pk and again.replayed
    assert balance_for(user=user)["available"] == D("90")
    assert ChainTransaction.objects.count() == 1
    assert contracts.usdc.functions.balanceOf(to).call() == units("10")
    with pytest.raises(WithdrawalConflict):
        withdrawal_request(user=user, amount=D("11"), to_address=to, idempotency_key="same")


def test_the_same_key_from_three_threads_withdraws_once(user, funded, contracts):
    to = Account.create().address

    results = run_threads(
        3, lambda i: withdrawal_request(user=user, amount=D("5"), to_address=to, idempotency_key="raced").pk
    )
    wait_mined()

    assert not [r for r in results if isinstance(r, Exception)], results
    assert len(set(results)) == 1 and Withdrawal.objects.count() == 1
    assert balance_for(user=user)["available"] == D("95")
    assert contracts.usdc.functions.balanceOf(to).call() == units("5")


def test_a_second_withdrawal_waits_for_the_first(user, funded):
    withdrawal_request(user=user, amount=D("5"), to_address=Account.create().address, idempotency_key="a")
    with pytest.raises(ValidationError) as err:
        withdrawal_request(user=user, amount=D("5"), to_address=Account.create().address, idempotency_key="b")
    assert "on its way" in str(err.value.message_dict["__all__"])
    _confirm()
    withdrawal_advance()
    withdrawal_request(user=user, amount=D("5"), to_address=Account.create().address, idempotency_key="b")
    assert balance_for(user=user)["available"] == D("90")


@pytest.mark.parametrize(
    ("amount", "to", "field"),
    [
        (D("100.000001"), None, "amount"),
        (D("0"), None, "amount"),
        (D("1.0000001"), None, "amount"),
        (D("1"), "0xd8da6bf26964af9d7eed9e03e53415d37aa96045", "to_address"),  # not checksummed
        (D("1"), "0x0000000000000000000000000000000000000000", "to_address"),
        (D("1"), "vitalik.eth", "to_address"),
    ],
)
def test_bad_requests_are_field_errors_and_move_nothing(user, funded, amount, to, field):
    with pytest.raises(ValidationError) as err:
        withdrawal_request(user=user, amount=amount, to_address=to or Account.create().address, idempotency_key="x")
    assert field in err.value.message_dict
    assert balance_for(user=user)["available"] == D("100")
    assert not Withdrawal.objects.exists() and not ChainTransaction.objects.exists()


def test_a_withdrawal_beyond_the_vault_balance_is_refused_before_sending(user, funded, deposit):
    from ledger.services import ledger_credit_user

    ledger_credit_user(user=user, amount=D("50"), idempotency_key="unbacked")  # ledger 150, vault 100
    with pytest.raises(ValidationError) as err:
        withdrawal_request(user=user, amount=D("120"), to_address=Account.create().address, idempotency_key="x")
    assert "vault balance on chain" in str(err.value.message_dict["amount"])
    assert balance_for(user=user)["available"] == D("150") and not Withdrawal.objects.exists()


@pytest.fixture
def manual_mining(w3):
    w3.provider.make_request("evm_setAutomine", [False])
    try:
        yield
    finally:
        w3.provider.make_request("evm_setAutomine", [True])


def test_a_failed_payout_is_refunded_exactly_once(user, funded, contracts, w3, manual_mining):
    withdrawal = withdrawal_request(
        user=user, amount=D("30"), to_address=Account.create().address, idempotency_key="doomed"
    )
    tx = ChainTransaction.objects.get()
    assert balance_for(user=user)["available"] == D("70")
    # Before it is mined, the operator moves the whole vault balance into a deal: the payout reverts.
    w3.provider.make_request("anvil_dropTransaction", [tx.tx_hash])
    w3.provider.make_request("evm_setAutomine", [True])
    from chain.deploy import _send_call

    operator = deployer_account(chain_id=31337)  # the constructor made it an operator
    _send_call(
        w3,
        account=operator,
        chain_id=31337,
        call=contracts.vault.functions.fundDeal(990001, funded.address, units("100")),
    )
    chain_tx_poll(tx_id=tx.pk)  # dropped: re-sent with the same nonce, mined, reverted
    wait_mined()
    _confirm()
    tx.refresh_from_db()
    assert tx.status == ChainTransaction.Status.FAILED and "InsufficientBalance" in tx.error

    assert withdrawal_advance() == {"completed": 0, "failed": 1}
    assert withdrawal_advance() == {"completed": 0, "failed": 0}

    withdrawal.refresh_from_db()
    assert withdrawal.status == Status.FAILED and "failed" in withdrawal.error
    assert balance_for(user=user)["available"] == D("100")
    refunds = LedgerTransaction.objects.filter(idempotency_key=f"withdrawal-refund:{withdrawal.pk}")
    assert refunds.count() == 1
    assert vault_index() == 0  # nothing was withdrawn on chain


def test_a_linked_wallet_withdraws_with_its_own_signature(user, deposit, contracts):
    owner = Account.create()
    wallet = wallet_for(user=user)
    wallet.address, wallet.kind = owner.address, "linked"
    wallet.save()
    deposit(owner.address, "20")
    vault_index()
    to = Account.create().address
    deadline = vault_clock(contracts.vault.w3) + 600  # the chain's clock: tests move anvil's on

    with pytest.raises(ValidationError) as missing:
        withdrawal_request(user=user, amount=D("8"), to_address=to, idempotency_key="l0", deadline=deadline)
    typed = withdrawal_prepare(user=user, amount=D("8"), to_address=to, deadline=deadline)
    forged = withdrawal_sign(account=Account.create(), typed_data=typed)
    with pytest.raises(ValidationError) as wrong:
        withdrawal_request(
            user=user, amount=D("8"), to_address=to, idempotency_key="l1", deadline=deadline, signature=forged
        )
    signature = withdrawal_sign(account=owner, typed_data=typed)
    withdrawal = withdrawal_request(
        user=user, amount=D("8"), to_address=to, idempotency_key="l2", deadline=deadline, signature=signature
    )
    wait_mined()

    assert "signature" in missing.value.message_dict and "signature" in wrong.value.message_dict
    assert contracts.usdc.functions.balanceOf(to).call() == units("8")
    assert balance_for(user=user)["available"] == D("12")
    assert vault_index() == 1
    withdrawal.refresh_from_db()
    assert withdrawal.status == Status.COMPLETED
    assert balance_for(user=user)["available"] == D("12")


def test_withdrawing_to_the_vault_itself_is_refused(user, funded, contracts):
    with pytest.raises(ValidationError) as err:
        withdrawal_request(user=user, amount=D("1"), to_address=contracts.vault.address, idempotency_key="v")
    assert "to_address" in err.value.message_dict and not Withdrawal.objects.exists()
