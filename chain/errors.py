"""Decode contract reverts the same way whichever backend raised them.

eth-tester (in-process tests) raises `eth_tester.exceptions.TransactionFailed` carrying the raw
revert bytes; HTTP nodes such as anvil make web3 raise `ContractCustomError` /
`ContractLogicError` / `ContractPanicError` with the revert data as hex. Both come down to the
same bytes: a 4-byte selector and ABI-encoded arguments.
"""

import ast
from typing import Any, NamedTuple

from eth_abi import decode
from eth_utils import function_signature_to_4byte_selector
from web3.exceptions import ContractLogicError

# Solidity's built-in revert payloads.
_BUILTIN = {
    function_signature_to_4byte_selector("Error(string)"): ("Error", ["string"]),
    function_signature_to_4byte_selector("Panic(uint256)"): ("Panic", ["uint256"]),
}


class RevertReason(NamedTuple):
    """`name` is None when there is no revert data or the selector is not in the ABI (then
    `args` holds the raw data)."""

    name: str | None
    args: tuple


def _type_string(param: dict) -> str:
    if param["type"].startswith("tuple"):
        inner = ",".join(_type_string(c) for c in param.get("components", []))
        return f"({inner}){param['type'][len('tuple') :]}"
    return param["type"]


def _to_bytes(value: Any) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, dict):  # some nodes nest the payload: {"data": "0x..."}
        return _to_bytes(value.get("data"))
    if isinstance(value, str):
        text = value[2:] if value.startswith(("0x", "0X")) else value
        try:
            return bytes.fromhex(text)
        except ValueError:
            return None
    return None


def _tester_bytes(arg: Any) -> bytes | None:
    """eth-tester's payload: raw bytes, or "execution reverted: b'...'" (a bytes repr)."""
    if not isinstance(arg, str):
        return _to_bytes(arg)
    text = arg.removeprefix("execution reverted:").strip()
    if text[:2] in ("b'", 'b"'):
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return None
        return value if isinstance(value, bytes) else None
    return _to_bytes(text) if text.startswith("0x") else None


def revert_data(exc: BaseException) -> bytes:
    """The raw revert bytes carried by an exception from either backend (b"" when none)."""
    if isinstance(exc, ContractLogicError):
        data = _to_bytes(exc.data)
        return data or b""
    try:
        from eth_tester.exceptions import TransactionFailed
    except ImportError:  # eth-tester is a development dependency
        TransactionFailed = ()  # noqa: N806
    if TransactionFailed and isinstance(exc, TransactionFailed):
        for arg in exc.args:
            data = _tester_bytes(arg)
            if data:
                return data
        return b""
    data = _to_bytes(getattr(exc, "data", None))
    return data or b""


def decode_revert(exc: BaseException, abi: list[dict]) -> RevertReason:
    """(error name, decoded args) of a revert, matching its selector against the ABI's errors."""
    data = revert_data(exc)
    if len(data) < 4:
        return RevertReason(None, ())
    selector, payload = data[:4], data[4:]
    if selector in _BUILTIN:
        name, types = _BUILTIN[selector]
        return RevertReason(name, tuple(decode(types, payload)))
    for entry in abi:
        if entry.get("type") != "error":
            continue
        types = [_type_string(p) for p in entry.get("inputs", [])]
        if function_signature_to_4byte_selector(f"{entry['name']}({','.join(types)})") == selector:
            return RevertReason(entry["name"], tuple(decode(types, payload)))
    return RevertReason(None, (data,))
