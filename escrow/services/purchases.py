"""The one write of the purchase pages and API: reading a sold lead's contact details, which is
allowed only to the purchase's reader (escrow.selectors.purchases), only once the money arrived
(ContactStatus.AVAILABLE), and always leaves a PiiAccess row behind (leads.pii_access; staff read
the log in admin). The contact details are never logged.
"""

from django.db import transaction

from auctions.models import Sale
from escrow.choices import ContactStatus
from escrow.selectors import purchases as purchase_selectors
from leads.models import PiiAccess
from leads.pii_access import lead_pii_read_logged


class PurchaseNotFound(Sale.DoesNotExist):
    """Not a purchase this user may read (callers answer 404: existence is not revealed)."""


class ContactUnavailable(Exception):
    """The purchase is the user's, but its money has not arrived: `status` (a ContactStatus) says
    why; callers show it and its message instead of the contact details."""

    def __init__(self, status: str):
        self.status = status
        super().__init__(f"contact details unavailable: {status}")


@transaction.atomic
def purchase_pii_read(*, user, sale: Sale, channel: str) -> dict:
    """Check that `user` may read `sale` now (buyer, or NFT owner after a resale) and that its money
    arrived, record one PiiAccess (channel "page" or "api") and return the decrypted contact
    details, all in one transaction. Raises PurchaseNotFound for anyone else and
    ContactUnavailable before the money arrived; neither records anything."""
    if channel not in PiiAccess.Channel.values:
        raise ValueError(f"unknown channel {channel!r}")
    role, status = purchase_selectors.purchase_contact_status_now(user=user, sale=sale)
    if role is None:
        raise PurchaseNotFound("No such purchase.")
    if status != ContactStatus.AVAILABLE:
        raise ContactUnavailable(status)
    return lead_pii_read_logged(user=user, lead=sale.lead, role=role, channel=channel)
