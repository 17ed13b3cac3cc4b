"""The PII vault: authenticated encryption (AES-256-GCM) and keyed hashes for dedupe.

Keys come from settings (PII_KEYS, PII_ACTIVE_KEY_ID, PII_HASH_KEY), never from code in
production. Each ciphertext records the id of the key that sealed it, so keys rotate:
add a key, make it active, run `manage.py pii_rotate_keys`, then drop the old one.
"""

import base64
import hashlib
import hmac
import json
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from core.sealing import open_bytes, seal_bytes

AAD_PREFIX = b"leadengine.pii.v1:"


@lru_cache(maxsize=8)
def _parse_keys(spec: str) -> dict[str, bytes]:
    keys = {}
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        kid, _, encoded = item.partition(":")
        try:
            key = base64.b64decode(encoded, validate=True)
        except ValueError as exc:
            raise ImproperlyConfigured(f"PII key {kid!r} is not base64.") from exc
        if len(key) != 32:
            raise ImproperlyConfigured(f"PII key {kid!r} must be 32 bytes (AES-256), got {len(key)}.")
        keys[kid.strip()] = key
    if not keys:
        raise ImproperlyConfigured("PII_KEYS is empty.")
    return keys


def keys() -> dict[str, bytes]:
    return _parse_keys(settings.PII_KEYS)


def active_key_id() -> str:
    kid = settings.PII_ACTIVE_KEY_ID
    if kid not in keys():
        raise ImproperlyConfigured(f"PII_ACTIVE_KEY_ID {kid!r} is not in PII_KEYS.")
    return kid


def seal(data: dict, *, context: str) -> tuple[str, bytes]:
    """Encrypt a dict; `context` (e.g. the lead id) is bound as associated data."""
    kid = active_key_id()
    plaintext = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    return kid, seal_bytes(key=keys()[kid], plaintext=plaintext, aad=AAD_PREFIX + context.encode())


def seal_many(items: list[tuple[dict, str]]) -> list[tuple[str, bytes]]:
    """seal() for a batch of (data, context) pairs: the same key, a fresh nonce per blob."""
    kid = active_key_id()
    key = keys()[kid]
    return [
        (
            kid,
            seal_bytes(
                key=key,
                plaintext=json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode(),
                aad=AAD_PREFIX + context.encode(),
            ),
        )
        for data, context in items
    ]


def open_sealed(*, key_id: str, blob: bytes, context: str) -> dict:
    """Decrypt; raises cryptography's InvalidTag when the blob or its context was tampered with."""
    try:
        key = keys()[key_id]
    except KeyError as exc:
        raise ImproperlyConfigured(f"PII key {key_id!r} is needed to decrypt but not configured.") from exc
    return json.loads(open_bytes(key=key, blob=blob, aad=AAD_PREFIX + context.encode()))


def keyed_hash(kind: str, normalized: str) -> str:
    """HMAC-SHA256 of a normalized value: equal inputs match, the value cannot be read back."""
    if not normalized:
        return ""
    message = f"{kind}:{normalized}".encode()
    return hmac.new(settings.PII_HASH_KEY.encode(), message, hashlib.sha256).hexdigest()
