"""Keeping the rollups (analytics.models) equal to the facts.

Each rollup row is recomputed from the facts of its hour, never incremented: a refresh finds
the (user, hour) keys whose facts changed since the watermark and recomputes exactly those
rows; the rebuild recomputes every row. Both run the same aggregate queries, so incremental =
rebuilt by construction (tests/analytics/test_rollups.py proves it on real data).

Why recompute rather than add deltas from events (docs/analytics.md, "Rollups"): a recompute is
idempotent (a task that runs twice, or a worker that dies half-way, leaves correct rows), it
needs no event for every way a fact can change, and it heals itself. Its cost is proportional to
the changed hours' size, which the benchmark measures at 100 leads/s.

What marks a key dirty: a lead saved (every status change goes through leads.services.lead_transition,
which stamps `updated_at`), a sale or a first bid recorded, a settlement, dispute or disposition
changed, a bounty awarded. The refresh reads changes from `watermark - REFRESH_OVERLAP`: a
transaction that stamped a row before the last run and committed after it is still seen, as
long as it took less than the overlap.
"""

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Count, F, IntegerField, Min, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Trunc, TruncDate
from django.utils import timezone

from accounts.models import User
from analytics.models import BuyerDay, BuyerHour, RollupWatermark, RollupZone, SellerDay, SellerHour, VerticalDay
from auctions.choices import CONTACTED_STATUSES, BuyNowStatus, DispositionStatus
from auctions.models import AuctionBidder, AutobidTrace, BountyAward, Disposition, Sale
from escrow.choices import DisputeOutcome
from escrow.models import Dispute, Settlement
from leads.choices import LeadStatus, RejectionReason
from leads.models import Lead

logger = logging.getLogger(__name__)

HOUR = timedelta(hours=1)
REFRESH_OVERLAP = timedelta(seconds=120)
# Keys recomputed per query: a refresh far behind (or a burst) goes in slices of this many.
KEYS_PER_QUERY = 200
WATERMARK = "rollups"

REFUNDED = (DisputeOutcome.REFUND_FULL, DisputeOutcome.REFUND_PARTIAL)
ZERO = Decimal("0")

SELLER_DIMS = ("bucket", "seller_id", "vertical_id", "source", "campaign")
BUYER_DIMS = ("bucket", "buyer_id", "vertical_id", "state", "rule_id")
VERTICAL_DAY_MEASURES = (
    "received",
    "accepted",
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


def hour_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _hour_expr(field: str):
    return Trunc(field, "hour", tzinfo=UTC)


def _outcome_measures(sale: str) -> dict:
    """Disputes, refunds and dispositions of the sale at the path `sale` ("" = the row is a sale)."""
    p = f"{sale}__" if sale else ""
    dispute, disposition = f"{p}dispute", f"{p}disposition"
    refunded = Q(**{f"{dispute}__outcome__in": REFUNDED})
    return {
        "disputes": Count(f"{dispute}__id"),
        "refunds": Count(f"{dispute}__id", filter=refunded),
        "refunded_amount": Sum(f"{dispute}__refund_amount", filter=refunded),
        "dispositions": Count(f"{disposition}__id"),
        "contacted": Count(f"{disposition}__id", filter=Q(**{f"{disposition}__status__in": CONTACTED_STATUSES})),
        "converted": Count(f"{disposition}__id", filter=Q(**{f"{disposition}__status": DispositionStatus.SOLD})),
        "bad": Count(f"{disposition}__id", filter=Q(**{f"{disposition}__status": DispositionStatus.BAD})),
        "disposition_revenue": Sum(f"{disposition}__revenue"),
    }


def _rejected(reason: str):
    return Count("id", filter=Q(status=LeadStatus.REJECTED, rejection_reason=reason))


def _seller_rows(leads: Q) -> dict[tuple, dict]:
    """SellerHour rows for the leads matching `leads`, by key (every lead of a key must match)."""
    rows = (
        Lead.objects.filter(leads)
        .annotate(bucket=_hour_expr("created_at"))
        .values("bucket", "seller_id", "vertical_id", "source", "campaign")
        .annotate(
            received=Count("id"),
            accepted=Count("id", filter=~Q(status=LeadStatus.REJECTED)),
            rejected_invalid=_rejected(RejectionReason.INVALID),
            rejected_duplicate=_rejected(RejectionReason.DUPLICATE),
            rejected_low_quality=_rejected(RejectionReason.LOW_QUALITY),
            rejected_consent=_rejected(RejectionReason.CONSENT),
            scored=Count("quality_score"),
            score_sum=Sum("quality_score"),
            listed=Count("auction__id"),
            sold=Count("sale__id"),
            bought_now=Count("sale__id", filter=Q(buy_now_listing__status=BuyNowStatus.SOLD)),
            unsold=Count("id", filter=Q(status__in=(LeadStatus.UNSOLD, LeadStatus.EXPIRED))),
            returned=Count("id", filter=Q(status=LeadStatus.RETURNED)),
            status_sold=Count("id", filter=Q(status=LeadStatus.SOLD)),
            with_phone=Count("id", filter=Q(has_phone=True)),
            with_email=Count("id", filter=Q(has_email=True)),
            with_both=Count("id", filter=Q(has_phone=True, has_email=True)),
            revenue=Sum("sale__price"),
            platform_fee=Sum("sale__settlement__platform_fee"),
            **_outcome_measures("sale"),
        )
        .order_by()
    )
    out = {tuple(row[d] for d in SELLER_DIMS): row for row in rows}
    # Bounties: several awards per sale, so a query of their own (no fan-out of the sums above).
    awards = (
        BountyAward.objects.filter(_prefixed(leads, "sale__lead__"))
        .annotate(bucket=_hour_expr("sale__lead__created_at"))
        .values(
            "bucket", "sale__lead__seller_id", "sale__lead__vertical_id", "sale__lead__source", "sale__lead__campaign"
        )
        .annotate(bounties=Sum("amount"))
        .order_by()
    )
    for award in awards:
        key = (
            award["bucket"],
            award["sale__lead__seller_id"],
            award["sale__lead__vertical_id"],
            award["sale__lead__source"],
            award["sale__lead__campaign"],
        )
        if key in out:
            out[key]["bounties"] = award["bounties"]
    return out


def _prefixed(q: Q, prefix: str) -> Q:
    """The same filter, on a related model reached through `prefix`."""
    clone = Q(*[], _connector=q.connector, _negated=q.negated)
    for child in q.children:
        if isinstance(child, Q):
            clone.children.append(_prefixed(child, prefix))
        else:
            name, value = child
            clone.children.append((prefix + name, value))
    return clone


def _rule_of(auction_ref: str, buyer_ref: str):
    """The buyer's autobid rule that bid in the auction (0: the buyer bid by hand)."""
    rule = (
        AutobidTrace.objects.filter(
            auction_id=OuterRef(auction_ref), rule__buyer_id=OuterRef(buyer_ref), bid__isnull=False
        )
        .order_by("id")
        .values("rule_id")[:1]
    )
    return Coalesce(Subquery(rule, output_field=IntegerField()), Value(0))


def _buyer_rows(sales: Q, bidders: Q) -> dict[tuple, dict]:
    """BuyerHour rows: purchases matching `sales` (by the sale's hour) and auctions entered
    matching `bidders` (by the first bid's hour)."""
    bought_now = Q(lead__buy_now_listing__status=BuyNowStatus.SOLD)
    rows = (
        Sale.objects.filter(sales)
        .annotate(bucket=_hour_expr("created_at"), rule_id=_rule_of("auction_id", "buyer_id"))
        .values("bucket", "buyer_id", "rule_id", vertical_id=F("lead__vertical_id"), state=F("lead__state"))
        .annotate(
            won=Count("id", filter=~bought_now),
            bought_now=Count("id", filter=bought_now),
            spend=Sum("price"),
            **_outcome_measures(""),
        )
        .order_by()
    )
    out = {tuple(row[d] for d in BUYER_DIMS): row for row in rows}
    entered = (
        AuctionBidder.objects.filter(bidders)
        .annotate(bucket=_hour_expr("created_at"), rule_id=_rule_of("auction_id", "buyer_id"))
        .values("bucket", "buyer_id", "rule_id", vertical_id=F("auction__vertical_id"), state=F("auction__lead__state"))
        .annotate(entered=Count("id"))
        .order_by()
    )
    for row in entered:
        key = tuple(row[d] for d in BUYER_DIMS)
        out.setdefault(key, {d: row[d] for d in BUYER_DIMS})["entered"] = row["entered"]
    return out


def _clean(row: dict, model) -> dict:
    """A computed row as model fields: no None sums (an empty Sum is 0)."""
    names = {f.attname for f in model._meta.concrete_fields} - {"id"}
    out = {}
    for name in names:
        value = row.get(name)
        if value is None:
            value = row.get(name.removesuffix("_id"))
        out[name] = value
    for field in model._meta.concrete_fields:
        if out.get(field.attname) is None and field.has_default():
            out[field.attname] = field.get_default()
    return out


# ---------------------------------------------------------------- recomputing keys


def _hour_filter(field: str, user_field: str, keys: Iterable[tuple[int, datetime]]) -> Q:
    by_hour: dict[datetime, set[int]] = defaultdict(set)
    for user_id, bucket in keys:
        by_hour[bucket].add(user_id)
    q = Q(pk__in=[])
    for bucket, users in by_hour.items():
        q |= Q(**{f"{field}__gte": bucket, f"{field}__lt": bucket + HOUR, f"{user_field}__in": sorted(users)})
    return q


def _slices(keys: set, size: int = KEYS_PER_QUERY):
    ordered = sorted(keys)
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


def seller_hours_recompute(*, keys: set[tuple[int, datetime]]) -> set[date]:
    """Recompute the SellerHour rows of these (seller id, hour) keys; returns the UTC days touched.
    Caller holds the rollups' lock (rollups_refresh / rollups_rebuild)."""
    days: set[date] = set()
    for chunk in _slices(keys):
        rows = _seller_rows(_hour_filter("created_at", "seller_id", chunk))
        SellerHour.objects.filter(_hour_filter("bucket", "seller_id", chunk)).delete()
        SellerHour.objects.bulk_create([SellerHour(**_clean(row, SellerHour)) for row in rows.values()])
        days |= {bucket.date() for _, bucket in chunk}
    return days


def buyer_hours_recompute(*, keys: set[tuple[int, datetime]]) -> None:
    """Recompute the BuyerHour rows of these (buyer id, hour) keys. Caller holds the rollups' lock."""
    for chunk in _slices(keys):
        rows = _buyer_rows(_hour_filter("created_at", "buyer_id", chunk), _hour_filter("created_at", "buyer_id", chunk))
        BuyerHour.objects.filter(_hour_filter("bucket", "buyer_id", chunk)).delete()
        BuyerHour.objects.bulk_create([BuyerHour(**_clean(row, BuyerHour)) for row in rows.values()])


def vertical_days_recompute(*, days: set[date]) -> None:
    """Recompute the VerticalDay rows of these UTC days from SellerHour. Caller holds the lock."""
    for day in sorted(days):
        start = datetime.combine(day, time.min, tzinfo=UTC)
        rows = (
            SellerHour.objects.filter(bucket__gte=start, bucket__lt=start + timedelta(days=1))
            .values("vertical_id")
            .annotate(
                **{name: Sum(name) for name in VERTICAL_DAY_MEASURES},
                rejected=Sum("rejected_invalid")
                + Sum("rejected_duplicate")
                + Sum("rejected_low_quality")
                + Sum("rejected_consent"),
            )
            .order_by()
        )
        VerticalDay.objects.filter(day=day).delete()
        VerticalDay.objects.bulk_create([VerticalDay(day=day, **row) for row in rows])


# ---------------------------------------------------------------- days in the user's time zone

SELLER_KEY = ("seller_id", "vertical_id", "source", "campaign")
BUYER_KEY = ("buyer_id", "vertical_id", "state", "rule_id")


def _zones(user_ids) -> dict[int, str]:
    return {pk: zone or "UTC" for pk, zone in User.objects.filter(pk__in=set(user_ids)).values_list("pk", "time_zone")}


def _measure_names(model) -> list[str]:
    keys = {"id", "day", "time_zone", "bucket", *SELLER_KEY, *BUYER_KEY}
    return [f.attname for f in model._meta.concrete_fields if f.attname not in keys]


def _days_recompute(*, hour_model, day_model, user: str, key: tuple, user_days: set[tuple[int, date]]) -> None:
    """Recompute the day rows of these (user id, local day) keys from the hour rows, per time zone."""
    zones = _zones(u for u, _ in user_days)
    by_zone: dict[str, set] = defaultdict(set)
    for user_id, day in user_days:
        by_zone[zones.get(user_id, "UTC")].add((user_id, day))
    names = _measure_names(day_model)
    for zone_name, keys in by_zone.items():
        zone = ZoneInfo(zone_name)
        for chunk in _slices(keys):
            hours, days = Q(pk__in=[]), Q(pk__in=[])
            for user_id, day in chunk:
                start = datetime.combine(day, time.min, tzinfo=zone)
                end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
                hours |= Q(**{user: user_id, "bucket__gte": start, "bucket__lt": end})
                days |= Q(**{user: user_id, "day": day})
            rows = (
                hour_model.objects.filter(hours)
                .values(*key, day=TruncDate("bucket", tzinfo=zone))
                .annotate(**{name: Sum(name) for name in names})
                .order_by()
            )
            day_model.objects.filter(days).delete()
            day_model.objects.bulk_create([day_model(time_zone=zone_name, **row) for row in rows])
    _zones_record(zones)


def _local_days(keys: set[tuple[int, datetime]]) -> set[tuple[int, date]]:
    zones = _zones(u for u, _ in keys)
    return {(u, bucket.astimezone(ZoneInfo(zones.get(u, "UTC"))).date()) for u, bucket in keys}


def seller_days_recompute(*, keys: set[tuple[int, datetime]]) -> None:
    """The SellerDay rows of the local days holding these (seller id, hour) keys. Caller holds the lock."""
    _days_recompute(
        hour_model=SellerHour, day_model=SellerDay, user="seller_id", key=SELLER_KEY, user_days=_local_days(keys)
    )


def buyer_days_recompute(*, keys: set[tuple[int, datetime]]) -> None:
    _days_recompute(
        hour_model=BuyerHour, day_model=BuyerDay, user="buyer_id", key=BUYER_KEY, user_days=_local_days(keys)
    )


def _zones_record(zones: dict[int, str], *, replace: bool = False) -> None:
    """Record the zone of users' day rows: new users only, unless `replace` (after all of a user's
    days were recomputed): a user who changed zone keeps the old record, and so reads the hours,
    until _rezone has recomputed every one of their days."""
    rows = [RollupZone(user_id=user_id, time_zone=zone) for user_id, zone in zones.items()]
    if replace:
        RollupZone.objects.bulk_create(rows, update_conflicts=True, unique_fields=["user"], update_fields=["time_zone"])
    else:
        RollupZone.objects.bulk_create(rows, ignore_conflicts=True)


def _rezone(*, limit: int = 20) -> int:
    """Users whose day rows are in a time zone they no longer have: recompute all their days
    (as a seller and as a buyer) in the new one."""
    stale = list(RollupZone.objects.exclude(time_zone=F("user__time_zone")).values_list("user_id", flat=True)[:limit])
    for user_id in stale:
        for hour_model, day_model, user, key in (
            (SellerHour, SellerDay, "seller_id", SELLER_KEY),
            (BuyerHour, BuyerDay, "buyer_id", BUYER_KEY),
        ):
            day_model.objects.filter(**{user: user_id}).delete()
            hours = {
                (user_id, b) for b in hour_model.objects.filter(**{user: user_id}).values_list("bucket", flat=True)
            }
            _days_recompute(
                hour_model=hour_model, day_model=day_model, user=user, key=key, user_days=_local_days(hours)
            )
    _zones_record(_zones(stale), replace=True)
    return len(stale)


# ---------------------------------------------------------------- which keys changed


def _keys(qs, user: str, moment: str) -> set[tuple[int, datetime]]:
    return {
        (user_id, bucket)
        for user_id, bucket in qs.annotate(_b=_hour_expr(moment)).values_list(user, "_b").distinct().order_by()
        if user_id is not None
    }


def changed_keys(*, since: datetime) -> tuple[set, set]:
    """(seller keys, buyer keys) whose facts changed at or after `since`."""
    sellers = _keys(Lead.objects.filter(updated_at__gte=since), "seller_id", "created_at")
    buyers = _keys(Sale.objects.filter(created_at__gte=since), "buyer_id", "created_at")
    buyers |= _keys(AuctionBidder.objects.filter(created_at__gte=since), "buyer_id", "created_at")
    for model in (Dispute, Disposition, Settlement):
        changed = model.objects.filter(updated_at__gte=since)
        sellers |= _keys(changed, "sale__seller_id", "sale__lead__created_at")
        if model is not Settlement:  # the fee is the seller's measure only
            buyers |= _keys(changed, "sale__buyer_id", "sale__created_at")
    sellers |= _keys(BountyAward.objects.filter(created_at__gte=since), "sale__seller_id", "sale__lead__created_at")
    return sellers, buyers


# ---------------------------------------------------------------- the two entry points


def _locked_watermark() -> RollupWatermark | None:
    """The watermark row, locked for this transaction; None while another refresh holds it."""
    RollupWatermark.objects.get_or_create(name=WATERMARK, defaults={"through": datetime(2000, 1, 1, tzinfo=UTC)})
    return RollupWatermark.objects.select_for_update(skip_locked=True).filter(name=WATERMARK).first()


@transaction.atomic
def rollups_refresh(*, now: datetime | None = None) -> dict | None:
    """The incremental refresh (the `analytics.refresh_rollups` task, every few seconds): recompute
    the rows whose facts changed since the last run. Returns what it did, or None when another
    refresh is running (it will see the same changes)."""
    now = now or timezone.now()
    mark = _locked_watermark()
    if mark is None:
        return None
    since = mark.through - REFRESH_OVERLAP
    sellers, buyers = changed_keys(since=since)
    days = seller_hours_recompute(keys=sellers)
    buyer_hours_recompute(keys=buyers)
    rezoned = _rezone()  # first: a user's days are then all in one zone before new ones are added
    seller_days_recompute(keys=sellers)
    buyer_days_recompute(keys=buyers)
    vertical_days_recompute(days=days)
    mark.through, mark.runs = now, mark.runs + 1
    mark.save(update_fields=["through", "runs", "updated_at"])
    return {
        "seller_keys": len(sellers),
        "buyer_keys": len(buyers),
        "days": len(days),
        "rezoned": rezoned,
        "since": since,
    }


@transaction.atomic
def rollups_rebuild(*, since: date | None = None, now: datetime | None = None) -> dict:
    """Recompute every rollup row from the facts (from the UTC day `since` on, or all), waiting
    for a running refresh. The `analytics_rebuild` command; tests compare it with the refresh."""
    now = now or timezone.now()
    RollupWatermark.objects.get_or_create(name=WATERMARK, defaults={"through": now})
    mark = RollupWatermark.objects.select_for_update().get(name=WATERMARK)
    first = since or _first_fact_day()
    if first is None:  # no facts at all
        for model in (SellerHour, BuyerHour, SellerDay, BuyerDay, VerticalDay):
            model.objects.all().delete()
        return {"days": 0}
    start = datetime.combine(first, time.min, tzinfo=UTC)
    # Rows with no facts left (a lead cannot be deleted, but a test database can be emptied).
    SellerHour.objects.filter(bucket__gte=start).delete()
    BuyerHour.objects.filter(bucket__gte=start).delete()
    VerticalDay.objects.filter(day__gte=first).delete()
    # Local days start up to 14 hours before the UTC day: from the day before on.
    SellerDay.objects.filter(day__gte=first - timedelta(days=1)).delete()
    BuyerDay.objects.filter(day__gte=first - timedelta(days=1)).delete()
    # Day by day, every key of the day at once: the same aggregates as the refresh, filtered by
    # time alone (a rebuild's memory is one day's rows).
    last = now.astimezone(UTC).date() + timedelta(days=1)  # facts stamped slightly ahead (a close's "now")
    days, day = set(), first
    while day <= last:
        begin = datetime.combine(day, time.min, tzinfo=UTC)
        window = Q(created_at__gte=begin, created_at__lt=begin + timedelta(days=1))
        sellers = _seller_rows(window)
        SellerHour.objects.bulk_create([SellerHour(**_clean(row, SellerHour)) for row in sellers.values()])
        buyers = _buyer_rows(window, window)
        BuyerHour.objects.bulk_create([BuyerHour(**_clean(row, BuyerHour)) for row in buyers.values()])
        if sellers:
            days.add(day)
        day += timedelta(days=1)
    vertical_days_recompute(days=days)
    start_day = datetime.combine(first - timedelta(days=1), time.min, tzinfo=UTC)
    for hour_model, recompute, user in (
        (SellerHour, seller_days_recompute, "seller_id"),
        (BuyerHour, buyer_days_recompute, "buyer_id"),
    ):
        recompute(keys=set(hour_model.objects.filter(bucket__gte=start_day).values_list(user, "bucket").distinct()))
    mark.through, mark.runs = now, mark.runs + 1
    mark.save(update_fields=["through", "runs", "updated_at"])
    return {"days": len(days)}


def _first_fact_day() -> date | None:
    firsts = [
        Lead.objects.aggregate(m=Min("created_at"))["m"],
        Sale.objects.aggregate(m=Min("created_at"))["m"],
        AuctionBidder.objects.aggregate(m=Min("created_at"))["m"],
    ]
    firsts = [f for f in firsts if f is not None]
    return min(firsts).astimezone(UTC).date() if firsts else None
