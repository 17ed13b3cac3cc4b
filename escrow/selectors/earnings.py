"""A seller's pending earnings: sold leads whose escrow will be released to them and has not been
yet, with what the release is expected to pay (the held amount − platform fee − vertical royalty +
bounties, the split of escrow.services.fees that the release itself uses, or the split already
fixed when the release was sent) and when (the settlement's release time, else the sale's time
plus the vertical's dispute window). The held amount is the price less a partial refund sent (a
dispute's outcome): what the deal still holds, and what the release splits (Settlement.held_amount).

Which sales are pending: those with a settlement that is not released or refunded (refunding,
refunded), and those with no settlement yet that will get one — the rule the purchases' contact
status uses (escrow.selectors.purchases.contact_status_expression: chain settlement on and the
sale recorded after the EscrowVault was deployed). A sale settled in the ledger only (settlement
off, or recorded before the vault) never gets a settlement or a release, so it is not listed.

Ordering, paging and totals are SQL: the list is one keyset-ordered query, the totals one
aggregate, whatever the number of sales. Reads only; a seller's own figures, never a buyer's
identity.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    DateTimeField,
    DecimalField,
    ExpressionWrapper,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from auctions.models import BountyAward, Sale
from escrow.choices import ContactStatus
from escrow.models import Settlement
from escrow.selectors.purchases import contact_status_expression
from escrow.services.fees import (
    micro_usdc_expression,
    release_after_expression,
    release_amounts,
    release_amounts_micro_expression,
)

ZERO = Decimal(0)
MICRO = Decimal(10) ** 6
USDC_FIELD = DecimalField(max_digits=36, decimal_places=6)
PAGE_LIMIT = 100  # the seller's page: the soonest releases (the totals count them all)
ROW_FIELDS = (
    "id",
    "lead_id",
    "auction_id",
    "price",
    "created_at",
    "bounty_total",
    "release_after",
    "lead__vertical__name",
    "lead__vertical__owner_address",
    "settlement__state",
    "settlement__seller_amount",
    "settlement__platform_fee",
    "settlement__vertical_royalty",
    "settlement__partial_refund_amount",
)
CLOSED_STATES = (Settlement.State.RELEASED, Settlement.State.REFUNDING, Settlement.State.REFUNDED)


@dataclass(frozen=True)
class PendingSale:
    sale_id: int
    lead_id: int
    auction_id: int
    vertical_name: str
    sold_at: datetime
    price: Decimal
    refunded: Decimal  # a partial refund sent to the buyer (a dispute's outcome); 0 without one
    bounties: Decimal
    platform_fee: Decimal
    vertical_royalty: Decimal
    expected_net: Decimal  # paid at release: price − refunded − fee − royalty + bounties
    release_after: datetime
    state: str  # Settlement.State; "pending" while no settlement exists
    state_label: str


@dataclass(frozen=True)
class PendingTotals:
    count: int  # all pending sales
    total_price: Decimal
    total_refunded: Decimal  # partial refunds sent (the release splits what is left)
    total_bounties: Decimal
    total_fees: Decimal  # platform fees and vertical royalties together
    total_expected_net: Decimal
    next_release: datetime | None


@dataclass(frozen=True)
class PendingEarnings(PendingTotals):
    sales: list[PendingSale]  # soonest release first, at most the limit asked


def bounty_total_expression() -> Coalesce:
    """The sale's bounty awards summed (USDC; 0 without any): a correlated subquery on Sale."""
    bounties = (
        BountyAward.objects.filter(sale_id=OuterRef("pk"))
        .order_by()
        .values("sale_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return Coalesce(Subquery(bounties, output_field=USDC_FIELD), Value(ZERO), output_field=USDC_FIELD)


def held_expression() -> ExpressionWrapper:
    """What the sale's deal holds for the release (Settlement.held_amount in SQL): the settled
    amount (the price while there is no settlement) less a partial refund sent."""
    amount = Coalesce(F("settlement__amount"), F("price"), output_field=USDC_FIELD)
    return ExpressionWrapper(
        amount - Coalesce(F("settlement__partial_refund_amount"), Value(ZERO), output_field=USDC_FIELD),
        output_field=USDC_FIELD,
    )


def sales_settled_on_chain(*, seller) -> QuerySet:
    """The seller's sales with a settlement, or with none yet that will get one (see the module
    docstring): the sales an escrow release (or a refund) on chain is or will be about."""
    return (
        Sale.objects.filter(seller=seller)
        .annotate(contact_status=contact_status_expression())
        .filter(Q(settlement__isnull=False) | Q(settlement__isnull=True, contact_status=ContactStatus.AWAITING_PAYMENT))
    )


def _pending(seller) -> QuerySet:
    """The seller's pending sales (see the module docstring), annotated with `release_after` and
    `bounty_total`."""
    return (
        sales_settled_on_chain(seller=seller)
        .exclude(settlement__state__in=CLOSED_STATES)
        .annotate(
            release_after=Coalesce(
                F("settlement__release_after"),
                release_after_expression(
                    sold_at=F("created_at"), dispute_window_hours=F("lead__vertical__dispute_window_hours")
                ),
                output_field=DateTimeField(),
            ),
            bounty_total=bounty_total_expression(),
            held=held_expression(),
        )
    )


def earnings_pending_queryset(*, seller) -> QuerySet:
    """The seller's pending sales as rows (dicts) for pending_sales(), soonest release first
    ((release_after, id): the API's cursor order)."""
    return _pending(seller).values(*ROW_FIELDS).order_by("release_after", "id")


def _pending_sale(row: dict) -> PendingSale:
    price, bounties = row["price"], row["bounty_total"] or ZERO
    refunded = row["settlement__partial_refund_amount"] or ZERO
    if row["settlement__seller_amount"] is not None:  # the release is sent: its split is fixed
        seller_amount = row["settlement__seller_amount"]
        fee, royalty = row["settlement__platform_fee"] or ZERO, row["settlement__vertical_royalty"] or ZERO
    else:
        seller_amount, fee, royalty = release_amounts(
            price=price - refunded, vertical_has_owner=bool(row["lead__vertical__owner_address"])
        )
    state = row["settlement__state"] or Settlement.State.PENDING
    return PendingSale(
        sale_id=row["id"],
        lead_id=row["lead_id"],
        auction_id=row["auction_id"],
        vertical_name=row["lead__vertical__name"],
        sold_at=row["created_at"],
        price=price,
        refunded=refunded,
        bounties=bounties,
        platform_fee=fee,
        vertical_royalty=royalty,
        expected_net=seller_amount + bounties,
        release_after=row["release_after"],
        state=state,
        state_label=Settlement.State(state).label,
    )


def pending_sales(rows) -> list[PendingSale]:
    """Rows of earnings_pending_queryset() as PendingSale, in their order. No query."""
    return [_pending_sale(row) for row in rows]


def _usdc(micro) -> Decimal:
    return (Decimal(micro or 0) / MICRO).quantize(Decimal("0.000001"))


def earnings_pending_totals(*, seller) -> PendingTotals:
    """Count, sums and the next release over all the seller's pending sales. One query: each
    sale's split is computed in SQL in micro-USDC, rounded as escrow.services.fees.release_amounts rounds
    (or the split stored once the release was sent), so the totals are the sums of the rows
    pending_sales() gives."""
    fixed = Q(settlement__seller_amount__isnull=False)
    seller_part, fee, royalty = release_amounts_micro_expression(
        price=F("held"), vertical_has_owner=~Q(lead__vertical__owner_address="")
    )

    def split(computed, stored: str):
        return Case(
            When(fixed, then=micro_usdc_expression(Coalesce(F(stored), Value(ZERO)))),
            default=computed,
            output_field=BigIntegerField(),
        )

    bounties = micro_usdc_expression(F("bounty_total"))
    totals = _pending(seller).aggregate(
        sales_count=Count("id"),
        price_micro=Sum(micro_usdc_expression(F("price"))),
        refunded_micro=Sum(micro_usdc_expression(Coalesce(F("settlement__partial_refund_amount"), Value(ZERO)))),
        bounties_micro=Sum(bounties),
        fees_micro=Sum(split(fee, "settlement__platform_fee") + split(royalty, "settlement__vertical_royalty")),
        net_micro=Sum(split(seller_part, "settlement__seller_amount") + bounties),
        first_release=Min("release_after"),
    )
    return PendingTotals(
        count=totals["sales_count"],
        total_price=_usdc(totals["price_micro"]),
        total_refunded=_usdc(totals["refunded_micro"]),
        total_bounties=_usdc(totals["bounties_micro"]),
        total_fees=_usdc(totals["fees_micro"]),
        total_expected_net=_usdc(totals["net_micro"]),
        next_release=totals["first_release"],
    )


def earnings_pending_for_seller(*, seller, limit: int = PAGE_LIMIT) -> PendingEarnings:
    """The seller's page: the `limit` soonest pending releases and the totals over all. Two queries."""
    totals = earnings_pending_totals(seller=seller)
    sales = pending_sales(earnings_pending_queryset(seller=seller)[:limit]) if totals.count else []
    return PendingEarnings(sales=sales, **vars(totals))
