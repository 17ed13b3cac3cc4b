"""The seller's lead table's cards from the rollups (leads.selectors.lead_table_stats): the
unfiltered table, a vertical and whole-hour date bounds come from SellerHour in a few
milliseconds at any size; other filters (status, score, contact, search) make the table count
its leads itself. The figures trail the leads by at most one refresh (ANALYTICS_REFRESH_SECONDS)."""

from django.db.models import Sum

from analytics.models import SellerHour

SUMS = (
    "received",
    "accepted",
    "rejected_invalid",
    "rejected_duplicate",
    "rejected_low_quality",
    "rejected_consent",
    "status_sold",
    "scored",
    "score_sum",
    "with_phone",
    "with_email",
    "with_both",
)


def _on_the_hour(moment) -> bool:
    return moment is None or (moment.minute, moment.second, moment.microsecond) == (0, 0, 0)


def rollup_lead_stats(*, seller, spec) -> dict | None:
    """The sums leads.selectors._stats_from takes, or None when the spec filters on more than a
    vertical and whole-hour creation bounds."""
    if spec.statuses or spec.q or spec.external_id:
        return None
    if any(v is not None for v in (spec.has_phone, spec.has_email, spec.score_min, spec.score_max)):
        return None
    if not (_on_the_hour(spec.created_from) and _on_the_hour(spec.created_to)):
        return None
    rows = SellerHour.objects.filter(seller=seller)
    if spec.vertical_ids:
        rows = rows.filter(vertical_id__in=spec.vertical_ids)
    if spec.created_from is not None:
        rows = rows.filter(bucket__gte=spec.created_from)
    if spec.created_to is not None:
        rows = rows.filter(bucket__lt=spec.created_to)
    s = {k: v or 0 for k, v in rows.aggregate(**{name: Sum(name) for name in SUMS}).items()}
    return {
        "total": s["received"],
        "accepted": s["accepted"],
        "rejected": s["rejected_invalid"] + s["rejected_duplicate"] + s["rejected_low_quality"] + s["rejected_consent"],
        "sold": s["status_sold"],
        "average_score": s["score_sum"] / s["scored"] if s["scored"] else None,
        "with_phone": s["with_phone"],
        "with_email": s["with_email"],
        "with_both": s["with_both"],
    }
