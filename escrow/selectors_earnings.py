"""A seller's pending earnings: sold leads whose escrow has not been released yet, with what the
release is expected to pay them (price − platform fee − vertical royalty + bounties, the split of
escrow.fees that the release itself uses, or the split already fixed when the release was sent)
and when (the settlement's release time, else the sale's time plus the vertical's dispute window).

Reads only; a seller's own figures, never a buyer's identity.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import DecimalField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from auctions.models import BountyAward, Sale
from escrow.fees import release_after_for, release_amounts
from escrow.models import Settlement

ZERO = Decimal(0)
USDC_FIELD = DecimalField(max_digits=36, decimal_places=6)


@dataclass(frozen=True)
class PendingSale:
    sale_id: int
    lead_id: int
    auction_id: int
    vertical_name: str
    sold_at: datetime
    price: Decimal
    bounties: Decimal
    platform_fee: Decimal
    vertical_royalty: Decimal
    expected_net: Decimal  # what the seller is paid at release: price − fee − royalty + bounties
    release_after: datetime
    state: str  # Settlement.State; "pending" while no settlement exists
    state_label: str


@dataclass(frozen=True)
class PendingEarnings:
    sales: list[PendingSale]  # soonest release first, at most `limit`
    count: int  # all pending sales
    total_price: Decimal
    total_bounties: Decimal
    total_fees: Decimal  # platform fees and vertical royalties together
    total_expected_net: Decimal
    next_release: datetime | None


def _pending_rows(*, seller) -> list[dict]:
    bounties = (BountyAward.objects.filter(sale_id=OuterRef("pk")).values("sale_id")
                .annotate(total=Sum("amount")).values("total"))
    return list(
        Sale.objects.filter(seller=seller)
        .exclude(settlement__state__in=(Settlement.State.RELEASED, Settlement.State.REFUNDING,
                                        Settlement.State.REFUNDED))
        .annotate(bounty_total=Coalesce(Subquery(bounties, output_field=USDC_FIELD), Value(ZERO),
                                        output_field=USDC_FIELD))
        .values("id", "lead_id", "auction_id", "price", "created_at", "bounty_total",
                "lead__vertical__name", "lead__vertical__owner_address", "lead__vertical__dispute_window_hours",
                "settlement__state", "settlement__release_after", "settlement__seller_amount",
                "settlement__platform_fee", "settlement__vertical_royalty"))


def _pending_sale(row: dict) -> PendingSale:
    price, bounties = row["price"], row["bounty_total"] or ZERO
    if row["settlement__seller_amount"] is not None:  # the release is sent: its split is fixed
        seller_amount = row["settlement__seller_amount"]
        fee, royalty = row["settlement__platform_fee"] or ZERO, row["settlement__vertical_royalty"] or ZERO
    else:
        seller_amount, fee, royalty = release_amounts(
            price=price, vertical_has_owner=bool(row["lead__vertical__owner_address"]))
    release_after = row["settlement__release_after"] or release_after_for(
        sold_at=row["created_at"], dispute_window_hours=row["lead__vertical__dispute_window_hours"])
    state = row["settlement__state"] or Settlement.State.PENDING
    return PendingSale(
        sale_id=row["id"], lead_id=row["lead_id"], auction_id=row["auction_id"],
        vertical_name=row["lead__vertical__name"], sold_at=row["created_at"], price=price, bounties=bounties,
        platform_fee=fee, vertical_royalty=royalty, expected_net=seller_amount + bounties,
        release_after=release_after, state=state, state_label=Settlement.State(state).label)


def earnings_pending_for_seller(*, seller, limit: int = 100) -> PendingEarnings:
    """The seller's sales still in escrow (every settlement state but released and refunded, and
    sales not settled on chain yet), soonest release first, with totals over all of them. One query."""
    sales = sorted((_pending_sale(row) for row in _pending_rows(seller=seller)),
                   key=lambda s: (s.release_after, s.sale_id))
    return PendingEarnings(
        sales=sales[:limit], count=len(sales),
        total_price=sum((s.price for s in sales), ZERO),
        total_bounties=sum((s.bounties for s in sales), ZERO),
        total_fees=sum((s.platform_fee + s.vertical_royalty for s in sales), ZERO),
        total_expected_net=sum((s.expected_net for s in sales), ZERO),
        next_release=sales[0].release_after if sales else None)
