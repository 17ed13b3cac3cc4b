"""What a LeadNFT commits to about the lead: keccak256(salt ‖ canonical JSON of the lead's data).

The canonical JSON holds the contact details, so the hash is salted with 32 random bytes per
sale (Settlement.data_salt): without the salt nobody can confirm a guessed phone number against
the public hash; the owner, who sees both, can recompute it (the purchase page shows how).
"""

import json
import secrets

from eth_utils import keccak

from leads.models import Lead


def lead_canonical_data(*, lead: Lead, pii: dict) -> bytes:
    """The lead's data as canonical JSON bytes (sorted keys, no spaces, UTF-8)."""
    data = {
        "lead_id": lead.pk,
        "vertical": lead.vertical.slug,
        "country": lead.country,
        "state": lead.state,
        "zip": lead.zip,
        "city": lead.city,
        "fields": lead.fields,
        "contact": pii,
        "consent_at": lead.consent_at.isoformat(),
    }
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def new_salt() -> bytes:
    return secrets.token_bytes(32)


def lead_data_hash(*, canonical: bytes, salt: bytes) -> bytes:
    return keccak(salt + canonical)
