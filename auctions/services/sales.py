"""Recording a sale: the one place an auction win or a buy-now purchase becomes a Sale.

Both callers hold the auction's (or listing's) lock and the lead's lock, and have already moved
the price into the sale's escrow account. Everything that must happen in the same transaction
as the sale — bounty payouts to the seller — happens here, so the two paths cannot drift apart.
"""

from datetime import datetime
from decimal import Decimal

from auctions.models import Auction, Sale
from auctions.notices import lead_sold_notify
from auctions.services.bounties import bounty_pay_for_sale
from auctions.signals import sale_recorded
from leads.models import Lead
from ledger.models import LedgerAccount


def sale_record(
    *, auction: Auction, lead: Lead, buyer_id: int, seller_id: int, price: Decimal, escrow: LedgerAccount, now: datetime
) -> Sale:
    """Create the Sale (price already in `escrow`) and pay the bounties it earns. Caller holds
    the lead's row lock, so a lead is sold — and its bounties paid — once."""

    sale = Sale.objects.create(
        auction=auction,
        lead=lead,
        buyer_id=buyer_id,
        seller_id=seller_id,
        price=price,
        escrow_account=escrow,
        bid_log_digest=auction.log_head,
        bid_log_length=auction.bid_count,
        created_at=now,
    )
    bounty_pay_for_sale(sale=sale, now=now)
    lead_sold_notify(sale=sale)
    sale_recorded.send(sender=Sale, sale=sale)  # escrow queues the settlement on commit
    return sale
