"""Authenticated encryption for secrets at rest (AES-256-GCM): a random 12-byte nonce in front of
the ciphertext, associated data binding the blob to its owner. The PII vault (leads.vault) and the
custodial wallet keys (chain.wallets) seal with it under their own keys."""

import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


def seal_bytes(*, key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def open_bytes(*, key: bytes, blob: bytes, aad: bytes) -> bytes:
    """Raises cryptography's InvalidTag when the blob or its associated data was tampered with."""
    blob = bytes(blob)
    return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
