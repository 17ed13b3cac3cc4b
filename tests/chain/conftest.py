"""In-process chain for contract tests: web3.py on eth-tester (py-evm), no node, no database."""

import ast

import pytest
from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.exceptions import TransactionFailed
from eth_utils import keccak
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError
from web3.providers.eth_tester import EthereumTesterProvider

from chain.artifacts import load_artifact


@pytest.fixture
def w3():
    backend = PyEVMBackend()
    return Web3(EthereumTesterProvider(EthereumTester(backend)))


def deploy(w3, name, *args, sender=None):
    artifact = load_artifact(name)
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    tx = factory.constructor(*args).transact({"from": sender or w3.eth.accounts[0]})
    receipt = w3.eth.wait_for_transaction_receipt(tx)
    return w3.eth.contract(address=receipt.contractAddress, abi=artifact["abi"])


def error_selector(contract, name: str) -> bytes:
    """4-byte selector of custom error `name` from the contract's ABI."""
    for item in contract.abi:
        if item["type"] == "error" and item["name"] == name:
            signature = f"{name}({','.join(_abi_type(i) for i in item['inputs'])})"
            return keccak(text=signature)[:4]
    raise KeyError(name)


def _abi_type(param) -> str:
    if param["type"].startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in param["components"]) + ")" + param["type"][5:]
    return param["type"]


def revert_data(exc: Exception) -> bytes:
    """Raw revert bytes from eth-tester's TransactionFailed or web3's custom-error exceptions."""
    data = exc.args[0] if exc.args else b""
    if isinstance(exc, (ContractCustomError, ContractLogicError)):
        data = exc.data
    if isinstance(data, str):
        # eth-tester: "execution reverted: b'...'" (the repr of the raw bytes) or a hex string.
        text = data.removeprefix("execution reverted: ").strip()
        if text[:2] in ("b'", 'b"'):
            return ast.literal_eval(text)
        return bytes.fromhex(text.removeprefix("0x")) if text else b""
    return bytes(data)


class Reverts:
    def __init__(self, contract, error: str):
        self.selector = error_selector(contract, error)
        self.error = error
        self.data = b""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is None:
            raise AssertionError(f"expected revert {self.error}, nothing reverted")
        if not isinstance(exc, (TransactionFailed, ContractCustomError, ContractLogicError)):
            return False
        self.data = revert_data(exc)
        assert self.data[:4] == self.selector, f"expected {self.error}, got revert data {self.data.hex()}"
        return True


@pytest.fixture
def reverts():
    """`with reverts(contract, "ErrorName"):` asserts the block reverts with that custom error."""
    return Reverts
