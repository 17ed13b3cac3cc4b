"""Builders for bounty tests: funded bounties and sales by auction or by buy-now."""

import itertools
from datetime import datetime, timedelta
from decimal import Decimal

from auctions.choices import BidSource
from auctions.models import Bounty, BuyNowListing, Sale
from auctions.services.auctions import auction_close, bid_place
from auctions.services.bounties import bounty_create
from auctions.services.buynow import buy_now_purchase
from tests.auctions.factories import funded_buyer, make_auction

D = Decimal
_keys = itertools.count()


def make_bounty(
    *, vertical, buyer=None, amount_per_lead: Decimal = D("5"), fund: Decimal = D("50"), **criteria
) -> Bounty:
    """An active bounty funded with `fund` from a (funded) buyer's available balance."""
    buyer = buyer or funded_buyer()
    return bounty_create(
        buyer=buyer,
        vertical=vertical,
        name=criteria.pop("name", "bounty"),
        amount_per_lead=amount_per_lead,
        amount=fund,
        idempotency_key=f"test-{next(_keys)}",
        **criteria,
    )


def sell_by_auction(*, t0: datetime, buyer=None, max_amount: Decimal = D("10"), **lead_kwargs) -> Sale:
    """Open an auction at t0 (reserve 10), one bid, close at t0 + 60 s: sold at the reserve (10)."""
    auction = make_auction(now=t0, **lead_kwargs)
    buyer = buyer or funded_buyer()
    bid_place(
        auction_id=auction.pk, buyer=buyer, max_amount=max_amount, source=BidSource.API, now=t0 + timedelta(seconds=5)
    )
    auction_close(auction_id=auction.pk, now=t0 + timedelta(seconds=60))
    return Sale.objects.get(auction=auction)


def list_for_buy_now(*, t0: datetime, **lead_kwargs) -> BuyNowListing:
    """An auction that closed without a bid: its lead is listed at 12 (reserve 10 × 1.2)."""
    auction = make_auction(now=t0, **lead_kwargs)
    auction_close(auction_id=auction.pk, now=t0 + timedelta(seconds=60))
    return BuyNowListing.objects.get(auction=auction)


def sell_by_buy_now(*, t0: datetime, buyer=None, **lead_kwargs) -> Sale:
    listing = list_for_buy_now(t0=t0, **lead_kwargs)
    return buy_now_purchase(listing_id=listing.pk, buyer=buyer or funded_buyer(), now=t0 + timedelta(seconds=90))
