"""Users' wallets: a custodial address per user, or an own address linked by Sign-In with Ethereum.

Custodial keys are sealed like the PII vault's data (core/sealing.py: AES-256-GCM, a random 12-byte
nonce in front, associated data binding the blob to its owner) under CHAIN_WALLET_MASTER_KEY, and
are never logged. SIWE nonces live in the cache with a TTL; `cache.delete` returning a true value
for exactly one caller is what makes each nonce single use.
"""

import base64
import logging
import re
import secrets
from datetime import datetime, timedelta
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_utils import is_checksum_address

from chain.artifacts import load_artifact
from chain.client import (
    DEV_CHAIN_ID,
    ChainMisconfigured,
    ChainUnavailable,
    chain_enabled,
    chain_errors,
    chain_id_check,
    chain_web3,
)
from chain.deploy import contract_address
from chain.models import Wallet
from chain.signals import wallet_linked
from core.sealing import open_bytes, seal_bytes

logger = logging.getLogger(__name__)

AAD_PREFIX = b"leadengine.wallet.v1:"
SIWE_NONCE_TTL = timedelta(minutes=10)
SIWE_VERSION = "1"
SIWE_STATEMENT = "Link this wallet to your Lead Engine account."
_SIWE_HEADER = re.compile(
    r"^(?:[A-Za-z][A-Za-z0-9+.-]*://)?(?P<domain>[^\s/]+) wants you to sign in with your "
    r"Ethereum account:$"
)
_SIWE_FIELDS = {
    "URI": "uri",
    "Version": "version",
    "Chain ID": "chain_id",
    "Nonce": "nonce",
    "Issued At": "issued_at",
    "Expiration Time": "expiration_time",
    "Not Before": "not_before",
    "Request ID": "request_id",
}
_NONCE = re.compile(r"^[A-Za-z0-9]{8,64}$")


# ---------------------------------------------------------------- key sealing


@lru_cache(maxsize=4)
def _parse_master_key(encoded: str) -> bytes:
    try:
        key = base64.b64decode(encoded, validate=True)
    except ValueError as exc:
        raise ImproperlyConfigured("CHAIN_WALLET_MASTER_KEY is not base64.") from exc
    if len(key) != 32:
        raise ImproperlyConfigured(f"CHAIN_WALLET_MASTER_KEY must be 32 bytes (AES-256), got {len(key)}.")
    return key


def _aad(*, user_id: int, address: str) -> bytes:
    return AAD_PREFIX + f"{user_id}:{address}".encode()


def _seal_key(private_key: bytes, *, user_id: int, address: str) -> bytes:
    return seal_bytes(
        key=_parse_master_key(settings.CHAIN_WALLET_MASTER_KEY),
        plaintext=private_key,
        aad=_aad(user_id=user_id, address=address),
    )


def _open_key(blob: bytes, *, user_id: int, address: str) -> bytes:
    return open_bytes(
        key=_parse_master_key(settings.CHAIN_WALLET_MASTER_KEY), blob=blob, aad=_aad(user_id=user_id, address=address)
    )


# ---------------------------------------------------------------- selectors and services


def wallet_get_for(*, user) -> Wallet | None:
    """The user's wallet if they have one (a read: pages use it, nothing is created)."""
    return Wallet.objects.filter(user=user).first()


def wallet_for(*, user) -> Wallet:
    """The user's wallet, creating a custodial one on first use (race-safe: one per user)."""
    wallet = wallet_get_for(user=user)
    if wallet is not None:
        return wallet
    account = Account.create()
    sealed = _seal_key(bytes(account.key), user_id=user.pk, address=account.address)
    wallet, created = Wallet.objects.get_or_create(
        user=user,
        defaults={
            "address": account.address,
            "custodial_address": account.address,
            "kind": Wallet.Kind.CUSTODIAL,
            "encrypted_key": sealed,
        },
    )
    if created:
        logger.info("custodial wallet created", extra={"user_id": user.pk, "address": wallet.address})
    return wallet


def wallet_custodial_account(*, wallet: Wallet) -> LocalAccount:
    """The signing account of a custodial wallet (decrypted in memory; never log or return it)."""
    if wallet.encrypted_key is None or not wallet.custodial_address:
        raise ValueError(f"Wallet {wallet.pk} has no custodial key: its key is the user's own.")
    account = Account.from_key(
        _open_key(wallet.encrypted_key, user_id=wallet.user_id, address=wallet.custodial_address)
    )
    if account.address != wallet.custodial_address:
        raise ValueError(f"Wallet {wallet.pk}: the sealed key does not match the address.")
    return account


def _nonce_cache_key(*, user_id: int, nonce: str) -> str:
    return f"chain:siwe-nonce:{user_id}:{nonce}"


def siwe_nonce_issue(*, user) -> str:
    """A fresh SIWE nonce for this user, valid for SIWE_NONCE_TTL and for one link attempt that succeeds."""
    nonce = secrets.token_hex(16)
    cache.set(_nonce_cache_key(user_id=user.pk, nonce=nonce), 1, timeout=int(SIWE_NONCE_TTL.total_seconds()))
    return nonce


def siwe_chain_id() -> int:
    return settings.CHAIN_ID or DEV_CHAIN_ID


def _parse_time(value: str, field: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError({field: "Not an RFC 3339 timestamp."}) from None
    if parsed.tzinfo is None:
        raise ValidationError({field: "The timestamp needs a time zone offset."})
    return parsed


def siwe_message_parse(message: str) -> dict:
    """The fields of an EIP-4361 message; raises ValidationError (by field) when it is not one."""
    lines = message.split("\n")
    header = _SIWE_HEADER.match(lines[0]) if lines else None
    if header is None or len(lines) < 4:
        raise ValidationError({"message": "Not a Sign-In with Ethereum (EIP-4361) message."})
    parsed = {"domain": header["domain"], "address": lines[1].strip(), "statement": None}
    if lines[2] != "":
        raise ValidationError({"message": "Expected an empty line after the address."})
    rest = lines[3:]
    # An optional statement line, framed by empty lines, before the fields.
    if rest and rest[0] and not rest[0].startswith("URI: "):
        parsed["statement"] = rest[0]
        rest = rest[1:]
    while rest and rest[0] == "":
        rest = rest[1:]
    for line in rest:
        if line == "" or line == "Resources:" or line.startswith("- "):
            continue
        name, sep, value = line.partition(": ")
        if not sep or name not in _SIWE_FIELDS:
            raise ValidationError({"message": f"Unexpected line {line[:80]!r}."})
        parsed[_SIWE_FIELDS[name]] = value.strip()
    missing = [
        label
        for label, key in _SIWE_FIELDS.items()
        if key in ("uri", "version", "chain_id", "nonce", "issued_at") and not parsed.get(key)
    ]
    if missing:
        raise ValidationError({"message": f"Missing: {', '.join(missing)}."})
    return parsed


def _siwe_check(*, message: str, signature: str, domain: str, now: datetime) -> dict:
    fields = siwe_message_parse(message)
    errors: dict[str, str] = {}
    if fields["domain"].lower() != domain.lower():
        errors["domain"] = f"The message is for {fields['domain']!r}, not this site ({domain!r})."
    if not is_checksum_address(fields["address"]):
        errors["address"] = "Not an EIP-55 checksummed address."
    if fields["version"] != SIWE_VERSION:
        errors["version"] = "Only version 1 is supported."
    if fields["chain_id"] != str(siwe_chain_id()):
        errors["chain_id"] = f"Sign on chain {siwe_chain_id()}."
    if not _NONCE.match(fields["nonce"]):
        errors["nonce"] = "Not a nonce we issued."
    _parse_time(fields["issued_at"], "issued_at")
    if fields.get("expiration_time") and _parse_time(fields["expiration_time"], "expiration_time") <= now:
        errors["expiration_time"] = "The message has expired."
    if fields.get("not_before") and _parse_time(fields["not_before"], "not_before") > now:
        errors["not_before"] = "The message is not valid yet."
    if errors:
        raise ValidationError(errors)
    try:
        signer = Account.recover_message(encode_defunct(text=message), signature=signature)
    except Exception:  # noqa: BLE001 - malformed signatures raise several types
        raise ValidationError({"signature": "Not a valid signature."}) from None
    if signer != fields["address"]:
        raise ValidationError({"signature": "The signature is not by the message's address."})
    return fields


def _vault_holdings(address: str) -> tuple[int, int] | None:
    """(free balance, announced exit) of `address` in the EscrowVault, in base units; None when
    there is no chain or no vault to ask. Raises ValidationError when the node does not answer."""
    if not chain_enabled():
        return None
    try:
        w3 = chain_web3()
        vault_address = contract_address(chain_id=chain_id_check(w3), name="EscrowVault")
        if not vault_address:
            return None
        vault = w3.eth.contract(address=vault_address, abi=load_artifact("EscrowVault")["abi"])
        with chain_errors():
            return int(vault.functions.balanceOf(address).call()), int(vault.functions.exits(address).call()[0])
    except (ChainUnavailable, ChainMisconfigured):
        raise ValidationError(
            {
                "address": "The chain is not reachable right now, and linking needs to look the "
                "address up in the vault: try again in a minute."
            }
        ) from None


def _check_vault_clear(address: str, *, what: str, message: str) -> None:
    """Refuse when `address` holds money or an exit in the vault the ledger does not know about
    (a new address) or would lose track of (the linked address being replaced)."""
    holdings = _vault_holdings(address)
    if holdings is not None and any(holdings):
        raise ValidationError({what: message})


def siwe_message_check_and_link(
    *, user, message: str, signature: str, domain: str, now: datetime | None = None
) -> Wallet:
    """Verify a signed EIP-4361 message (domain = this request's host, our unused nonce, our chain,
    not expired, signed by its address) and make that address the user's linked wallet.

    Raises ValidationError keyed by field. A custodial key the wallet had is kept (see Wallet).
    """
    now = now or timezone.now()
    fields = _siwe_check(message=message, signature=signature, domain=domain, now=now)
    address = fields["address"]
    if Wallet.objects.filter(address=address).exclude(user=user).exists():
        raise ValidationError({"address": "This address belongs to another account."})
    _check_vault_clear(
        address,
        what="address",
        message="This address already holds USDC or an announced exit "
        "in the vault, which the marketplace has not credited to you: take it out with "
        "exit() first, or link another address.",
    )
    current = Wallet.objects.filter(user=user, kind=Wallet.Kind.LINKED).exclude(address=address).first()
    if current is not None:
        _check_vault_clear(
            current.address,
            what="address",
            message="Your linked wallet still holds USDC or an "
            "announced exit in the vault: withdraw it first, then link another address.",
        )
    # Consumed only once everything else checked out; exactly one caller sees the delete succeed.
    if not cache.delete(_nonce_cache_key(user_id=user.pk, nonce=fields["nonce"])):
        raise ValidationError({"nonce": "Unknown, expired or already used nonce; request a new one."})
    try:
        with transaction.atomic():
            wallet = Wallet.objects.select_for_update().filter(user=user).first()
            if wallet is None:
                wallet = Wallet(user=user)
            wallet.address = address
            wallet.kind = Wallet.Kind.LINKED
            wallet.linked_at = now  # the custodial key and address stay: funds sent there are not stranded
            wallet.save()
            transaction.on_commit(lambda: wallet_linked.send(sender=Wallet, wallet=wallet), robust=True)
    except IntegrityError:
        raise ValidationError({"address": "This address belongs to another account."}) from None
    logger.info("wallet linked", extra={"user_id": user.pk, "address": address})
    return wallet
