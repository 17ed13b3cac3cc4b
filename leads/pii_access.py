"""Reading a lead's contact details on a person's behalf: decrypt and record one PiiAccess in the
same transaction, so no read goes unlogged. Callers decide who may read (the seller's own lead:
leads.selectors; a purchase: escrow.services.purchases) and pass the reader's role; the details are never
logged.
"""

from django.db import transaction

from core import correlation
from leads.models import Lead, PiiAccess
from leads.selectors import lead_pii_read

CORRELATION_MAX = PiiAccess._meta.get_field("correlation_id").max_length


@transaction.atomic
def lead_pii_read_logged(*, user, lead: Lead, role: str, channel: str) -> dict:
    """The lead's decrypted contact details for `user`, who reads them as `role` (PiiAccess.Role)
    through `channel` (PiiAccess.Channel); one PiiAccess row per call. The caller has checked access."""
    if role not in PiiAccess.Role.values:
        raise ValueError(f"unknown role {role!r}")
    if channel not in PiiAccess.Channel.values:
        raise ValueError(f"unknown channel {channel!r}")
    pii = lead_pii_read(lead=lead)
    PiiAccess.objects.create(
        user=user, lead=lead, role=role, channel=channel, correlation_id=(correlation.get() or "")[:CORRELATION_MAX]
    )
    return pii
