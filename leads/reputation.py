"""The seller-reputation rollup (leads.models.SellerReputationDay): counters per seller and UTC
day of creation, moved in the same transaction as the lead status changes that move them, so
that scoring reads at most 31 rows instead of counting the seller's month of leads.

A lead counts as *good* once scored (scored, listed, sold, unsold, expired) and as *bad* when
rejected as low quality or as a duplicate; received leads and other rejections count for neither
(docs/scoring.md). Counters move by atomic increments (INSERT … ON CONFLICT DO UPDATE SET
good = good + …), so concurrent transactions never lose an update: the second waits on the
row (or, for a new day, on the unique index) until the first ends.

Lock a lead FOR NO KEY UPDATE (not FOR UPDATE) in a transaction that moves its seller's counters:
storing a duplicate holds the counter and checks its duplicate_of key (KEY SHARE, a deferred
foreign key, at commit), and FOR UPDATE on that lead would wait for it in a cycle.
"""

from datetime import UTC, date, datetime

from django.db import connection
from django.db.models import Sum

from leads.choices import LeadStatus, RejectionReason
from leads.models import Lead, SellerReputationDay

GOOD_STATUSES = frozenset(
    {LeadStatus.SCORED, LeadStatus.LISTED, LeadStatus.SOLD, LeadStatus.UNSOLD, LeadStatus.EXPIRED, LeadStatus.RETURNED}
)
BAD_REASONS = frozenset({RejectionReason.LOW_QUALITY, RejectionReason.DUPLICATE})
GOOD, BAD = "good", "bad"


def lead_outcome(*, status: str, rejection_reason: str) -> str | None:
    """GOOD, BAD or None: how a lead in this state counts in its seller's reputation."""
    if status in GOOD_STATUSES:
        return GOOD
    if status == LeadStatus.REJECTED and rejection_reason in BAD_REASONS:
        return BAD
    return None


def lead_day(created_at: datetime) -> date:
    """The rollup's day of a lead: the UTC date of its creation."""
    return created_at.astimezone(UTC).date()


def reputation_count_change(*, lead: Lead, was: str | None) -> None:
    """Move the counters of `lead`'s seller and day from outcome `was` (None for a lead just
    created) to the lead's current outcome. Call in the transaction that changed the lead's
    status (under its row lock, or right after creating it); a no-op when the outcome is the same."""
    now = lead_outcome(status=lead.status, rejection_reason=lead.rejection_reason)
    if now == was:
        return
    good = (now == GOOD) - (was == GOOD)
    bad = (now == BAD) - (was == BAD)
    _add(seller_id=lead.seller_id, day=lead_day(lead.created_at), good=good, bad=bad)


def reputation_count_new(*, lead: Lead) -> None:
    """Count a lead just created (a duplicate is stored rejected and counts as bad at once)."""
    reputation_count_change(lead=lead, was=None)


def reputation_count_new_many(*, leads) -> None:
    """reputation_count_new for leads created together (a bulk batch): one statement per seller
    and day that moves, instead of one per lead."""
    moves: dict[tuple[int, date], list[int]] = {}
    for lead in leads:
        outcome = lead_outcome(status=lead.status, rejection_reason=lead.rejection_reason)
        if outcome is not None:
            move = moves.setdefault((lead.seller_id, lead_day(lead.created_at)), [0, 0])
            move[outcome == BAD] += 1
    for (seller_id, day), (good, bad) in moves.items():
        _add(seller_id=seller_id, day=day, good=good, bad=bad)


def _add(*, seller_id: int, day: date, good: int, bad: int) -> None:
    table = connection.ops.quote_name(SellerReputationDay._meta.db_table)
    # One statement, atomic on PostgreSQL and SQLite alike: the ORM's update_conflicts can only
    # overwrite a column with the new row's value, not add to it.
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} AS r (seller_id, day, good, bad) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (seller_id, day) DO UPDATE SET good = r.good + excluded.good, bad = r.bad + excluded.bad",
            [seller_id, day, good, bad],
        )


def seller_outcome_counts(*, seller_id: int, since: date, excluding: Lead | None = None) -> tuple[int, int]:
    """(good, bad) leads of the seller created on `since` (a UTC day) or later: one indexed read
    of at most a month of day rows. `excluding`: a lead not to count (the one being scored)."""
    totals = SellerReputationDay.objects.filter(seller_id=seller_id, day__gte=since).aggregate(
        good=Sum("good", default=0), bad=Sum("bad", default=0)
    )
    return outcome_counts_excluding(good=totals["good"], bad=totals["bad"], since=since, excluding=excluding)


def outcome_counts_excluding(*, good: int, bad: int, since: date, excluding: Lead | None) -> tuple[int, int]:
    """(good, bad) read from the rollup since `since`, without the lead `excluding` (the one being
    scored) when it is counted there."""
    if excluding is not None and excluding.pk is not None and lead_day(excluding.created_at) >= since:
        own = lead_outcome(status=excluding.status, rejection_reason=excluding.rejection_reason)
        good -= own == GOOD
        bad -= own == BAD
    return good, bad
