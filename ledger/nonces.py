"""The one-time form nonces the money forms use (the wallet, withdraw and staff credit pages are
escrow/views/wallet.py: in chain mode money is backed by the vault)."""

import re
import secrets

_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def _new_nonce() -> str:
    # One per rendered form: a double-submitted form replays the same ledger transaction.
    return secrets.token_urlsafe(16)


def _valid_nonce(value: str | None) -> str | None:
    return value if value and _NONCE.match(value) else None
