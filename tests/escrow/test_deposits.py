"""The vault indexer against anvil and PostgreSQL: Deposited logs credit the ledger exactly once,
only once they are CHAIN_CONFIRMATIONS deep; unknown depositors are recorded, not credited. Exits
and outflows: tests/escrow/test_exits.py."""

from decimal import Decimal

import pytest
from django.urls import reverse
from eth_account import Account

from chain.wallets import wallet_for
from escrow.models import ChainCursor, VaultEvent
from escrow.services.deposits import VaultUnavailable, vault_index
from ledger.models import LedgerTransaction
from ledger.selectors import balance_for
from tests.concurrency import run_threads
from tests.escrow import funds_fixtures
from tests.escrow.funds_fixtures import units
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

# The shared fixtures (assigned, not imported: test arguments would shadow imported names).
w3, contracts, deposit, mine = funds_fixtures.w3, funds_fixtures.contracts, funds_fixtures.deposit, funds_fixtures.mine

D = Decimal


def test_a_deposit_is_credited_once_even_when_the_indexer_runs_again(user, deposit):
    wallet = wallet_for(user=user)
    deposit(wallet.address, "125.5")

    assert vault_index() == 1
    assert vault_index() == 0
    # A cursor moved back (a restore, an operator's replay) re-reads the log and applies nothing.
    ChainCursor.objects.update(block=0)
    assert vault_index() == 0

    assert balance_for(user=user)["available"] == D("125.5")
    event = VaultEvent.objects.get()
    assert (event.kind, event.user, event.account, event.amount) == ("deposit", user, wallet.address, D("125.5"))
    assert event.ledger_transaction.idempotency_key == f"vault:31337:{event.tx_hash}:{event.log_index}"
    assert LedgerTransaction.objects.count() == 1


def test_two_indexers_at_once_credit_a_deposit_once(user, deposit):
    wallet = wallet_for(user=user)
    deposit(wallet.address, "10")
    deposit(wallet.address, "5")

    results = run_threads(4, lambda i: vault_index())

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(results) == [0, 0, 0, 2]
    assert balance_for(user=user)["available"] == D("15")
    assert VaultEvent.objects.count() == 2 and LedgerTransaction.objects.count() == 2


def test_a_deposit_waits_for_the_confirmation_depth(user, deposit, mine, settings):
    settings.CHAIN_CONFIRMATIONS = 3
    deposit(wallet_for(user=user).address, "7")

    assert vault_index() == 0  # 1 confirmation: its own block
    mine(1)
    assert vault_index() == 0  # 2
    assert balance_for(user=user)["available"] == 0
    mine(1)
    assert vault_index() == 1  # 3 deep: final for us
    assert balance_for(user=user)["available"] == D("7")


def test_a_deposit_to_the_custodial_address_of_a_linked_wallet_is_credited(user, deposit):
    wallet = wallet_for(user=user)
    custodial = wallet.custodial_address
    wallet.address, wallet.kind = Account.create().address, "linked"
    wallet.save()
    deposit(custodial, "3")
    deposit(wallet.address, "4")
    assert vault_index() == 2
    assert balance_for(user=user)["available"] == D("7")


def test_a_deposit_from_an_unknown_address_is_recorded_not_credited(user, deposit):
    stranger = Account.create().address
    deposit(stranger, "50")

    assert vault_index() == 1

    event = VaultEvent.objects.get()
    assert event.account == stranger and event.user is None and event.ledger_transaction is None
    assert not LedgerTransaction.objects.exists()


def test_the_indexer_refuses_when_the_vault_is_not_deployed():
    with pytest.raises(VaultUnavailable):
        vault_index()


def test_the_index_task_is_a_no_op_without_a_vault_or_a_node(settings):
    from escrow.tasks.funds import index_vault

    assert index_vault() == {"applied": 0, "completed": 0, "failed": 0, "claims_open": 0}
    settings.CHAIN_RPC_URL = "http://127.0.0.1:9"  # nothing listens there
    assert index_vault() == {"applied": 0}


def test_the_faucet_on_a_dev_chain_deposits_on_chain_and_the_indexer_credits_it(client, contracts, settings):
    settings.DEBUG = True
    settings.RATE_LIMIT_ENABLED = False
    user = UserFactory()
    assert client.login(email=user.email, password="correct horse battery staple")

    response = client.post(reverse("wallet-faucet"), {"nonce": "a-form-nonce-000001"}, follow=True)
    again = client.post(reverse("wallet-faucet"), {"nonce": "a-form-nonce-000001"})  # double submit

    assert response.status_code == 200 and "arriving in your available balance" in response.content.decode()
    assert again.status_code == 302
    assert balance_for(user=user)["available"] == 0  # the ledger waits for the indexer
    wallet = wallet_for(user=user)
    assert contracts.vault.functions.balanceOf(wallet.address).call() == units("1000")
    assert vault_index() == 1
    assert balance_for(user=user)["available"] == D("1000")
    page = client.get(reverse("wallet")).content.decode()
    assert wallet.address in page and contracts.vault.address in page and 'data-testid="vault-event"' in page
