"""Signer pool, nonces and transactions against the real dev chain (anvil) and PostgreSQL.

Signers are anvil's dev accounts 1..5 (the default pool on 31337); no other test module
uses them (0 deploys, 9 is tests/chain/test_client_deploy.py's deployer).
"""

import time
from collections import defaultdict
from datetime import timedelta

import pytest
from django.utils import timezone
from web3 import Web3

from chain.artifacts import load_artifact
from chain.client import chain_web3
from chain.metrics import PENDING_TRANSACTIONS
from chain.models import ChainTransaction, Signer
from chain.transactions import (
    ANVIL_SIGNER_KEYS,
    SignerError,
    chain_tx_poll,
    chain_tx_poll_pending,
    chain_tx_submit,
    signer_accounts,
    signer_resync,
)
from tests.concurrency import run_threads

pytestmark = pytest.mark.django_db(transaction=True)

SINK = "0x000000000000000000000000000000000000dEaD"
Status = ChainTransaction.Status


@pytest.fixture
def w3():
    return chain_web3()


@pytest.fixture
def manual_mining(w3):
    """Automine off for the test; always restored (other modules share the node)."""
    w3.provider.make_request("evm_setAutomine", [False])
    try:
        yield lambda: w3.provider.make_request("evm_mine", [])
    finally:
        w3.provider.make_request("evm_setAutomine", [True])


def _node_nonces(w3) -> dict[str, int]:
    return {a: w3.eth.get_transaction_count(a, "pending") for a in signer_accounts(chain_id=31337)}


def _poll_until_final(timeout: float = 30.0) -> None:
    """Poll until nothing is pending or sent, bounded in time (not in rounds: on a loaded machine
    anvil may take longer to mine twenty transactions than ten quick polls)."""
    deadline = time.monotonic() + timeout
    while True:
        chain_tx_poll_pending()
        if not ChainTransaction.objects.filter(status__in=(Status.PENDING, Status.SENT)).exists():
            return
        if time.monotonic() > deadline:
            return  # the caller's assertions say what is still open
        time.sleep(0.1)


def test_twenty_concurrent_submits_get_contiguous_nonces_and_all_confirm(w3):
    start = _node_nonces(w3)

    results = run_threads(20, lambda i: chain_tx_submit(idempotency_key=f"conc-{i}", to=SINK, value=i + 1))

    assert not [r for r in results if isinstance(r, Exception)], results
    _poll_until_final()
    txs = list(ChainTransaction.objects.select_related("signer"))
    assert len(txs) == 20 and {t.status for t in txs} == {Status.CONFIRMED}
    by_signer = defaultdict(list)
    for tx in txs:
        by_signer[tx.signer.address].append(tx.nonce)
    assert len(by_signer) > 1, "the pool spreads concurrent submits over several signers"
    for address, nonces in by_signer.items():
        assert sorted(nonces) == list(range(start[address], start[address] + len(nonces)))
        assert w3.eth.get_transaction_count(address, "latest") == start[address] + len(nonces)
        assert Signer.objects.get(address=address).next_nonce == start[address] + len(nonces)
    assert len({t.tx_hash for t in txs}) == 20


def test_the_same_idempotency_key_sends_once_even_from_five_threads(w3):
    start = sum(_node_nonces(w3).values())

    first = chain_tx_submit(idempotency_key="once", to=SINK, value=7)
    again = chain_tx_submit(idempotency_key="once", to=SINK, value=7)
    results = run_threads(5, lambda i: chain_tx_submit(idempotency_key="race", to=SINK, value=8))

    assert again.pk == first.pk
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len({r.pk for r in results}) == 1
    assert ChainTransaction.objects.count() == 2
    _poll_until_final()
    assert set(ChainTransaction.objects.values_list("status", flat=True)) == {Status.CONFIRMED}
    assert sum(_node_nonces(w3).values()) == start + 2


def test_a_dropped_transaction_is_resent_with_the_same_nonce_and_confirmed(w3, manual_mining):
    tx = chain_tx_submit(idempotency_key="dropped", to=SINK, value=1)
    tx.refresh_from_db()
    assert tx.status == Status.SENT and tx.attempts == 1
    w3.provider.make_request("anvil_dropTransaction", [tx.tx_hash])

    resent = chain_tx_poll(tx_id=tx.pk)

    assert resent.status == Status.SENT and resent.attempts == 2 and resent.nonce == tx.nonce
    assert w3.eth.get_transaction(resent.tx_hash)["nonce"] == tx.nonce
    manual_mining()
    done = chain_tx_poll(tx_id=tx.pk)
    assert done.status == Status.CONFIRMED and done.receipt_status == 1 and done.confirmed_block


def test_a_stuck_transaction_is_replaced_with_bumped_fees_and_the_same_nonce(w3, manual_mining):
    tx = chain_tx_submit(idempotency_key="stuck", to=SINK, value=1)
    tx.refresh_from_db()
    old_hash, old_fee, old_tip = tx.tx_hash, tx.max_fee_per_gas, tx.max_priority_fee_per_gas

    not_yet = chain_tx_poll(tx_id=tx.pk)
    assert not_yet.tx_hash == old_hash and not_yet.attempts == 1
    replaced = chain_tx_poll(tx_id=tx.pk, now=timezone.now() + timedelta(seconds=31))

    assert replaced.nonce == tx.nonce and replaced.tx_hash != old_hash
    assert replaced.tx_hashes == [old_hash, replaced.tx_hash] and replaced.attempts == 2
    assert replaced.max_fee_per_gas * 1000 >= old_fee * 1125
    assert replaced.max_priority_fee_per_gas * 1000 >= old_tip * 1125
    manual_mining()
    done = chain_tx_poll(tx_id=tx.pk)
    assert done.status == Status.CONFIRMED and done.tx_hash == replaced.tx_hash
    assert ChainTransaction.objects.count() == 1


def test_a_stuck_transaction_fails_for_staff_after_max_attempts(w3, manual_mining, settings):
    settings.CHAIN_TX_MAX_ATTEMPTS = 2
    tx = chain_tx_submit(idempotency_key="gives-up", to=SINK, value=1)
    later = timezone.now() + timedelta(seconds=31)
    chain_tx_poll(tx_id=tx.pk, now=later)
    failed = chain_tx_poll(tx_id=tx.pk, now=later + timedelta(seconds=31))
    assert failed.status == Status.FAILED and "2 broadcasts" in failed.error
    # Mine what the pool holds so the nonce is not left pending for the next test.
    manual_mining()


@pytest.fixture
def usdc(w3):
    """MockUSDC deployed by dev account 5 (one of our signers) before the pool reads its nonce."""
    artifact = load_artifact("MockUSDC")
    account = w3.eth.account.from_key(ANVIL_SIGNER_KEYS[4])
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    built = factory.constructor().build_transaction(
        {"from": account.address, "nonce": w3.eth.get_transaction_count(account.address, "pending"), "chainId": 31337}
    )
    tx_hash = w3.eth.send_raw_transaction(account.sign_transaction(built).raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=10)
    return w3.eth.contract(address=receipt.contractAddress, abi=artifact["abi"])


def test_a_transaction_that_reverts_on_chain_fails_with_the_decoded_error(w3, usdc):
    data = usdc.encode_abi("transfer", [SINK, 10**30])

    tx = chain_tx_submit(idempotency_key="revert-mined", to=usdc.address, data=data, gas_limit=200_000)
    _poll_until_final()

    tx.refresh_from_db()
    assert tx.status == Status.FAILED and tx.receipt_status == 0 and tx.confirmed_block
    assert tx.error.startswith("ERC20InsufficientBalance(")


def test_a_transaction_whose_estimate_reverts_is_failed_without_using_a_nonce(w3, usdc):
    data = usdc.encode_abi("transfer", [SINK, 10**30])
    start = _node_nonces(w3)

    tx = chain_tx_submit(idempotency_key="revert-estimate", to=usdc.address, data=data)

    assert tx.status == Status.FAILED and tx.nonce is None and tx.tx_hash == ""
    assert tx.error.startswith("ERC20InsufficientBalance(")
    assert chain_tx_submit(idempotency_key="revert-estimate", to=usdc.address, data=data).pk == tx.pk
    assert _node_nonces(w3) == start
    assert all(s.next_nonce == start[s.address] for s in Signer.objects.all())


@pytest.mark.parametrize("profile", ["embedded", "test"])
def test_signer_keys_default_to_anvil_dev_accounts_one_to_five_in_the_embedded_and_test_profiles(settings, profile):
    settings.CHAIN_SIGNER_KEYS, settings.PROFILE = "", profile
    addresses = list(signer_accounts(chain_id=31337))
    assert addresses[0] == Web3.to_checksum_address("0x70997970C51812dc3A010C7d01b50e0d17dc79C8")
    assert len(addresses) == 5 and "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266" not in addresses
    with pytest.raises(SignerError, match="CHAIN_SIGNER_KEYS"):
        signer_accounts(chain_id=1)


@pytest.mark.parametrize("profile", ["services", "production"])
def test_the_services_and_production_profiles_must_be_given_signer_keys(settings, profile):
    settings.CHAIN_SIGNER_KEYS, settings.PROFILE = "", profile
    with pytest.raises(SignerError, match=f"CHAIN_SIGNER_KEYS is required .* on chain 31337 in the {profile}"):
        signer_accounts(chain_id=31337)
    settings.CHAIN_SIGNER_KEYS = ANVIL_SIGNER_KEYS[0]
    assert list(signer_accounts(chain_id=31337)) == [w3_account(ANVIL_SIGNER_KEYS[0]).address]


@pytest.fixture
def one_signer(settings):
    """The pool narrowed to dev account 1, so every transaction of the test shares its nonces."""
    settings.CHAIN_SIGNER_KEYS = ANVIL_SIGNER_KEYS[0]
    return w3_account(ANVIL_SIGNER_KEYS[0])


def w3_account(key):
    return chain_web3().eth.account.from_key(key)


def test_signer_resync_resends_our_dropped_rows_in_nonce_order(w3, manual_mining, one_signer):
    first = chain_tx_submit(idempotency_key="gap-1", to=SINK, value=1)
    second = chain_tx_submit(idempotency_key="gap-2", to=SINK, value=2)
    assert second.nonce == first.nonce + 1
    w3.provider.make_request("anvil_dropAllTransactions", [])
    signer = Signer.objects.get(address=one_signer.address)
    assert w3.eth.get_transaction_count(signer.address, "pending") == first.nonce

    resent = signer_resync(signer=signer)

    assert resent == [first.pk, second.pk]
    assert w3.eth.get_transaction_count(signer.address, "pending") == second.nonce + 1
    manual_mining()
    _poll_until_final()
    assert set(ChainTransaction.objects.values_list("status", flat=True)) == {Status.CONFIRMED}
    signer.refresh_from_db()
    assert signer.next_nonce == second.nonce + 1


def test_a_nonce_mined_by_a_foreign_transaction_marks_ours_replaced(w3, manual_mining, one_signer):
    tx = chain_tx_submit(idempotency_key="foreign", to=SINK, value=1)
    w3.provider.make_request("anvil_dropTransaction", [ChainTransaction.objects.get(pk=tx.pk).tx_hash])
    foreign = one_signer.sign_transaction(
        {
            "type": 2,
            "chainId": 31337,
            "nonce": tx.nonce,
            "to": SINK,
            "value": 99,
            "gas": 21_000,
            "maxFeePerGas": 10**10,
            "maxPriorityFeePerGas": 10**9,
        }
    )
    w3.eth.send_raw_transaction(foreign.raw_transaction)
    manual_mining()

    polled = chain_tx_poll(tx_id=tx.pk)

    assert polled.status == Status.REPLACED and "not sent by this system" in polled.error


def test_the_poller_sets_pending_transactions_per_signer(w3, manual_mining, one_signer):
    chain_tx_submit(idempotency_key="gauge-1", to=SINK, value=1)
    chain_tx_submit(idempotency_key="gauge-2", to=SINK, value=2)
    chain_tx_poll_pending()
    assert PENDING_TRANSACTIONS.labels(signer=one_signer.address)._value.get() == 2
    manual_mining()
    _poll_until_final()
    assert PENDING_TRANSACTIONS.labels(signer=one_signer.address)._value.get() == 0


def test_a_mined_transaction_waits_for_chain_confirmations(w3, settings):
    settings.CHAIN_CONFIRMATIONS = 2
    tx = chain_tx_submit(idempotency_key="confirmations", to=SINK, value=1)
    # anvil mines right after the send returns, not before: wait for the block.
    w3.eth.wait_for_transaction_receipt(ChainTransaction.objects.get(pk=tx.pk).tx_hash, timeout=30)

    mined = chain_tx_poll(tx_id=tx.pk)
    assert mined.status == Status.SENT and mined.confirmed_block and mined.receipt_status == 1
    w3.provider.make_request("evm_mine", [])
    assert chain_tx_poll(tx_id=tx.pk).status == Status.CONFIRMED
