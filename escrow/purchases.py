"""The one write of the purchase pages and API: reading a sold lead's contact details, which is
allowed only to the purchase's reader (escrow.selectors_purchases) and always leaves a PiiAccess
row behind (staff read the log in admin). The contact details are never logged.
"""

from django.db import transaction

from auctions.models import Sale
from escrow import selectors_purchases
from escrow.models import PiiAccess
from leads.selectors import lead_pii_read
from marketplace import correlation

CORRELATION_MAX = PiiAccess._meta.get_field("correlation_id").max_length


class PurchaseNotFound(Sale.DoesNotExist):
    """Not a purchase this user may read (callers answer 404: existence is not revealed)."""


@transaction.atomic
def purchase_pii_read(*, user, sale: Sale, channel: str) -> dict:
    """Check that `user` may read `sale` now (buyer, or NFT owner after a resale), record one
    PiiAccess (channel "page" or "api") and return the decrypted contact details, all in one
    transaction. Raises PurchaseNotFound (nothing recorded) for anyone else."""
    if channel not in PiiAccess.Channel.values:
        raise ValueError(f"unknown channel {channel!r}")
    as_owner = selectors_purchases.purchase_reader_role(user=user, sale=sale)
    if as_owner is None:
        raise PurchaseNotFound("No such purchase.")
    pii = lead_pii_read(lead=sale.lead)
    PiiAccess.objects.create(user=user, sale=sale, channel=channel, as_owner=as_owner,
                             correlation_id=(correlation.get() or "")[:CORRELATION_MAX])
    return pii
