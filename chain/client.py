"""The web3 client built from settings, and the node's status.

One `Web3` per process and RPC URL (HTTPProvider keeps a pooled session). Connection failures
surface as `ChainUnavailable`, so callers retry or dead-letter on one exception type.
"""

import threading
from contextlib import contextmanager

import requests
from django.conf import settings
from web3 import Web3
from web3.exceptions import ProviderConnectionError, RequestTimedOut, TimeExhausted

# anvil's (and hardhat's) local development chain id.
DEV_CHAIN_ID = 31337
# Profiles that may sign with anvil's committed development keys when no key is configured: the
# ones that run on a throwaway local chain. The services profile (a real deployment's shape) and
# production must be given CHAIN_DEPLOYER_KEY and CHAIN_SIGNER_KEYS.
DEV_KEY_PROFILES = ("embedded", "test")

_lock = threading.Lock()
_clients: dict[tuple[str, int], Web3] = {}


def chain_dev_keys_allowed(*, chain_id: int) -> bool:
    """Whether anvil's committed development keys may stand in for a missing configured key: on
    the development chain, in the embedded and test profiles only (settings.PROFILE)."""
    return chain_id == DEV_CHAIN_ID and getattr(settings, "PROFILE", "") in DEV_KEY_PROFILES


class ChainUnavailable(Exception):
    """The chain node cannot be reached (down, refusing, timing out) or is not configured."""


class ChainDisabled(ChainUnavailable):
    """CHAIN_RPC_URL is empty: this deployment runs without a chain."""


class ChainMisconfigured(Exception):
    """The node answers but is not the chain the settings expect (CHAIN_ID)."""


def chain_enabled() -> bool:
    return bool(settings.CHAIN_RPC_URL)


def chain_web3() -> Web3:
    """The process-wide `Web3` for CHAIN_RPC_URL (no request is made here)."""
    url = settings.CHAIN_RPC_URL
    if not url:
        raise ChainDisabled("CHAIN_RPC_URL is empty: the chain is disabled.")
    key = (url, settings.CHAIN_RPC_TIMEOUT)
    client = _clients.get(key)
    if client is None:
        with _lock:
            client = _clients.get(key)
            if client is None:
                provider = Web3.HTTPProvider(
                    url,
                    request_kwargs={"timeout": settings.CHAIN_RPC_TIMEOUT},
                    # Retries belong to the task layer (backoff, dead letters), not to each call.
                    exception_retry_configuration=None,
                )
                client = _clients[key] = Web3(provider)
    return client


@contextmanager
def chain_errors():
    """Turn transport failures inside the block into `ChainUnavailable`."""
    try:
        yield
    except ChainUnavailable:
        raise
    # requests.RequestException: refused, timed out, or an HTTP error from a proxy in front of the node.
    except (
        requests.RequestException,
        ProviderConnectionError,
        RequestTimedOut,
        TimeExhausted,
        ConnectionError,
        TimeoutError,
    ) as exc:
        raise ChainUnavailable(f"chain node unreachable at {settings.CHAIN_RPC_URL}: {type(exc).__name__}") from exc


def chain_id_check(w3: Web3) -> int:
    """The node's chain id; raises `ChainMisconfigured` when CHAIN_ID expects another."""
    with chain_errors():
        chain_id = w3.eth.chain_id
    if settings.CHAIN_ID and chain_id != settings.CHAIN_ID:
        raise ChainMisconfigured(
            f"the node at {settings.CHAIN_RPC_URL} is chain {chain_id}, CHAIN_ID expects {settings.CHAIN_ID}"
        )
    return chain_id


def chain_status() -> dict:
    """Chain id, latest block and whether the node is the expected chain; raises `ChainUnavailable`."""
    w3 = chain_web3()
    with chain_errors():
        chain_id = w3.eth.chain_id
        block = w3.eth.get_block("latest")
    expected = settings.CHAIN_ID or None
    return {
        "chain_id": chain_id,
        "expected_chain_id": expected,
        "chain_id_ok": expected is None or expected == chain_id,
        "block_number": block["number"],
        "block_timestamp": block["timestamp"],
        "ok": expected is None or expected == chain_id,
    }


def chain_health() -> dict:
    """/healthz's chain check: the node answers with the expected chain id."""
    status = chain_status()
    if not status["chain_id_ok"]:
        raise RuntimeError("unexpected chain id")
    return {"chain_id": status["chain_id"], "block": status["block_number"]}


def chain_code_at(w3: Web3, address: str) -> bytes:
    """The runtime code at `address` (empty: nothing deployed there on this chain)."""
    with chain_errors():
        return bytes(w3.eth.get_code(Web3.to_checksum_address(address)))
