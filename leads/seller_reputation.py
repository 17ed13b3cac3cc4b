"""Seller reputation per vertical (leads.models.SellerVerticalReputation): the documented score
(docs/scoring.md, "Seller reputation per vertical"), the counters that feed it, and how buyers
see it.

Counters move by one atomic upsert (INSERT … ON CONFLICT DO UPDATE SET sales = sales + …
RETURNING the new totals), so two transactions never lose an increment: the second waits on the
row (or, for a new row, on the unique index) until the first ends. The score is recomputed from
the returned totals and written in the same transaction, while the upsert's row lock is still
held: nobody can move the counters between the two statements, so the stored score always
matches the stored counters.

Who moves what:
- a sale: leads.services.lead_transition (a lead becoming SOLD; every sale passes there);
- disputes: leads.services.seller_reputation_dispute_opened / _decided, called by the escrow app
  (above leads in the layers) in the dispute's transaction;
- dispositions (what buyers report became of their purchases): leads.services.
  seller_reputation_disposition_recorded, called by auctions.services.dispositions. They move
  the contact rate buyers see, not the score (docs/scoring.md).

The tenure part of the score grows with time alone; seller_reputation_refresh (the daily beat
task leads.refresh_seller_reputation) recomputes the rows whose tenure is still growing.
"""

from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, transaction
from django.db.models import Count, Min, OuterRef, Subquery
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from leads.choices import DisputeOutcomeForReputation, LeadStatus, SellerReputationLevel
from leads.models import LeadStatusChange, SellerVerticalReputation

# ---------------------------------------------------------------- the formula (docs/scoring.md)

PRIOR_SALES = 10  # a new seller counts as if 1 of 10 sales had been refunded: a 10 % return rate
PRIOR_RETURNS = 1
MAX_RETURN_RATE = Decimal("0.20")  # an expected return rate of 20 % or more earns no return points
RETURN_POINTS = 85
TENURE_POINTS = 15
TENURE_DAYS = 180  # tenure points grow linearly from the first sale in the vertical to 180 days
NEW_SELLER_SALES = 10  # fewer sales than this in the vertical: labelled "New seller" whatever the score
LEVELS = (
    (80, SellerReputationLevel.TRUSTED),
    (60, SellerReputationLevel.GOOD),
    (40, SellerReputationLevel.FAIR),
    (0, SellerReputationLevel.POOR),
)
assert RETURN_POINTS + TENURE_POINTS == 100

_ONE, _ZERO = Decimal(1), Decimal(0)


def _clamp(value: Decimal) -> Decimal:
    return max(_ZERO, min(_ONE, value))


def reputation_score(*, sales: int, refunds_weighted: Decimal, first_sale_at: datetime | None, now: datetime) -> int:
    """The score 0–100 of a seller in a vertical: return points from the expected return rate
    (a Beta prior of 1 refund in 10 sales, updated with the seller's sales and refunds) plus
    tenure points from the days since the first sale. Pending and dismissed disputes count
    for nothing."""
    expected_return_rate = (Decimal(refunds_weighted) + PRIOR_RETURNS) / (sales + PRIOR_SALES)
    return_share = _clamp(1 - expected_return_rate / MAX_RETURN_RATE)
    tenure_days = _ZERO
    if first_sale_at is not None:
        tenure_days = Decimal(max(0.0, (now - first_sale_at).total_seconds())) / 86400
    tenure_share = _clamp(tenure_days / TENURE_DAYS)
    points = RETURN_POINTS * return_share + TENURE_POINTS * tenure_share
    return int(points.quantize(_ONE, rounding=ROUND_HALF_UP))


def reputation_level(*, score: int, sales: int) -> str:
    """The label's code (SellerReputationLevel) for a score over so many sales."""
    if sales < NEW_SELLER_SALES:
        return SellerReputationLevel.NEW
    return next(level for floor, level in LEVELS if score >= floor)


# What a seller with no sales in a vertical scores (and what buyers see for them).
NEUTRAL_SCORE = reputation_score(sales=0, refunds_weighted=_ZERO, first_sale_at=None, now=datetime.now(UTC))


def tenure_settled(*, first_sale_at: datetime | None, computed_at: datetime) -> bool:
    """Whether time alone can no longer change the score computed at `computed_at`."""
    return first_sale_at is not None and computed_at - first_sale_at >= timedelta(days=TENURE_DAYS)


# ---------------------------------------------------------------- what buyers see


@dataclass(frozen=True)
class ReputationShown:
    """A seller's reputation in a vertical as every listing shows it to buyers."""

    score: int
    level: str
    sales: int
    return_rate: Decimal | None  # refunded share of sales (upheld disputes weighted); None without sales
    dispositions: int = 0  # purchases whose buyer reported an outcome
    contact_rate: Decimal | None = None  # contacted share of those; None without any

    @property
    def label(self) -> str:
        return SellerReputationLevel(self.level).label

    @property
    def return_percent(self) -> str:
        return "—" if self.return_rate is None else f"{self.return_rate * 100:.1f} %"

    @property
    def contact_percent(self) -> str:
        return "—" if self.contact_rate is None else f"{self.contact_rate * 100:.1f} %"

    def as_dict(self) -> dict:
        return {
            "score": self.score,
            "level": self.level,
            "label": self.label,
            "sales": self.sales,
            "return_rate": None if self.return_rate is None else f"{self.return_rate:.4f}",
            "dispositions": self.dispositions,
            "contact_rate": None if self.contact_rate is None else f"{self.contact_rate:.4f}",
        }


def reputation_shown(
    *,
    score: int | None,
    level: str | None,
    sales: int | None,
    refunds_weighted: Decimal | None,
    dispositions: int | None = None,
    contacted: int | None = None,
) -> ReputationShown:
    """ReputationShown from a row's columns; all None (no row yet): a new seller at the neutral score."""
    if score is None:
        return ReputationShown(NEUTRAL_SCORE, SellerReputationLevel.NEW, 0, None)
    rate = contact_rate = None
    if sales:
        rate = (Decimal(str(refunds_weighted or 0)) / sales).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    if dispositions:
        contact_rate = (Decimal(contacted or 0) / dispositions).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    return ReputationShown(score, level or SellerReputationLevel.NEW, sales or 0, rate, dispositions or 0, contact_rate)


_COLUMNS = ("score", "level", "sales", "refunds_weighted", "dispositions", "contacted")


def seller_reputation_annotations(*, seller: str = "seller_id", vertical: str = "vertical_id") -> dict:
    """Annotations that bring a listing's seller reputation along in the list's own query (one
    indexed subquery per column, no query per row): `seller` and `vertical` name the row's
    seller and vertical (OuterRef paths). Read them back with seller_reputation_of."""
    row = SellerVerticalReputation.objects.filter(seller_id=OuterRef(seller), vertical_id=OuterRef(vertical))
    return {f"rep_{column}": Subquery(row.values(column)[:1]) for column in _COLUMNS}


def seller_reputation_get(*, seller_id: int, vertical_id: int) -> ReputationShown:
    """One seller's reputation in one vertical (one query)."""
    row = (
        SellerVerticalReputation.objects.filter(seller_id=seller_id, vertical_id=vertical_id).values(*_COLUMNS).first()
    )
    return reputation_shown(**(row or dict.fromkeys(_COLUMNS)))


def seller_reputation_of(obj, *, vertical_id: int | None = None) -> ReputationShown:
    """The reputation of the seller of `obj` (an auction, a buy-now listing: anything with a
    seller_id) as seller_reputation_annotations brought it; without them, one query."""
    if hasattr(obj, "rep_score"):
        return reputation_shown(**{column: getattr(obj, f"rep_{column}") for column in _COLUMNS})
    return seller_reputation_get(seller_id=obj.seller_id, vertical_id=vertical_id or obj.vertical_id)


# ---------------------------------------------------------------- the counters


def _aware(value) -> datetime | None:
    """A datetime column read by a raw cursor (SQLite hands back text)."""
    if value is None or isinstance(value, datetime):
        return value
    parsed = parse_datetime(value)
    return parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=UTC)


def seller_reputation_move(
    *,
    seller_id: int,
    vertical_id: int,
    sales: int = 0,
    opened: int = 0,
    upheld: int = 0,
    refunds: Decimal = _ZERO,
    dismissed: int = 0,
    dispositions: int = 0,
    contacted: int = 0,
    now: datetime | None = None,
) -> None:
    """Add to the seller's counters in the vertical and recompute the score, in the caller's
    transaction (the row stays locked until it ends). A sale sets the first sale's time once."""
    now = now or timezone.now()
    ops = connection.ops
    table = ops.quote_name(SellerVerticalReputation._meta.db_table)
    moved_at = ops.adapt_datetimefield_value(now)
    # No savepoint of its own inside the caller's transaction (a sale's close counts statements).
    atomic = nullcontext() if connection.in_atomic_block else transaction.atomic()
    with atomic, connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} AS r (seller_id, vertical_id, sales, first_sale_at, disputes_opened, "
            "disputes_upheld, refunds_weighted, disputes_dismissed, dispositions, contacted, score, level, computed_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 0, %s, %s) "
            "ON CONFLICT (seller_id, vertical_id) DO UPDATE SET sales = r.sales + excluded.sales, "
            "first_sale_at = COALESCE(r.first_sale_at, excluded.first_sale_at), "
            "disputes_opened = r.disputes_opened + excluded.disputes_opened, "
            "disputes_upheld = r.disputes_upheld + excluded.disputes_upheld, "
            "refunds_weighted = r.refunds_weighted + excluded.refunds_weighted, "
            "disputes_dismissed = r.disputes_dismissed + excluded.disputes_dismissed, "
            "dispositions = r.dispositions + excluded.dispositions, contacted = r.contacted + excluded.contacted "
            "RETURNING id, sales, first_sale_at, refunds_weighted",
            [
                seller_id,
                vertical_id,
                sales,
                moved_at if sales > 0 else None,
                opened,
                upheld,
                ops.adapt_decimalfield_value(refunds, 14, 6),
                dismissed,
                dispositions,
                contacted,
                SellerReputationLevel.NEW.value,
                moved_at,
            ],
        )
        row_id, total_sales, first_sale_at, total_refunds = cursor.fetchone()
        _score_write(
            cursor,
            row_id=row_id,
            sales=total_sales,
            refunds_weighted=Decimal(str(total_refunds)),
            first_sale_at=_aware(first_sale_at),
            now=now,
        )


def _score_write(cursor, *, row_id: int, sales: int, refunds_weighted: Decimal, first_sale_at, now) -> None:
    score = reputation_score(sales=sales, refunds_weighted=refunds_weighted, first_sale_at=first_sale_at, now=now)
    table = connection.ops.quote_name(SellerVerticalReputation._meta.db_table)
    cursor.execute(
        f"UPDATE {table} SET score = %s, level = %s, computed_at = %s WHERE id = %s",
        [score, reputation_level(score=score, sales=sales), connection.ops.adapt_datetimefield_value(now), row_id],
    )


def dispute_decision_counts(*, outcome: str, refund_share: Decimal) -> dict:
    """The counter moves of a decided dispute; ValueError for an unknown outcome or a refund
    share that does not fit it (full: 1; partial: 0 to 1; dismissed: 0)."""
    if outcome not in DisputeOutcomeForReputation.values:
        raise ValueError(f"Unknown dispute outcome {outcome!r}.")
    share = Decimal(refund_share)
    if not _ZERO <= share <= _ONE:
        raise ValueError(f"A refund share is between 0 and 1, not {share}.")
    if outcome == DisputeOutcomeForReputation.REFUND_FULL:
        if share != _ONE:
            raise ValueError(f"A full refund refunds a share of 1, not {share}.")
        return {"upheld": 1, "refunds": _ONE}
    if outcome == DisputeOutcomeForReputation.REFUND_PARTIAL:
        return {"upheld": 1, "refunds": share}
    if share != _ZERO:
        raise ValueError(f"A dismissed dispute refunds nothing, not a share of {share}.")
    return {"dismissed": 1}


# ---------------------------------------------------------------- refresh and rebuild


def seller_reputation_refresh(*, now: datetime | None = None, stale_after: timedelta = timedelta(hours=20)) -> int:
    """Recompute the scores whose tenure points have grown since they were computed (rows with
    a first sale less than TENURE_DAYS before their computation, computed more than
    `stale_after` ago). Each row under its own lock; returns how many were recomputed."""
    now = now or timezone.now()
    due = list(
        SellerVerticalReputation.objects.filter(first_sale_at__isnull=False, computed_at__lte=now - stale_after)
        .exclude(first_sale_at__lte=now - timedelta(days=TENURE_DAYS) - stale_after)
        .values_list("pk", flat=True)
    )
    for pk in due:
        _recompute(pk=pk, now=now)
    return len(due)


@transaction.atomic
def _recompute(*, pk: int, now: datetime) -> None:
    row = SellerVerticalReputation.objects.select_for_update().filter(pk=pk).first()
    if row is None:
        return
    with connection.cursor() as cursor:
        _score_write(
            cursor,
            row_id=row.pk,
            sales=row.sales,
            refunds_weighted=row.refunds_weighted,
            first_sale_at=row.first_sale_at,
            now=now,
        )


# Dispute facts for the rebuild, filled by apps above leads (escrow registers one in its
# AppConfig.ready). Each is called with no argument and yields dicts with the keys seller_id,
# vertical_id, opened, upheld, refunds (Decimal Σ refund shares) and dismissed, one per seller
# and vertical (several callables' rows add up).
DISPUTE_FACTS: list[Callable[[], Iterable[dict]]] = []
UNIQUE_KEY = frozenset({"id", "seller", "vertical"})
# Buyer-reported outcomes live above leads (auctions dispositions): the rebuild keeps them.
KEPT_BY_REBUILD = frozenset({"dispositions", "contacted"})


def seller_reputation_rebuild(*, now: datetime | None = None) -> int:
    """Rebuild every row from the facts: sales and first sales from the leads' status history
    (every change to SOLD is a sale), disputes from DISPUTE_FACTS; without a registered source
    the dispute counters are kept as they are. Scores recomputed at `now`, in one transaction.
    Run it quiet: a first sale of a pair committing during the rebuild may be lost (run it again).
    Returns the number of rows."""
    now = now or timezone.now()
    sold = (
        LeadStatusChange.objects.filter(to_status=LeadStatus.SOLD)
        .exclude(from_status=LeadStatus.SOLD)
        .values("lead__seller_id", "lead__vertical_id")
        .annotate(sales=Count("id"), first=Min("at"))
        .order_by()
    )
    rows: dict[tuple[int, int], dict] = {}

    def row(seller_id: int, vertical_id: int) -> dict:
        return rows.setdefault(
            (seller_id, vertical_id),
            {"sales": 0, "first": None, "opened": 0, "upheld": 0, "refunds": _ZERO, "dismissed": 0},
        )

    with transaction.atomic():
        # Locked before the history is read: a sale in flight on a locked row waits for the rebuild
        # and then adds to it.
        existing = {(r.seller_id, r.vertical_id): r for r in SellerVerticalReputation.objects.select_for_update()}
        for fact in sold:
            target = row(fact["lead__seller_id"], fact["lead__vertical_id"])
            target["sales"], target["first"] = fact["sales"], fact["first"]
        if DISPUTE_FACTS:
            for source in DISPUTE_FACTS:
                for fact in source():
                    target = row(fact["seller_id"], fact["vertical_id"])
                    for key in ("opened", "upheld", "refunds", "dismissed"):
                        target[key] += fact.get(key, 0)
        else:
            for key, old in existing.items():
                if not (old.disputes_opened or old.disputes_upheld or old.disputes_dismissed):
                    continue
                target = row(*key)
                target["opened"], target["upheld"] = old.disputes_opened, old.disputes_upheld
                target["refunds"], target["dismissed"] = old.refunds_weighted, old.disputes_dismissed
        built = []
        for (seller_id, vertical_id), facts in rows.items():
            score = reputation_score(
                sales=facts["sales"], refunds_weighted=facts["refunds"], first_sale_at=facts["first"], now=now
            )
            built.append(
                SellerVerticalReputation(
                    seller_id=seller_id,
                    vertical_id=vertical_id,
                    sales=facts["sales"],
                    first_sale_at=facts["first"],
                    disputes_opened=facts["opened"],
                    disputes_upheld=facts["upheld"],
                    refunds_weighted=facts["refunds"],
                    disputes_dismissed=facts["dismissed"],
                    score=score,
                    level=reputation_level(score=score, sales=facts["sales"]),
                    computed_at=now,
                    dispositions=getattr(existing.get((seller_id, vertical_id)), "dispositions", 0),
                    contacted=getattr(existing.get((seller_id, vertical_id)), "contacted", 0),
                )
            )
        stale = [old.pk for key, old in existing.items() if key not in rows]
        SellerVerticalReputation.objects.filter(pk__in=stale).delete()
        # An upsert, not delete-and-insert: a sale committing meanwhile for a pair not in the table
        # yet waits on the unique index instead of failing the rebuild.
        SellerVerticalReputation.objects.bulk_create(
            built,
            batch_size=2000,
            update_conflicts=True,
            unique_fields=["seller", "vertical"],
            update_fields=[
                f.name
                for f in SellerVerticalReputation._meta.concrete_fields
                if f.name not in UNIQUE_KEY | KEPT_BY_REBUILD
            ],
        )
    return len(built)
