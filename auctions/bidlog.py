"""The bid log's hash chain: canonical entries, pseudonyms and verification.

Each accepted bid is one entry. Its hash is SHA-256 over the canonical JSON of the entry
(sorted keys, no spaces, UTF-8), which includes the previous entry's hash; the first entry's
prev_hash is 64 zeros. Changing, removing or reordering any entry breaks every later hash and
the head stored on the auction (and, after close, on the sale). docs/auctions.md shows how to
verify a downloaded log with nothing but the standard library.
"""

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from django.conf import settings

GENESIS_HASH = "0" * 64
ENTRY_FIELDS = ("auction", "sequence", "bidder", "max_amount", "price", "leader", "at", "prev_hash")


def bidder_pseudonym(*, salt: str, user_id: int) -> str:
    """A per-auction pseudonym: the same buyer gets unrelated names in different auctions, and
    without the server's secret nobody can map a name back to an account."""
    key = hashlib.sha256(f"bid-log:{settings.SECRET_KEY}".encode()).digest()
    return "b-" + hmac.new(key, f"{salt}:{user_id}".encode(), hashlib.sha256).hexdigest()[:16]


def usdc_text(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.000001')):f}"


def timestamp_text(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_json(entry: dict) -> bytes:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def entry_hash(entry: dict) -> str:
    """SHA-256 (hex) of the canonical JSON of the entry's ENTRY_FIELDS (prev_hash included)."""
    return hashlib.sha256(canonical_json({name: entry[name] for name in ENTRY_FIELDS})).hexdigest()


def make_entry(
    *,
    auction_id: int,
    sequence: int,
    bidder: str,
    max_amount: Decimal,
    price: Decimal,
    leader: str,
    at: datetime,
    prev_hash: str,
) -> dict:
    entry = {
        "auction": auction_id,
        "sequence": sequence,
        "bidder": bidder,
        "max_amount": usdc_text(max_amount),
        "price": usdc_text(price),
        "leader": leader,
        "at": timestamp_text(at),
        "prev_hash": prev_hash,
    }
    entry["hash"] = entry_hash(entry)
    return entry


@dataclass(frozen=True)
class Verification:
    ok: bool
    head: str
    length: int
    error: str = ""


def bid_log_verify(entries: list[dict], *, expected_head: str | None = None) -> Verification:
    """Recompute the chain; report the first broken entry, or whether the head matches."""
    prev = GENESIS_HASH
    for position, entry in enumerate(entries, start=1):
        if entry.get("sequence") != position:
            return Verification(False, prev, position - 1, f"entry {position}: sequence {entry.get('sequence')!r}")
        if entry.get("prev_hash") != prev:
            return Verification(False, prev, position - 1, f"entry {position}: prev_hash does not match")
        try:
            recomputed = entry_hash(entry)
        except KeyError as exc:
            return Verification(False, prev, position - 1, f"entry {position}: missing field {exc}")
        if entry.get("hash") != recomputed:
            return Verification(False, prev, position - 1, f"entry {position}: hash does not match its contents")
        prev = recomputed
    if expected_head is not None and prev != expected_head:
        return Verification(False, prev, len(entries), "the chain does not end at the published head")
    return Verification(True, prev, len(entries))
