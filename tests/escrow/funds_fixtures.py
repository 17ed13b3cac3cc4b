"""Fixtures for the deposit and withdrawal tests: the marketplace contracts on anvil, and a payer.

Imported by each funds test module (not a conftest: other escrow test modules keep their own).
Anvil's dev account 7 pays deposits; no other test module uses it.
"""

import time
from decimal import Decimal
from types import SimpleNamespace

import pytest
from eth_account import Account
from web3 import Web3

from chain.artifacts import load_artifact
from chain.client import DEV_CHAIN_ID, chain_web3
from chain.deploy import _send_call, contract_address, marketplace_deploy

# anvil's dev account 7 (mnemonic "test test ... junk"): public knowledge, dev chains only.
PAYER_KEY = "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356"
USDC = 10**6


def units(amount: str) -> int:
    return int(Decimal(amount) * USDC)


@pytest.fixture
def w3():
    return chain_web3()


@pytest.fixture
def contracts(w3):
    """MockUSDC, EscrowVault (and the NFTs) deployed fresh for this test's database."""
    marketplace_deploy(w3=w3)

    def contract(name):
        return w3.eth.contract(
            address=contract_address(chain_id=DEV_CHAIN_ID, name=name), abi=load_artifact(name)["abi"]
        )

    return SimpleNamespace(vault=contract("EscrowVault"), usdc=contract("MockUSDC"))


@pytest.fixture
def deposit(w3, contracts):
    """deposit(address, "12.5") → the receipt of a depositFor by the payer (mints, approves first)."""
    payer = Account.from_key(PAYER_KEY)

    def send(call):
        _send_call(w3, account=payer, chain_id=DEV_CHAIN_ID, call=call)

    def deposit_for(address: str, amount: str):
        value = units(amount)
        send(contracts.usdc.functions.mint(payer.address, value))
        send(contracts.usdc.functions.approve(contracts.vault.address, value))
        send(contracts.vault.functions.depositFor(Web3.to_checksum_address(address), value))
        return w3.eth.get_block("latest")["number"]

    return deposit_for


@pytest.fixture
def mine(w3):
    """mine(n): n empty blocks."""
    return lambda n=1: w3.provider.make_request("anvil_mine", [hex(n)])


def wait_mined() -> None:
    """Wait for the receipts of every chain transaction we have sent (anvil automines, but
    asynchronously: a transaction can still be in its pool right after sending)."""
    from chain.models import ChainTransaction

    w3 = chain_web3()
    for tx_hash in ChainTransaction.objects.filter(status="sent").values_list("tx_hash", flat=True):
        w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30, poll_latency=0.05)


@pytest.fixture
def send_as(w3):
    """send_as(account, call): the account (a LocalAccount: e.g. a custodial key) sends `call`
    itself, its gas topped up first (anvil_setBalance). Returns the receipt; a revert raises."""

    def send(account, call):
        w3.provider.make_request("anvil_setBalance", [account.address, hex(10**18)])
        _send_call(w3, account=account, chain_id=DEV_CHAIN_ID, call=call)

    return send


@pytest.fixture
def chain_clock(w3):
    """chain_clock(seconds): move anvil's clock on (and mine a block), e.g. past an exit delay.
    Afterwards the clock is set back to ours (chain_clock_reset)."""

    def advance(seconds: int) -> None:
        w3.provider.make_request("evm_increaseTime", [seconds])
        w3.provider.make_request("evm_mine", [])

    yield advance
    chain_clock_reset(w3)


def chain_clock_reset(w3) -> None:
    """Set anvil's clock back to the wall clock: one anvil serves the whole run, and a clock left
    ahead would make later tests' exits unlock "later" than our clock expects."""
    w3.provider.make_request("evm_setTime", [int(time.time())])
    w3.provider.make_request("evm_mine", [])
