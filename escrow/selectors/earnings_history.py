"""A seller's earnings, sale by sale and day by day: every sale settled (or to be settled) on chain
with its status — in escrow until its release time, disputed (an open dispute holds the release),
refunded in full (nothing earned), partly refunded (a dispute's partial refund; the rest is
released as usual) or released (the net paid) — and the money of each: price, refunded, fees,
bounties and net (expected until the release, paid after).

One definition of the money, in SQL (micro-USDC, rounded as escrow.services.fees rounds, or the
split stored once the release was sent, as escrow.selectors.earnings does): the rows and the
per-day × vertical totals read the same expressions, so the totals are the sums of the rows.
Which sales: those of escrow.selectors.earnings.sales_settled_on_chain (a sale settled in the
ledger only never gets a release or a refund on chain, so it is not listed).

Days are the sale's day in the seller's time zone (accounts.User.time_zone). Reads only.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import BigIntegerField, Case, CharField, Count, F, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from escrow.choices import OPEN_DISPUTE_STATES, DisputeState, EarningStatus
from escrow.models import Settlement
from escrow.selectors.earnings import bounty_total_expression, held_expression, sales_settled_on_chain
from escrow.services.fees import micro_usdc_expression, release_after_expression, release_amounts_micro_expression

MICRO = Decimal(10) ** 6
QUANTUM = Decimal("0.000001")
SUMMARY_DAYS = 30  # the default range of the totals: the last 30 days, today included
MAX_RANGE_DAYS = 366
REFUNDED_STATES = (Settlement.State.REFUNDING, Settlement.State.REFUNDED)
# A dispute holds the release while it is open, and while its decided outcome is being applied.
HOLDING_DISPUTE_STATES = (*OPEN_DISPUTE_STATES, DisputeState.DECIDED)
MONEY = ("price", "refunded", "fees", "bounties", "net")
TOTALS = ("gross", "refunded", "fees", "bounties", "released", "in_escrow", "disputed")


def _usdc(micro) -> Decimal:
    return (Decimal(micro or 0) / MICRO).quantize(QUANTUM)


def seller_zone(seller) -> ZoneInfo:
    return ZoneInfo(getattr(seller, "time_zone", "") or "UTC")


def seller_today(seller, *, now: datetime | None = None) -> date:
    return timezone.localtime(now or timezone.now(), seller_zone(seller)).date()


def default_range(seller, *, now: datetime | None = None) -> tuple[date, date]:
    """The last SUMMARY_DAYS days in the seller's time zone, today included."""
    today = seller_today(seller, now=now)
    return today - timedelta(days=SUMMARY_DAYS - 1), today


def _status_expression() -> Case:
    return Case(
        When(settlement__state__in=REFUNDED_STATES, then=Value(EarningStatus.REFUNDED)),
        When(dispute__state__in=HOLDING_DISPUTE_STATES, then=Value(EarningStatus.DISPUTED)),
        When(settlement__partial_refund_amount__isnull=False, then=Value(EarningStatus.PARTLY_REFUNDED)),
        When(settlement__state=Settlement.State.RELEASED, then=Value(EarningStatus.RELEASED)),
        default=Value(EarningStatus.IN_ESCROW),
        output_field=CharField(),
    )


def earnings_queryset(
    *,
    seller,
    status: str | None = None,
    vertical: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet:
    """The seller's sales settled on chain, annotated with `status` (EarningStatus), the money in
    micro-USDC (`price_m`, `refunded_m`, `fees_m`, `bounties_m`, `net_m`), `release_after` and
    the dispute's state; filtered by status, vertical slug and the sale's day in the seller's time
    zone (both ends included). Unordered: earnings_page orders it newest first."""
    qs = sales_settled_on_chain(seller=seller)
    if vertical:
        qs = qs.filter(lead__vertical__slug=vertical)
    zone = seller_zone(seller)
    if date_from is not None:
        qs = qs.filter(created_at__gte=datetime.combine(date_from, time.min, tzinfo=zone))
    if date_to is not None:
        qs = qs.filter(created_at__lt=datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=zone))
    refunded = Q(settlement__state__in=REFUNDED_STATES)
    fixed = Q(settlement__seller_amount__isnull=False)  # the release was sent: its split is stored
    seller_part, fee, royalty = release_amounts_micro_expression(
        price=F("held"), vertical_has_owner=~Q(lead__vertical__owner_address="")
    )

    def stored(name: str):
        return micro_usdc_expression(Coalesce(F(f"settlement__{name}"), Value(Decimal(0))))

    def unless_refunded(expression) -> Case:
        return Case(When(refunded, then=Value(0)), default=expression, output_field=BigIntegerField())

    qs = qs.annotate(
        status=_status_expression(),
        held=held_expression(),
        bounty_total=bounty_total_expression(),
        vertical_slug=F("lead__vertical__slug"),
        vertical_name=F("lead__vertical__name"),
        settlement_state=F("settlement__state"),
        released_at=F("settlement__released_at"),
        refunded_at=Coalesce(F("settlement__refunded_at"), F("settlement__partial_refunded_at")),
        dispute_id=F("dispute__id"),
        dispute_state=F("dispute__state"),
        dispute_respond_by=F("dispute__respond_by"),
        release_after=Coalesce(
            F("settlement__release_after"),
            release_after_expression(
                sold_at=F("created_at"), dispute_window_hours=F("lead__vertical__dispute_window_hours")
            ),
        ),
    )
    if status:
        qs = qs.filter(status=status)
    qs = qs.only("id", "lead_id", "auction_id", "price", "created_at")
    bounties = unless_refunded(micro_usdc_expression(F("bounty_total")))
    return qs.annotate(
        price_m=micro_usdc_expression(F("price")),
        refunded_m=Case(
            When(refunded, then=micro_usdc_expression(Coalesce(F("settlement__amount"), F("price")))),
            default=stored("partial_refund_amount"),
            output_field=BigIntegerField(),
        ),
        fees_m=unless_refunded(
            Case(
                When(fixed, then=stored("platform_fee") + stored("vertical_royalty")),
                default=fee + royalty,
                output_field=BigIntegerField(),
            )
        ),
        bounties_m=bounties,
        net_m=unless_refunded(
            Case(When(fixed, then=stored("seller_amount")), default=seller_part, output_field=BigIntegerField())
            + bounties
        ),
    )


@dataclass(frozen=True)
class EarningSale:
    sale_id: int
    lead_id: int
    auction_id: int
    vertical_slug: str
    vertical_name: str
    sold_at: datetime
    status: str  # EarningStatus
    status_label: str
    price: Decimal
    refunded: Decimal  # to the buyer: the price (refunded), a part of it (partly refunded), else 0
    fees: Decimal  # platform fee and vertical royalty (0 when refunded)
    bounties: Decimal  # earned by the sale, paid with the release (0 when refunded: back to the funder)
    net: Decimal  # paid to the seller (released) or expected at release; 0 when refunded
    paid: bool  # net is paid (the release confirmed), not expected
    release_after: datetime  # the end of the dispute window: the release waits for it
    released_at: datetime | None
    refunded_at: datetime | None
    settlement_state: str  # Settlement.State; "pending" while no settlement exists
    settlement_state_label: str
    dispute_id: int | None
    dispute_state: str | None  # DisputeState while there is a dispute
    dispute_state_label: str
    dispute_respond_by: datetime | None  # the seller's deadline to answer (an open dispute)


def earning_sale(row) -> EarningSale:
    """A Sale of earnings_queryset() as an EarningSale. No query."""
    status = row.status
    return EarningSale(
        sale_id=row.pk,
        lead_id=row.lead_id,
        auction_id=row.auction_id,
        vertical_slug=row.vertical_slug,
        vertical_name=row.vertical_name,
        sold_at=row.created_at,
        status=status,
        status_label=EarningStatus(status).label,
        price=_usdc(row.price_m),
        refunded=_usdc(row.refunded_m),
        fees=_usdc(row.fees_m),
        bounties=_usdc(row.bounties_m),
        net=_usdc(row.net_m),
        paid=row.settlement_state == Settlement.State.RELEASED,
        release_after=row.release_after,
        released_at=row.released_at,
        refunded_at=row.refunded_at,
        settlement_state=row.settlement_state or Settlement.State.PENDING,
        settlement_state_label=Settlement.State(row.settlement_state or Settlement.State.PENDING).label,
        dispute_id=row.dispute_id,
        dispute_state=row.dispute_state,
        dispute_state_label=DisputeState(row.dispute_state).label if row.dispute_state else "",
        dispute_respond_by=row.dispute_respond_by if row.dispute_state == DisputeState.AWAITING_SELLER else None,
    )


def earning_sales(rows) -> list[EarningSale]:
    return [earning_sale(row) for row in rows]


# ---------------------------------------------------------------- totals per day and vertical


@dataclass(frozen=True)
class EarningTotals:
    sales: int = 0
    gross: Decimal = Decimal(0)  # the prices
    refunded: Decimal = Decimal(0)  # back to buyers (full and partial refunds)
    fees: Decimal = Decimal(0)  # platform fees and vertical royalties
    bounties: Decimal = Decimal(0)
    released: Decimal = Decimal(0)  # net paid to the seller
    in_escrow: Decimal = Decimal(0)  # net expected, waiting for the release time (no open dispute)
    disputed: Decimal = Decimal(0)  # net expected of the sales an open dispute holds


@dataclass(frozen=True)
class EarningDay(EarningTotals):
    day: date | None = None
    vertical_slug: str = ""
    vertical_name: str = ""


@dataclass(frozen=True)
class EarningSummary:
    date_from: date
    date_to: date
    time_zone: str
    rows: list[EarningDay] = field(default_factory=list)  # newest day first, then by vertical name
    totals: EarningTotals = field(default_factory=EarningTotals)


def _bucket(status_q: Q):
    return Sum(Case(When(status_q, then=F("net_m")), default=Value(0), output_field=BigIntegerField()))


def _aggregates() -> dict:
    released = Q(settlement_state=Settlement.State.RELEASED)
    return {
        "n": Count("id"),
        "gross_m": Sum("price_m"),
        "refunded_sum_m": Sum("refunded_m"),
        "fees_sum_m": Sum("fees_m"),
        "bounties_sum_m": Sum("bounties_m"),
        "released_m": _bucket(released),
        "disputed_m": _bucket(Q(status=EarningStatus.DISPUTED)),
        "in_escrow_m": _bucket(
            Q(status__in=(EarningStatus.IN_ESCROW, EarningStatus.PARTLY_REFUNDED))
            # No settlement yet is in escrow too (NOT on a NULL state would drop it).
            & (Q(settlement_state__isnull=True) | ~Q(settlement_state=Settlement.State.RELEASED))
        ),
    }


def _totals(row: dict) -> dict:
    return {
        "sales": row["n"] or 0,
        "gross": _usdc(row["gross_m"]),
        "refunded": _usdc(row["refunded_sum_m"]),
        "fees": _usdc(row["fees_sum_m"]),
        "bounties": _usdc(row["bounties_sum_m"]),
        "released": _usdc(row["released_m"]),
        "in_escrow": _usdc(row["in_escrow_m"]),
        "disputed": _usdc(row["disputed_m"]),
    }


def earnings_summary(
    *, seller, date_from: date | None = None, date_to: date | None = None, vertical: str | None = None
) -> EarningSummary:
    """The seller's totals per day (the sale's day in their time zone) and vertical over
    [date_from, date_to] (default: the last 30 days), and the grand totals. One aggregate query
    grouped by day × vertical; the grand totals are the sums of its rows."""
    if date_from is None or date_to is None:
        default_from, default_to = default_range(seller)
        date_from, date_to = date_from or default_from, date_to or default_to
    zone = seller_zone(seller)
    groups = (
        earnings_queryset(seller=seller, vertical=vertical, date_from=date_from, date_to=date_to)
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .values("day", "vertical_slug", "vertical_name")
        .annotate(**_aggregates())
        .order_by("-day", "vertical_name", "vertical_slug")
    )
    rows = [
        EarningDay(day=g["day"], vertical_slug=g["vertical_slug"], vertical_name=g["vertical_name"], **_totals(g))
        for g in groups
    ]
    grand = {name: sum((getattr(r, name) for r in rows), Decimal(0)) for name in TOTALS}
    return EarningSummary(
        date_from=date_from,
        date_to=date_to,
        time_zone=str(zone),
        rows=rows,
        totals=EarningTotals(sales=sum(r.sales for r in rows), **grand),
    )


def earnings_totals(*, seller, date_from: date | None = None, date_to: date | None = None) -> EarningTotals:
    """The grand totals alone (the wallet page's card): one aggregate query."""
    if date_from is None or date_to is None:
        date_from, date_to = default_range(seller)
    row = earnings_queryset(seller=seller, date_from=date_from, date_to=date_to).aggregate(**_aggregates())
    return EarningTotals(**_totals(row))
