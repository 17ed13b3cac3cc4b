"""Autobid tuned by outcomes (docs/autobid.md): from the buyer's own dispositions of the leads a
rule won, the value per lead overall and by segment (state, score band, source, hour), the
suggested maximum bid (value × the rule's target margin), and the opt-in daily auto-tune that
moves the rule's maximum to the suggestion within the buyer's bounds, logged and reversible.

Reproducible: the evidence is computed from the disposition history (DispositionChange) as of a
moment — for each purchase, the buyer's last report at or before it — so an AutobidTuning's
stored evidence is recomputed exactly by autobid_rule_evidence(as_of=tuning.created_at).
"""

import logging
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from auctions.choices import DispositionStatus
from auctions.models import AutobidRule, AutobidTuning, DispositionChange
from auctions.pricing import USDC_QUANTUM
from auctions.services.autobid import _buyer_zone

logger = logging.getLogger(__name__)

SCORE_BANDS = ((0, 49), (50, 69), (70, 84), (85, 100))
PRIOR_WEIGHT = 5  # a segment's value is shrunk to the rule-wide value as if it had 5 more outcomes at it
MIN_OUTCOMES = 10  # fewer outcomes behind the rule: no suggestion, no auto-tune
TUNE_INTERVAL = timedelta(hours=24)
SEGMENTS = ("state", "score_band", "source", "hour")


def score_band(score: int | None) -> str:
    if score is None:
        return "unscored"
    for low, high in SCORE_BANDS:
        if low <= score <= high:
            return f"{low}-{high}"
    return "unscored"


def _usdc(value: Decimal) -> str:
    return f"{value.quantize(USDC_QUANTUM, rounding=ROUND_HALF_UP):.6f}"


def _suggest(value: Decimal, margin: Decimal) -> Decimal:
    return (value * margin).quantize(USDC_QUANTUM, rounding=ROUND_DOWN)


def rule_outcomes(*, rule: AutobidRule, as_of: datetime) -> list[dict]:
    """The outcomes behind a rule as of `as_of`: for each purchase the rule bid on and its buyer
    won, the buyer's last disposition at or before `as_of` (none: not an outcome), with the
    lead's segment facts. One query (DISTINCT ON the sale)."""
    zone = _buyer_zone(rule.buyer)
    rows = (
        DispositionChange.objects.filter(
            sale__auction__autobid_traces__rule=rule,
            sale__auction__autobid_traces__bid__isnull=False,
            sale__buyer_id=rule.buyer_id,
            by_id=rule.buyer_id,
            at__lte=as_of,
        )
        .order_by("sale_id", "-at", "-id")
        .distinct("sale_id")
        .values(
            "sale_id",
            "status",
            "revenue",
            "sale__lead__state",
            "sale__lead__quality_score",
            "sale__lead__source",
            "sale__created_at",
        )
    )
    return [
        {
            "sale_id": row["sale_id"],
            "revenue": row["revenue"] if row["status"] == DispositionStatus.SOLD else Decimal(0),
            "sold": row["status"] == DispositionStatus.SOLD,
            "state": row["sale__lead__state"] or "—",
            "score_band": score_band(row["sale__lead__quality_score"]),
            "source": row["sale__lead__source"] or "—",
            "hour": f"{row['sale__created_at'].astimezone(zone).hour:02d}",
        }
        for row in rows
    ]


def autobid_rule_evidence(*, rule: AutobidRule, as_of: datetime, target_margin: Decimal | None = None) -> dict:
    """The evidence and the suggestion for a rule as of `as_of` (JSON-ready; amounts as strings):
    outcomes, sold, revenue, value per lead (revenue ÷ outcomes), the suggested maximum (value ×
    margin, rounded down; null under MIN_OUTCOMES outcomes), and per segment the same with the
    value shrunk to the rule-wide value: (revenue + k·v) ÷ (outcomes + k), k = PRIOR_WEIGHT."""
    margin = rule.target_margin if target_margin is None else target_margin
    outcomes = rule_outcomes(rule=rule, as_of=as_of)
    total = len(outcomes)
    revenue = sum((o["revenue"] for o in outcomes), Decimal(0))
    value = revenue / total if total else Decimal(0)
    segments: dict[str, list[dict]] = {}
    for name in SEGMENTS:
        groups: dict[str, list[dict]] = defaultdict(list)
        for o in outcomes:
            groups[o[name]].append(o)
        rows = []
        for key in sorted(groups):
            group = groups[key]
            n, r = len(group), sum((o["revenue"] for o in group), Decimal(0))
            shrunk = (r + PRIOR_WEIGHT * value) / (n + PRIOR_WEIGHT)
            rows.append(
                {
                    "key": key,
                    "outcomes": n,
                    "sold": sum(o["sold"] for o in group),
                    "revenue": _usdc(r),
                    "raw_value": _usdc(r / n),
                    "value": _usdc(shrunk),
                    "suggested_max_bid": _usdc(_suggest(shrunk, margin)),
                }
            )
        segments[name] = rows
    enough = total >= MIN_OUTCOMES
    return {
        "as_of": as_of.isoformat(),
        "outcomes": total,
        "sold": sum(o["sold"] for o in outcomes),
        "revenue": _usdc(revenue),
        "value_per_lead": _usdc(value),
        "target_margin": f"{margin:.3f}",
        "suggested_max_bid": _usdc(_suggest(value, margin)) if enough and value > 0 else None,
        "min_outcomes": MIN_OUTCOMES,
        "prior_weight": PRIOR_WEIGHT,
        "segments": segments,
    }


def clamp(value: Decimal, *, low: Decimal, high: Decimal) -> Decimal:
    return max(low, min(high, value))


@transaction.atomic
def autobid_rule_tune(*, rule_id: int, now: datetime | None = None) -> AutobidTuning | None:
    """Move one rule's maximum to its suggestion clamped to the buyer's bounds: only an opted-in,
    active (not paused) rule with both bounds, not tuned in the last 24 hours, with a suggestion
    (MIN_OUTCOMES outcomes or more). Logs an AutobidTuning when the maximum changes; returns it
    (None when nothing changed). Under the rule's row lock."""
    now = now or timezone.now()
    rule = AutobidRule.objects.select_for_update().select_related("buyer").filter(pk=rule_id).first()
    if rule is None or not rule.auto_tune or rule.paused or rule.tune_min_bid is None or rule.tune_max_bid is None:
        return None
    if rule.last_tuned_at is not None and rule.last_tuned_at > now - TUNE_INTERVAL:
        return None
    evidence = autobid_rule_evidence(rule=rule, as_of=now)
    if evidence["suggested_max_bid"] is None:
        return None
    suggested = Decimal(evidence["suggested_max_bid"])
    new = clamp(suggested, low=rule.tune_min_bid, high=rule.tune_max_bid)
    rule.last_tuned_at = now
    if new == rule.max_bid:
        rule.save(update_fields=["last_tuned_at"])
        return None
    old = rule.max_bid
    bound = (
        ""
        if new == suggested
        else (" (held at your lower bound)" if new > suggested else " (held at your upper bound)")
    )
    reason = (
        f"Value per lead {evidence['value_per_lead']} USDC over {evidence['outcomes']} outcomes × margin "
        f"{evidence['target_margin']} = {evidence['suggested_max_bid']} USDC{bound}."
    )
    rule.max_bid = new
    rule.save(update_fields=["max_bid", "last_tuned_at"])
    tuning = AutobidTuning.objects.create(
        rule=rule, old_max_bid=old, new_max_bid=new, reason=reason, evidence=evidence, created_at=now
    )
    logger.info("autobid rule tuned", extra={"rule_id": rule.pk, "old": str(old), "new": str(new)})
    return tuning


def autobid_tune_due(*, now: datetime | None = None) -> int:
    """Tune every opted-in active rule not tuned in the last 24 hours (the daily beat task),
    each in its own transaction. Returns how many changed."""
    now = now or timezone.now()
    due = AutobidRule.objects.filter(auto_tune=True, paused=False).exclude(last_tuned_at__gt=now - TUNE_INTERVAL)
    return sum(autobid_rule_tune(rule_id=pk, now=now) is not None for pk in due.values_list("pk", flat=True))


@transaction.atomic
def autobid_tuning_revert(*, tuning_id: int, rule: AutobidRule, now: datetime | None = None) -> AutobidTuning:
    """Put the rule's maximum back to what it was before this tuning (the rule's latest, not yet
    reverted). ValidationError otherwise. Under the rule's row lock."""
    now = now or timezone.now()
    locked = AutobidRule.objects.select_for_update().get(pk=rule.pk)
    tuning = AutobidTuning.objects.filter(pk=tuning_id, rule=locked).first()
    if tuning is None:
        raise AutobidTuning.DoesNotExist
    latest = AutobidTuning.objects.filter(rule=locked).order_by("-created_at", "-id").first()
    if tuning.reverted_at is not None:
        raise ValidationError("This change was already reverted.")
    if latest.pk != tuning.pk:
        raise ValidationError("Only the latest change can be reverted.")
    locked.max_bid = tuning.old_max_bid
    locked.save(update_fields=["max_bid"])
    tuning.reverted_at = now
    tuning.save(update_fields=["reverted_at"])
    rule.max_bid = locked.max_bid
    return tuning
