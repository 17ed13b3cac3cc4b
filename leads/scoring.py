"""The quality score: 0–100 from seven weighted components, each explained (docs/scoring.md)."""

from datetime import timedelta
from typing import NamedTuple

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from leads.choices import LeadSource
from leads.models import Lead, SellerReputationDay, SellerVerticalReputation
from leads.reputation import lead_day, outcome_counts_excluding, seller_outcome_counts
from leads.selectors import lead_pii_keys
from leads.validation import zip_info
from verticals.selectors import vertical_schema_cached

WEIGHTS = {
    "consent_freshness": 15,
    "contact_validity": 25,
    "geo_consistency": 15,
    "field_completeness": 15,
    "source_trust": 10,
    "seller_reputation": 10,
    "duplicate_history": 10,
}
assert sum(WEIGHTS.values()) == 100

PHONE_POINTS = {"mobile": 15, "fixed_line_or_mobile": 13, "fixed_line": 10, "voip": 6}
PHONE_UNKNOWN_TYPE = 8
EMAIL_POINTS = 10
SOURCE_TRUST = {LeadSource.FORM: 1.0, LeadSource.WEBHOOK: 0.9, LeadSource.API: 0.8, LeadSource.CSV: 0.6}
CONSENT_DECAY_DAYS = 30
REPUTATION_WINDOW_DAYS = 30
REPUTATION_PRIOR = (7, 3)  # a new seller starts at 0.7, as if 7 of 10 leads had been good
HISTORY_WINDOW_DAYS = 30
# The per-vertical sales reputation (leads.seller_reputation) weighs sales / (sales + 20) of the
# component: nothing without sales, half at 20 sales, most of it for an established seller.
REPUTATION_SALES_HALF = 20
CONTACT_EXTRAS = ("first_name", "last_name", "street_address", "city")


def _component(points: float, name: str, detail: str) -> dict:
    return {"points": round(max(0.0, min(points, WEIGHTS[name])), 2), "max": WEIGHTS[name], "detail": detail}


def consent_freshness(lead, now) -> dict:
    age = max(timedelta(0), now - lead.consent_at)
    days = age.total_seconds() / 86400
    share = max(0.0, 1 - days / CONSENT_DECAY_DAYS)
    return _component(
        WEIGHTS["consent_freshness"] * share,
        "consent_freshness",
        f"consent {days:.1f} days old (linear decay to 0 at {CONSENT_DECAY_DAYS} days)",
    )


def contact_validity(lead) -> dict:
    points, notes = 0.0, []
    if lead.has_phone:
        points += PHONE_POINTS.get(lead.phone_type, PHONE_UNKNOWN_TYPE)
        notes.append(f"phone valid ({lead.phone_type or 'line type unknown'})")
    else:
        notes.append("no phone")
    if lead.has_email:
        points += EMAIL_POINTS
        notes.append("email valid, deliverable domain")
    else:
        notes.append("no email")
    return _component(points, "contact_validity", "; ".join(notes))


def geo_consistency(lead) -> dict:
    info = zip_info(lead.zip) if lead.zip else None
    if info is None:
        return _component(0, "geo_consistency", "ZIP unknown")
    points, notes = 0.0, []
    if info["state"] == lead.state:
        points += 10
        notes.append("ZIP matches state")
    if lead.city:
        known = {info.get("city", "").lower(), *[c.lower() for c in info.get("acceptable_cities", [])]}
        if lead.city.lower() in known:
            points += 5
            notes.append("city matches ZIP")
        else:
            notes.append("city does not match ZIP")
    else:
        points += 2
        notes.append("no city given")
    return _component(points, "geo_consistency", "; ".join(notes))


def field_completeness(lead, schema, pii_present: set[str]) -> dict:
    keys = [f.key for f in schema]
    filled = sum(1 for k in keys if k in lead.fields or k in pii_present)
    extras = sum(1 for k in CONTACT_EXTRAS if (k == "city" and lead.city) or k in pii_present)
    total = len(keys) + len(CONTACT_EXTRAS)
    share = (filled + extras) / total if total else 1.0
    return _component(
        WEIGHTS["field_completeness"] * share,
        "field_completeness",
        f"{filled} of {len(keys)} vertical fields and {extras} of {len(CONTACT_EXTRAS)} contact details",
    )


def source_trust(lead) -> dict:
    share = SOURCE_TRUST.get(lead.source, 0.5)
    return _component(WEIGHTS["source_trust"] * share, "source_trust", f"source {lead.source}")


class ReputationCounts(NamedTuple):
    """What seller_reputation reads: the seller's good and bad leads in the window (this lead
    excluded), and their sales and reputation score in the lead's vertical (0 and None: no row)."""

    good: int
    bad: int
    sales: int = 0
    vertical_score: int | None = None


def seller_reputation(lead, now, counts: tuple | None = None) -> dict:
    """Share of the seller's good leads among good and bad ones created in the window (the UTC
    day 30 days ago through today), with a prior; read from the rollup (leads.reputation), blended
    with the seller's sales reputation in the lead's vertical (leads.seller_reputation), weighted
    by their sales there. `counts`: ReputationCounts as history_counts read them."""
    if counts is None:
        since = lead_day(now - timedelta(days=REPUTATION_WINDOW_DAYS))
        good, bad = seller_outcome_counts(seller_id=lead.seller_id, since=since, excluding=lead)
        row = (
            SellerVerticalReputation.objects.filter(seller_id=lead.seller_id, vertical_id=lead.vertical_id)
            .values_list("sales", "score")
            .first()
        )
        counts = ReputationCounts(good, bad, *(row or ()))
    accepted, rejected, sales, vertical_score = ReputationCounts(*counts)
    good, bad = accepted + REPUTATION_PRIOR[0], rejected + REPUTATION_PRIOR[1]
    share = good / (good + bad)
    detail = f"{accepted} accepted and {rejected} rejected leads in {REPUTATION_WINDOW_DAYS} days"
    if sales and vertical_score is not None:
        weight = sales / (sales + REPUTATION_SALES_HALF)
        share = (1 - weight) * share + weight * vertical_score / 100
        detail += f"; sales reputation {vertical_score} from {sales} sales in the vertical (weight {weight:.2f})"
    return _component(WEIGHTS["seller_reputation"] * share, "seller_reputation", detail)


def duplicate_history(lead, now, others: int | None = None) -> dict:
    """`others`: the count of other verticals as history_counts read it."""
    contact = Q()
    if lead.phone_hash:
        contact |= Q(phone_hash=lead.phone_hash)
    if lead.email_hash:
        contact |= Q(email_hash=lead.email_hash)
    if not contact:
        return _component(WEIGHTS["duplicate_history"], "duplicate_history", "no contact to compare")
    if others is None:
        others = (
            Lead.objects.filter(contact, created_at__gte=now - timedelta(days=HISTORY_WINDOW_DAYS))
            .exclude(vertical_id=lead.vertical_id)
            .values("vertical_id")
            .distinct()
            .count()
        )
    points = {0: 10, 1: 6, 2: 3}.get(others, 0)
    return _component(
        points, "duplicate_history", f"contact seen in {others} other vertical(s) in {HISTORY_WINDOW_DAYS} days"
    )


def history_counts(lead, now) -> tuple[ReputationCounts, int | None]:
    """What seller_reputation and duplicate_history read, in one statement (the score stage runs
    per lead: one round trip and no ORM compilation instead of three queries): the seller's (good,
    bad) leads in the reputation window, this lead excluded, with their sales and reputation score
    in the lead's vertical, and the number of other verticals in which the lead's phone or email
    was a lead within HISTORY_WINDOW_DAYS (None: no contact)."""
    ops = connection.ops
    since = lead_day(now - timedelta(days=REPUTATION_WINDOW_DAYS))
    contact = [
        (column, value) for column, value in (("phone_hash", lead.phone_hash), ("email_hash", lead.email_hash)) if value
    ]
    others_sql, params = "NULL", []
    if contact:
        others_sql = (
            f"SELECT COUNT(DISTINCT l.vertical_id) FROM {ops.quote_name(Lead._meta.db_table)} l WHERE ("
            + " OR ".join(f"l.{column} = %s" for column, _ in contact)
            + ") AND l.created_at >= %s AND l.vertical_id <> %s"
        )
        params = [value for _, value in contact] + [
            ops.adapt_datetimefield_value(now - timedelta(days=HISTORY_WINDOW_DAYS)),
            lead.vertical_id,
        ]
    vertical_row = f"FROM {ops.quote_name(SellerVerticalReputation._meta.db_table)} v WHERE v.seller_id = %s AND v.vertical_id = %s"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COALESCE(SUM(r.good), 0), COALESCE(SUM(r.bad), 0), ({others_sql}), "
            f"(SELECT v.sales {vertical_row}), (SELECT v.score {vertical_row}) "
            f"FROM {ops.quote_name(SellerReputationDay._meta.db_table)} r WHERE r.seller_id = %s AND r.day >= %s",
            [
                *params,
                lead.seller_id,
                lead.vertical_id,
                lead.seller_id,
                lead.vertical_id,
                lead.seller_id,
                ops.adapt_datefield_value(since),
            ],
        )
        good, bad, others, sales, vertical_score = cursor.fetchone()
    good, bad = outcome_counts_excluding(good=good, bad=bad, since=since, excluding=lead)
    return ReputationCounts(good, bad, sales or 0, vertical_score), others


def compute_score(lead, now=None, schema: list | None = None) -> tuple[int, dict]:
    """(score 0–100, breakdown) for a stored lead; `schema`: its vertical's effective fields when
    the caller already has them."""
    now = now or timezone.now()
    if schema is None:
        schema = vertical_schema_cached(vertical_id=lead.vertical_id)
    counts, others = history_counts(lead, now)
    components = {
        "consent_freshness": consent_freshness(lead, now),
        "contact_validity": contact_validity(lead),
        "geo_consistency": geo_consistency(lead),
        "field_completeness": field_completeness(lead, schema, lead_pii_keys(lead=lead)),
        "source_trust": source_trust(lead),
        "seller_reputation": seller_reputation(lead, now, counts),
        "duplicate_history": duplicate_history(lead, now, others),
    }
    score = int(round(sum(c["points"] for c in components.values())))
    return max(0, min(100, score)), {"version": 1, "total": score, "components": components}
