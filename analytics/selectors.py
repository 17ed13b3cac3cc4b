"""The dashboards' numbers, read from the rollups (analytics.models) and, for the staff's live
panel, from a few cheap queries. One structure feeds the page, the CSV exports and the API.

Every figure has a unit (analytics.formatting renders it: USDC with two decimals, percentages,
counts), every table has labelled columns, and every period is compared with the one before it.
Reads may be a little stale, so they may go to the replica (config.db_router).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import redis
from django.db.models import Count, F, Min, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from analytics import metrics
from analytics.models import BuyerDay, BuyerHour, RollupZone, SellerDay, SellerHour, VerticalDay
from analytics.periods import Period
from auctions.choices import AuctionStatus
from auctions.models import Auction, AutobidRule
from core.choices import DeadLetterStatus
from core.models import DeadLetter
from escrow.choices import OPEN_DISPUTE_STATES
from escrow.models import Dispute, ReconciliationIssue
from leads.choices import LeadSource, RejectionReason
from leads.models import SellerReputationDay, SellerVerticalReputation
from verticals.models import Vertical

COUNT, USDC, PERCENT, RATIO, SCORE = "count", "usdc", "percent", "ratio", "score"
ZERO = Decimal("0")


@dataclass(frozen=True)
class Measure:
    key: str
    label: str
    unit: str
    compute: Callable[[dict], object] | None = None  # derived from the sums; None: the sum itself
    better: str = "up"  # which way is good, for the comparison's colour ("up", "down")

    def value(self, sums: dict):
        if self.compute is None:
            return sums.get(self.key) or (ZERO if self.unit == USDC else 0)
        return self.compute(sums)


def _ratio(num: str, den: str, *, percent: bool = True):
    def compute(sums: dict):
        n, d = sums.get(num) or 0, sums.get(den) or 0
        if not d:
            return None
        value = Decimal(n) / Decimal(d)
        return value * 100 if percent else value

    return compute


def _per(num: str, den: str):
    def compute(sums: dict):
        d = sums.get(den) or 0
        return (Decimal(sums.get(num) or 0) / d).quantize(Decimal("0.000001")) if d else None

    return compute


@dataclass
class Table:
    name: str
    title: str
    dimension: str  # the first column's label
    measures: list[Measure]
    rows: list[dict] = field(default_factory=list)  # {"label": str, "key": str, <measure.key>: value}

    def columns(self) -> list[tuple[str, str, str]]:
        return [("label", self.dimension, "text")] + [(m.key, m.label, m.unit) for m in self.measures]


@dataclass
class Dashboard:
    role: str
    period: Period
    kpis: list[dict]  # {"measure": Measure, "value", "previous", "change" (percent or None)}
    series: dict  # {"days": [date], "<key>": [values]}
    tables: dict[str, Table]
    charts: list[dict] = field(default_factory=list)  # {"id", "title", "type", "datasets": [(label, key)], "unit"}
    live: dict = field(default_factory=dict)  # the staff's operations panel

    def table(self, name: str) -> Table:
        return self.tables[name]


def _sums(qs: QuerySet, names: tuple[str, ...], *groups: str, **expressions):
    agg = {name: Sum(name) for name in names}
    if groups or expressions:
        return qs.values(*groups, **expressions).annotate(**agg).order_by()
    return qs.aggregate(**agg)


def _change(value, previous):
    if value is None or previous in (None, 0) or not isinstance(previous, (int, Decimal)):
        return None
    return (Decimal(value) - Decimal(previous)) / abs(Decimal(previous)) * 100


def _kpis(measures: list[Measure], current: dict, previous: dict) -> list[dict]:
    out = []
    for m in measures:
        value, before = m.value(current), m.value(previous)
        out.append({"measure": m, "value": value, "previous": before, "change": _change(value, before)})
    return out


def _row(label: str, key, sums: dict, measures: list[Measure]) -> dict:
    return {"label": label, "key": key, **{m.key: m.value(sums) for m in measures}}


def _series(qs: QuerySet, period: Period, names: tuple[str, ...], measures: list[Measure]) -> dict:
    day = F("day") if qs.model in (SellerDay, BuyerDay) else TruncDate("bucket", tzinfo=period.zone)
    by_day = {row["local_day"]: row for row in _sums(qs, names, local_day=day) if row["local_day"] is not None}
    days = period.day_list()
    series: dict = {"days": days}
    for m in measures:
        series[m.key] = [m.value(by_day.get(day, {})) for day in days]
    return series


def _vertical_names(ids) -> dict[int, str]:
    return dict(Vertical.objects.filter(pk__in=set(ids)).values_list("pk", "name"))


def _grouped(qs, names, group: str, labels: Callable[[list], dict], measures, *, default: str = "—") -> list[dict]:
    rows = list(_sums(qs, names, group))
    names_by_key = labels([row[group] for row in rows])
    out = [_row(names_by_key.get(row[group]) or default, row[group], row, measures) for row in rows]
    return sorted(out, key=lambda r: (-(r.get(measures[0].key) or 0), r["label"]))


# ---------------------------------------------------------------- seller


SELLER_MEASURES = {
    m.key: m
    for m in (
        Measure("received", "Leads received", COUNT),
        Measure("accepted", "Accepted", COUNT),
        Measure("acceptance_rate", "Acceptance rate", PERCENT, _ratio("accepted", "received")),
        Measure("listed", "Listed", COUNT),
        Measure("sold", "Sold", COUNT),
        Measure("bought_now", "Bought now", COUNT),
        Measure("unsold", "Unsold", COUNT, better="down"),
        Measure("sell_through", "Sell-through", PERCENT, _ratio("sold", "listed")),
        Measure("revenue", "Revenue", USDC),
        Measure("average_price", "Average price", USDC, _per("revenue", "sold")),
        Measure("earnings_per_lead", "Earnings per lead received", USDC, _per("revenue", "received")),
        Measure("average_score", "Average quality score", SCORE, _ratio("score_sum", "scored", percent=False)),
        Measure("disputes", "Disputes", COUNT, better="down"),
        Measure("dispute_rate", "Dispute rate", PERCENT, _ratio("disputes", "sold"), better="down"),
        Measure("refunded_amount", "Refunded", USDC, better="down"),
        Measure("contact_rate", "Contact rate (buyers' reports)", PERCENT, _ratio("contacted", "dispositions")),
    )
}
SELLER_KPIS = (
    "received",
    "acceptance_rate",
    "sold",
    "sell_through",
    "revenue",
    "average_price",
    "earnings_per_lead",
    "dispute_rate",
)
SELLER_TABLE = (
    "received",
    "acceptance_rate",
    "sold",
    "sell_through",
    "revenue",
    "average_price",
    "earnings_per_lead",
    "dispute_rate",
)
# What each query sums: only the columns its figures read (a third of the work of summing all).
SELLER_TABLE_SUMS = ("received", "accepted", "listed", "sold", "revenue", "disputes")
SELLER_KPI_SUMS = (*SELLER_TABLE_SUMS, *(f"rejected_{reason}" for reason in RejectionReason.values))
SELLER_SERIES_SUMS = (*SELLER_KPI_SUMS, "unsold")
REJECTIONS = [Measure(f"rejected_{reason}", label, COUNT, better="down") for reason, label in RejectionReason.choices]


def _days_usable(user, period: Period) -> bool:
    """Whether the user's day rows are all in the period's time zone (else the hours answer: the
    user changed time zone and the refresh has not recomputed all their days yet)."""
    zone = RollupZone.objects.filter(user_id=user.pk).values_list("time_zone", flat=True).first()
    return zone is None or zone == str(period.zone)


def _rows(hour_model, day_model, user_field: str, user, period: Period, *, days: bool) -> QuerySet:
    """The rollup rows of the user's period: local days when usable (a 24th of the rows), else hours."""
    if days:
        return day_model.objects.filter(**{user_field: user.pk, "day__gte": period.start, "day__lte": period.end})
    start, end = period.bounds()
    return hour_model.objects.filter(**{user_field: user.pk, "bucket__gte": start, "bucket__lt": end})


def seller_dashboard(*, seller, period: Period) -> Dashboard:
    """What the seller's leads did in the period (by the hour they were received)."""
    days = _days_usable(seller, period)
    qs, measures = _rows(SellerHour, SellerDay, "seller_id", seller, period, days=days), SELLER_MEASURES
    current = _sums(qs, SELLER_KPI_SUMS)
    previous = _sums(_rows(SellerHour, SellerDay, "seller_id", seller, period.previous(), days=days), SELLER_KPI_SUMS)
    table_measures = [measures[k] for k in SELLER_TABLE]
    series_measures = [measures[k] for k in ("received", "accepted", "sold", "unsold", "revenue", "dispute_rate")]
    series_measures += [Measure("rejected", "Rejected", COUNT, lambda s: sum(s.get(m.key) or 0 for m in REJECTIONS))]
    series_measures += REJECTIONS
    series = _series(qs, period, SELLER_SERIES_SUMS, series_measures)
    sources = dict(LeadSource.choices)
    rejections = Table("rejections", "Rejection reasons", "Reason", [Measure("count", "Leads", COUNT)])
    rejections.rows = [{"label": m.label, "key": m.key, "count": m.value(current)} for m in REJECTIONS]
    tables = {
        "daily": Table("daily", "By day", "Day", series_measures[:6]),
        "verticals": Table("verticals", "By vertical", "Vertical", table_measures),
        "sources": Table("sources", "By source", "Source", table_measures),
        "campaigns": Table("campaigns", "By campaign", "Campaign", table_measures),
        "rejections": rejections,
        "reputation": Table(
            "reputation",
            "Reputation by vertical",
            "Vertical",
            [
                Measure("score", "Score (0–100)", SCORE),
                Measure("sales", "Sales, lifetime", COUNT),
                Measure("upheld", "Disputes upheld", COUNT, better="down"),
            ],
        ),
    }
    tables["daily"].rows = _daily_rows(series, tables["daily"].measures)
    tables["verticals"].rows = _grouped(qs, SELLER_TABLE_SUMS, "vertical_id", _vertical_names, table_measures)
    tables["sources"].rows = _grouped(qs, SELLER_TABLE_SUMS, "source", lambda keys: sources, table_measures)
    tables["campaigns"].rows = _grouped(
        qs, SELLER_TABLE_SUMS, "campaign", lambda keys: {}, table_measures, default="(no campaign)"
    )
    for row in tables["campaigns"].rows:
        if row["key"]:
            row["label"] = row["key"]
    reputations = list(SellerVerticalReputation.objects.filter(seller=seller).order_by("-sales"))
    names = _vertical_names(r.vertical_id for r in reputations)
    tables["reputation"].rows = [
        {
            "label": names.get(r.vertical_id, "—"),
            "key": r.vertical_id,
            "score": r.score,
            "sales": r.sales,
            "upheld": r.disputes_upheld,
        }
        for r in reputations
    ]
    series["good_share"] = _reputation_trend(seller, period)
    return Dashboard(
        role="seller",
        period=period,
        kpis=_kpis([measures[k] for k in SELLER_KPIS], current, previous),
        series=series,
        tables=tables,
        charts=[
            {
                "id": "leads",
                "title": "Leads by status",
                "type": "bar",
                "unit": COUNT,
                "stacked": True,
                "datasets": [("Sold", "sold"), ("Unsold", "unsold"), ("Rejected", "rejected")],
            },
            {"id": "revenue", "title": "Revenue", "type": "line", "unit": USDC, "datasets": [("Revenue", "revenue")]},
            {
                "id": "quality",
                "title": "Dispute rate and good leads",
                "type": "line",
                "unit": PERCENT,
                "datasets": [("Dispute rate", "dispute_rate"), ("Good leads (reputation)", "good_share")],
            },
        ],
    )


def _reputation_trend(seller, period: Period) -> list:
    """The share of the seller's leads judged good, per day (leads.reputation's daily rollup, UTC days)."""
    rows = {
        row["day"]: row
        for row in SellerReputationDay.objects.filter(seller=seller, day__gte=period.start, day__lte=period.end)
        .values("day")
        .annotate(good=Sum("good"), bad=Sum("bad"))
    }
    out = []
    for day in period.day_list():
        row = rows.get(day)
        total = (row["good"] + row["bad"]) if row else 0
        out.append(Decimal(row["good"]) * 100 / total if total else None)
    return out


def _daily_rows(series: dict, measures: list[Measure]) -> list[dict]:
    return [
        {"label": day.isoformat(), "key": day.isoformat(), **{m.key: series[m.key][i] for m in measures}}
        for i, day in enumerate(series["days"])
    ]


# ---------------------------------------------------------------- buyer


BUYER_SUMS = (
    "entered",
    "won",
    "bought_now",
    "spend",
    "disputes",
    "refunds",
    "refunded_amount",
    "dispositions",
    "contacted",
    "converted",
    "bad",
    "disposition_revenue",
)


def _leads(s: dict) -> int:
    return (s.get("won") or 0) + (s.get("bought_now") or 0)


def _cpl(s: dict):
    n = _leads(s)
    return (Decimal(s.get("spend") or 0) / n).quantize(Decimal("0.000001")) if n else None


BUYER_MEASURES = {
    m.key: m
    for m in (
        Measure("spend", "Spend", USDC, better="down"),
        Measure("leads", "Leads bought", COUNT, _leads),
        Measure("entered", "Auctions entered", COUNT),
        Measure("won", "Auctions won", COUNT),
        Measure("bought_now", "Bought now", COUNT),
        Measure("win_rate", "Win rate", PERCENT, _ratio("won", "entered")),
        Measure("cost_per_lead", "Cost per lead", USDC, _cpl, better="down"),
        Measure("refunded_amount", "Refunded", USDC),
        Measure("dispositions", "Outcomes reported", COUNT),
        Measure("contact_rate", "Contact rate", PERCENT, _ratio("contacted", "dispositions")),
        Measure("conversion_rate", "Conversion rate", PERCENT, _ratio("converted", "dispositions")),
        Measure("disposition_revenue", "Revenue reported", USDC),
        Measure("return_on_spend", "Return on spend", RATIO, _ratio("disposition_revenue", "spend", percent=False)),
    )
}
BUYER_KPIS = ("spend", "leads", "win_rate", "cost_per_lead", "contact_rate", "conversion_rate", "return_on_spend")
BUYER_TABLE = ("leads", "spend", "cost_per_lead", "win_rate", "contact_rate", "conversion_rate", "return_on_spend")


def _rule_names(ids) -> dict:
    names = dict(AutobidRule.objects.filter(pk__in=[i for i in ids if i]).values_list("pk", "name"))
    names[0] = "By hand (no rule)"
    return names


def buyer_dashboard(*, buyer, period: Period) -> Dashboard:
    days = _days_usable(buyer, period)
    qs, measures = _rows(BuyerHour, BuyerDay, "buyer_id", buyer, period, days=days), BUYER_MEASURES
    current = _sums(qs, BUYER_SUMS)
    previous = _sums(_rows(BuyerHour, BuyerDay, "buyer_id", buyer, period.previous(), days=days), BUYER_SUMS)
    table_measures = [measures[k] for k in BUYER_TABLE]
    series_measures = [measures[k] for k in ("spend", "leads", "won", "bought_now", "cost_per_lead", "win_rate")]
    series = _series(qs, period, BUYER_SUMS, series_measures)
    tables = {
        "daily": Table("daily", "By day", "Day", series_measures),
        "verticals": Table("verticals", "By vertical", "Vertical", table_measures),
        "states": Table("states", "By state", "State", table_measures),
        "rules": Table("rules", "By autobid rule", "Rule", table_measures),
    }
    tables["daily"].rows = _daily_rows(series, series_measures)
    tables["verticals"].rows = _grouped(qs, BUYER_SUMS, "vertical_id", _vertical_names, table_measures)
    tables["states"].rows = _grouped(qs, BUYER_SUMS, "state", lambda keys: {k: k for k in keys if k}, table_measures)
    tables["rules"].rows = _grouped(qs, BUYER_SUMS, "rule_id", _rule_names, table_measures)
    return Dashboard(
        role="buyer",
        period=period,
        kpis=_kpis([measures[k] for k in BUYER_KPIS], current, previous),
        series=series,
        tables=tables,
        charts=[
            {"id": "spend", "title": "Spend", "type": "bar", "unit": USDC, "datasets": [("Spend", "spend")]},
            {
                "id": "leads",
                "title": "Leads bought",
                "type": "bar",
                "unit": COUNT,
                "stacked": True,
                "datasets": [("Won at auction", "won"), ("Bought now", "bought_now")],
            },
            {
                "id": "cpl",
                "title": "Cost per lead",
                "type": "line",
                "unit": USDC,
                "datasets": [("Cost per lead", "cost_per_lead")],
            },
        ],
    )


# ---------------------------------------------------------------- staff


STAFF_SUMS = (
    "received",
    "accepted",
    "rejected",
    "listed",
    "sold",
    "bought_now",
    "unsold",
    "returned",
    "revenue",
    "platform_fee",
    "disputes",
    "refunded_amount",
)
STAFF_MEASURES = {
    m.key: m
    for m in (
        Measure("received", "Received", COUNT),
        Measure("accepted", "Accepted", COUNT),
        Measure("rejected", "Rejected", COUNT, better="down"),
        Measure("listed", "Listed", COUNT),
        Measure("sold", "Sold", COUNT),
        Measure("bought_now", "Bought now", COUNT),
        Measure("unsold", "Unsold", COUNT, better="down"),
        Measure("fill_rate", "Fill rate", PERCENT, _ratio("sold", "listed")),
        Measure("revenue", "GMV", USDC),
        Measure("platform_fee", "Take (platform fees)", USDC),
        Measure("disputes", "Disputes", COUNT, better="down"),
        Measure("refunded_amount", "Refunded", USDC, better="down"),
    )
}
STAFF_KPIS = ("received", "accepted", "listed", "sold", "fill_rate", "revenue", "platform_fee", "disputes")
FUNNEL = ("received", "accepted", "listed", "sold", "bought_now", "unsold")
LATENESS_SAMPLE = 2000


def _staff_qs(period: Period) -> QuerySet:
    return VerticalDay.objects.filter(day__gte=period.start, day__lte=period.end)


def staff_dashboard(*, period: Period, now: datetime | None = None) -> Dashboard:
    """The marketplace's funnel and money per UTC day, and the operations panel."""
    qs, measures = _staff_qs(period), STAFF_MEASURES
    current = _sums(qs, STAFF_SUMS)
    previous = _sums(_staff_qs(period.previous()), STAFF_SUMS)
    table_measures = [measures[k] for k in (*FUNNEL, "fill_rate", "revenue", "platform_fee", "disputes")]
    by_day = {row["day"]: row for row in _sums(qs, STAFF_SUMS, "day")}
    days = period.day_list()
    series_measures = [measures[k] for k in (*FUNNEL, "fill_rate", "revenue", "platform_fee")]
    series = {"days": days, **{m.key: [m.value(by_day.get(d, {})) for d in days] for m in series_measures}}
    funnel = Table(
        "funnel", "Funnel", "Stage", [Measure("count", "Leads", COUNT), Measure("share", "Of received", PERCENT)]
    )
    received = current.get("received") or 0
    funnel.rows = [
        {
            "label": measures[k].label,
            "key": k,
            "count": current.get(k) or 0,
            "share": (Decimal(current.get(k) or 0) * 100 / received) if received else None,
        }
        for k in FUNNEL
    ]
    tables = {
        "funnel": funnel,
        "daily": Table("daily", "By day (UTC)", "Day", series_measures),
        "verticals": Table("verticals", "By vertical", "Vertical", table_measures),
    }
    tables["daily"].rows = _daily_rows(series, series_measures)
    tables["verticals"].rows = _grouped(qs, STAFF_SUMS, "vertical_id", _vertical_names, table_measures)
    return Dashboard(
        role="staff",
        period=period,
        kpis=_kpis([measures[k] for k in STAFF_KPIS], current, previous),
        series=series,
        tables=tables,
        charts=[
            {
                "id": "funnel",
                "title": "Leads through the funnel",
                "type": "line",
                "unit": COUNT,
                "datasets": [
                    ("Received", "received"),
                    ("Accepted", "accepted"),
                    ("Listed", "listed"),
                    ("Sold", "sold"),
                ],
            },
            {
                "id": "money",
                "title": "GMV and take",
                "type": "bar",
                "unit": USDC,
                "datasets": [("GMV", "revenue"), ("Take", "platform_fee")],
            },
        ],
        live=operations_panel(now=now),
    )


def operations_panel(*, now: datetime | None = None) -> dict:
    """Right now: auction close lateness (the latest closes), dead letters, reconciliation
    differences and disputes waiting, each with its oldest item's age."""
    now = now or timezone.now()
    closes = list(
        Auction.objects.filter(status=AuctionStatus.CLOSED, closed_at__isnull=False)
        .order_by("-id")
        .values_list("closed_at", "deadline")[:LATENESS_SAMPLE]
    )
    lateness = sorted(max((closed - deadline).total_seconds(), 0.0) for closed, deadline in closes)

    def percentile(p: float):
        return lateness[min(len(lateness) - 1, int(p * len(lateness)))] if lateness else None

    dead = DeadLetter.objects.filter(status=DeadLetterStatus.PENDING).aggregate(
        n=Count("id"), oldest=Min("first_failed_at")
    )
    issues = ReconciliationIssue.objects.filter(resolved_at__isnull=True).aggregate(
        n=Count("id"), oldest=Min("detected_at")
    )
    disputes = Dispute.objects.filter(state__in=OPEN_DISPUTE_STATES).aggregate(
        n=Count("id"), oldest=Min("created_at"), staff=Count("id", filter=Q(state="awaiting_staff"))
    )

    def age(moment):
        return (now - moment) if moment else None

    return {
        "lateness": {
            "sample": len(lateness),
            "p50": percentile(0.5),
            "p95": percentile(0.95),
            "max": lateness[-1] if lateness else None,
        },
        "dead_letters": {"count": dead["n"], "oldest_age": age(dead["oldest"])},
        "reconciliation": {"count": issues["n"], "oldest_age": age(issues["oldest"])},
        "disputes": {
            "count": disputes["n"],
            "awaiting_staff": disputes["staff"],
            "oldest_age": age(disputes["oldest"]),
        },
        "queues": queue_depths(),
    }


def queue_depths() -> list[dict] | None:
    """Messages waiting per Celery queue (analytics.metrics reads the Redis broker), or None when
    the broker is not Redis (the embedded profile runs tasks in process) or does not answer."""
    if metrics.redis_broker_url() is None:
        return None
    try:
        depths = metrics.queue_depths()
    except redis.RedisError:
        return None
    return [{"queue": queue, "depth": depth} for queue, depth in depths.items()]


def dashboard_for(*, role: str, user, period: Period) -> Dashboard:
    if role == "seller":
        return seller_dashboard(seller=user, period=period)
    if role == "buyer":
        return buyer_dashboard(buyer=user, period=period)
    return staff_dashboard(period=period)
