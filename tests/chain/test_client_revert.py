"""decode_revert: the same (error name, args) from eth-tester's TransactionFailed and anvil's
ContractCustomError."""

import json

import pytest
from eth_tester.exceptions import TransactionFailed
from web3 import Web3
from web3.exceptions import ContractCustomError
from web3.providers.eth_tester import EthereumTesterProvider

from chain.client import chain_web3
from chain.errors import RevertReason, decode_revert
from tests.chain.test_client_deploy import NOPE_ABI, NOPE_RUNTIME, TEST_DEPLOYER_KEY, _creation_code

pytestmark = pytest.mark.django_db


def _mock_usdc() -> dict:
    from chain.artifacts import load_artifact

    return load_artifact("MockUSDC")


def _deploy(w3, abi, bytecode, sender):
    tx = w3.eth.contract(abi=abi, bytecode=bytecode).constructor().transact({"from": sender})
    return w3.eth.contract(address=w3.eth.wait_for_transaction_receipt(tx).contractAddress, abi=abi)


@pytest.fixture
def tester_w3():
    return Web3(EthereumTesterProvider())


@pytest.fixture
def anvil_w3():
    # anvil signs eth_sendTransaction for its (unlocked) dev accounts; the 10th keeps off the
    # nonces other tests use. A fresh Web3 on the same provider: default_account is per instance.
    w3 = Web3(chain_web3().provider)
    w3.eth.default_account = w3.eth.account.from_key(TEST_DEPLOYER_KEY).address
    return w3


@pytest.mark.parametrize("backend", ["tester_w3", "anvil_w3"])
def test_a_hand_assembled_custom_error_decodes_on_both_backends(backend, request):
    w3 = request.getfixturevalue(backend)
    sender = w3.eth.accounts[0] if backend == "tester_w3" else w3.eth.default_account
    contract = _deploy(w3, NOPE_ABI, _creation_code(NOPE_RUNTIME), sender)

    with pytest.raises((TransactionFailed, ContractCustomError)) as caught:
        contract.functions.fail().call({"from": sender})

    assert decode_revert(caught.value, NOPE_ABI) == RevertReason("Nope", (42,))


@pytest.mark.parametrize("backend", ["tester_w3", "anvil_w3"])
def test_mock_usdc_insufficient_balance_decodes_on_both_backends(backend, request):
    w3 = request.getfixturevalue(backend)
    artifact = _mock_usdc()
    sender = w3.eth.accounts[0] if backend == "tester_w3" else w3.eth.default_account
    usdc = _deploy(w3, artifact["abi"], artifact["bytecode"], sender)
    receiver = "0x000000000000000000000000000000000000dEaD"

    with pytest.raises((TransactionFailed, ContractCustomError)) as caught:
        usdc.functions.transfer(receiver, 5_000_000).call({"from": sender})

    name, args = decode_revert(caught.value, artifact["abi"])
    assert name == "ERC20InsufficientBalance"
    assert (Web3.to_checksum_address(args[0]), args[1], args[2]) == (sender, 0, 5_000_000)


def test_builtin_error_string_and_unknown_selectors():
    from eth_abi import encode
    from eth_utils import function_signature_to_4byte_selector as selector

    error = ContractCustomError("reverted", data="0x" + (selector("Error(string)") + encode(["string"], ["no"])).hex())
    assert decode_revert(error, []) == ("Error", ("no",))
    unknown = ContractCustomError("reverted", data="0xdeadbeef")
    assert decode_revert(unknown, NOPE_ABI) == (None, (bytes.fromhex("deadbeef"),))
    assert decode_revert(TransactionFailed("execution reverted"), NOPE_ABI) == (None, ())
    assert json.dumps(decode_revert(ContractCustomError("x", data=None), [])) == "[null, []]"
