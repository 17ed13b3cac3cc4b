"""Autobid rules: check a rule's definition, match it against a lead (with a trace of every check),
at auction open place the matching rules' proxy bids in priority order, and at close true the
budget up to what was actually paid. Writes to rules: autobid_rule_create/update/delete/pause/resume.

Budget and cap, per day in the buyer's time zone: at open a rule reserves its maximum (the
clearing price is not known yet) and one lead, with one conditional UPDATE on the rule's usage
row, so concurrent auctions can never overspend; a bid the auction refuses gives both back in the
same transaction. The trace records the day consumed (`budget_day`). When the auction closes,
auction_close calls autobid_settle_for_auction in its own transaction: the winning rule gets back
its maximum minus the clearing price (the day then counts what was paid), a losing rule gets back
its whole maximum and the lead (a lost auction is not a lead bought). Each trace is settled once
(`settled_at`, set by a conditional UPDATE), and every usage change is an UPDATE with F()
expressions guarded by a condition, never read-modify-write.

Lock order, everywhere: the auction row, then usage rows (rule id order), then ledger accounts.
_bid_by_rule locks the auction before it consumes the usage row (bid_place then re-enters the
same lock and takes the buyer's accounts); auction_close holds the auction (and its lead), settles
the usage rows, then locks accounts. Each rule's bid at open is its own transaction, so at most
one auction and one usage row are held at a time there.
"""

import logging
import re
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, OuterRef, Q
from django.utils import timezone

from auctions import criteria
from auctions.choices import AuctionStatus, BidSource
from auctions.models import (
    Auction,
    AuctionBidder,
    AutobidRule,
    AutobidTrace,
    AutobidUsage,
)
from auctions.services.auctions import BidRejected, bid_place
from core.broadcast import group_send_on_commit
from core.groups import user_group
from leads.models import Lead
from leads.validation import US_STATES
from verticals.selectors import vertical_admits_buyer, vertical_ancestors, vertical_open_to_q

logger = logging.getLogger(__name__)

HHMM_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
DAY_NAMES = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


# Bounds that keep a definition inside its columns (a 400 with a reason, never a database error;
# the criteria's own are in auctions.criteria).
NAME_MAX = 100
MAX_INT = 2**31 - 1
MAX_PRIORITY = 1_000_000


# ---------------------------------------------------------------- definition


def check_autobid_rule(*, rule: AutobidRule) -> None:
    """Raise ValidationError (a dict by field) unless the rule's definition is usable."""
    errors: dict[str, list[str]] = {}
    if not isinstance(rule.name, str) or not rule.name.strip():
        errors["name"] = ["Give the rule a name."]
    elif len(rule.name) > NAME_MAX:
        errors["name"] = [f"At most {NAME_MAX} characters."]
    if (
        not isinstance(rule.states, list)
        or len(rule.states) > criteria.MAX_LIST
        or any(not isinstance(s, str) or s not in US_STATES for s in rule.states)
    ):
        errors["states"] = ['A list of two-letter US state codes, e.g. ["CA", "TX"].']
    criteria.check_zips(rule.zips_include, "zips_include", errors)
    criteria.check_zips(rule.zips_exclude, "zips_exclude", errors)
    if rule.min_score is not None and not (criteria.is_int(rule.min_score) and 0 <= rule.min_score <= 100):
        errors["min_score"] = ["A quality score from 0 to 100."]
    criteria.check_usdc(rule.max_bid, "max_bid", errors, positive=True)
    criteria.check_usdc(rule.daily_budget, "daily_budget", errors, positive=True)
    if "max_bid" not in errors and "daily_budget" not in errors and rule.daily_budget < rule.max_bid:
        errors.setdefault("daily_budget", []).append("The daily budget must cover at least one maximum bid.")
    if not criteria.is_int(rule.daily_lead_cap) or not 1 <= rule.daily_lead_cap <= MAX_INT:
        errors["daily_lead_cap"] = [f"A whole number of leads a day, 1 to {MAX_INT:,}."]
    if not criteria.is_int(rule.priority) or not -MAX_PRIORITY <= rule.priority <= MAX_PRIORITY:
        errors["priority"] = [f"A whole number from {-MAX_PRIORITY:,} to {MAX_PRIORITY:,}; higher runs first."]
    _check_hours(rule.hours, errors)
    criteria.check_field_filters(rule, errors)
    _check_tuning(rule, errors)
    if errors:
        raise ValidationError(errors)


MIN_MARGIN, MAX_MARGIN = Decimal("0.01"), Decimal("1")


def _check_tuning(rule: AutobidRule, errors: dict) -> None:
    """Target margin 0.01–1 (3 places); auto-tune needs both bounds, positive, lower ≤ upper."""
    margin = rule.target_margin
    if (
        not isinstance(margin, Decimal)
        or not margin.is_finite()
        or not MIN_MARGIN <= margin <= MAX_MARGIN
        or margin.as_tuple().exponent < -3
    ):
        errors["target_margin"] = ["A share from 0.01 to 1 (at most 3 decimal places), e.g. 0.5."]
    for name in ("tune_min_bid", "tune_max_bid"):
        value = getattr(rule, name)
        if value is not None:
            criteria.check_usdc(value, name, errors, positive=True)
    if not isinstance(rule.auto_tune, bool):
        errors["auto_tune"] = ["true or false."]
    elif rule.auto_tune:
        for name in ("tune_min_bid", "tune_max_bid"):
            if getattr(rule, name) is None:
                errors.setdefault(name, []).append("Auto-tune needs both bounds.")
    if (
        "tune_min_bid" not in errors
        and "tune_max_bid" not in errors
        and rule.tune_min_bid is not None
        and rule.tune_max_bid is not None
        and rule.tune_min_bid > rule.tune_max_bid
    ):
        errors["tune_max_bid"] = ["The upper bound must be at least the lower bound."]


def _check_hours(hours, errors: dict) -> None:
    if hours in (None, {}):
        return
    message = 'Day-parting is {"days": [0..6, Monday = 0], "start": "HH:MM", "end": "HH:MM"}.'
    if not isinstance(hours, dict) or set(hours) - {"days", "start", "end"}:
        errors["hours"] = [message]
        return
    days, start, end = hours.get("days"), hours.get("start"), hours.get("end")
    if (
        not isinstance(days, list)
        or not days
        or any(isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= 6 for d in days)
    ):
        errors.setdefault("hours", []).append("days: a non-empty list of weekdays 0–6 (Monday = 0).")
    for label, value in (("start", start), ("end", end)):
        if not isinstance(value, str) or not HHMM_RE.match(value):
            errors.setdefault("hours", []).append(f"{label}: a time HH:MM (24-hour).")
    if "hours" not in errors and start == end:
        errors["hours"] = ["start and end must differ (an end before the start runs past midnight)."]


# ---------------------------------------------------------------- matching


def _buyer_zone(buyer) -> ZoneInfo:
    try:
        return ZoneInfo(buyer.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _hours_check(hours: dict, buyer, now: datetime) -> tuple[bool, str]:
    if not hours:
        return True, "hours: always: ok"
    zone = _buyer_zone(buyer)
    local = now.astimezone(zone)
    start, end = time.fromisoformat(hours["start"]), time.fromisoformat(hours["end"])
    days, clock, weekday = set(hours["days"]), local.time().replace(tzinfo=None), local.weekday()
    if start < end:
        inside = weekday in days and start <= clock < end
    elif clock >= start:  # a window past midnight: the evening part belongs to today
        inside = weekday in days
    else:  # … and the early-morning part to the day before
        inside = clock < end and (weekday - 1) % 7 in days
    window = f"{','.join(DAY_NAMES[d] for d in sorted(days))} {hours['start']}-{hours['end']} {zone.key}"
    at = f"{DAY_NAMES[weekday]} {local:%H:%M}"
    return inside, (f"hours {window}, now {at}: ok" if inside else f"hours {window}, now {at}: outside")


def autobid_rule_match(
    *, rule: AutobidRule, lead: Lead, now: datetime, fields_by_key: dict | None = None
) -> tuple[bool, list[str]]:
    """Whether the rule wants this lead now, with one reason per check (all checks run, so the
    trace shows every failing one). `fields_by_key` caches the lead vertical's filterable fields."""
    checks: list[tuple[bool, str]] = []
    checks.append((False, "paused") if rule.paused else (True, "active: ok"))
    if rule.vertical_id is None:
        checks.append((True, "vertical: all: ok"))
    else:
        chain = vertical_ancestors(vertical=lead.vertical)
        ok = any(v.pk == rule.vertical_id for v in chain)
        name = rule.vertical.slug
        checks.append(
            (
                ok,
                f"vertical {lead.vertical.slug} within {name}: ok"
                if ok
                else f"vertical {lead.vertical.slug} is not {name}",
            )
        )
    if rule.states:
        ok = lead.state in rule.states
        checks.append(
            (
                ok,
                f"state {lead.state} in {criteria.show(rule.states)}: ok"
                if ok
                else f"state {lead.state or '(none)'} not in {criteria.show(rule.states)}",
            )
        )
    else:
        checks.append((True, "states: all: ok"))
    if rule.zips_include:
        hit = criteria.zip_hit(lead.zip, rule.zips_include)
        checks.append(
            (
                hit is not None,
                f"zip {lead.zip} matches include {hit}: ok"
                if hit
                else f"zip {lead.zip or '(none)'} not in include {criteria.show(rule.zips_include)}",
            )
        )
    if rule.zips_exclude:
        hit = criteria.zip_hit(lead.zip, rule.zips_exclude)
        checks.append(
            (
                hit is None,
                f"zip {lead.zip} excluded by {hit}"
                if hit
                else f"zip {lead.zip} not in exclude {criteria.show(rule.zips_exclude)}: ok",
            )
        )
    if rule.min_score is not None:
        score = lead.quality_score
        if score is None:
            checks.append((False, f"score unknown < min {rule.min_score}"))
        elif score < rule.min_score:
            checks.append((False, f"score {score} < min {rule.min_score}"))
        else:
            checks.append((True, f"score {score} >= min {rule.min_score}: ok"))
    if rule.field_filters:
        if fields_by_key is None:
            fields_by_key = criteria.filterable_fields(lead.vertical)
        for flt in rule.field_filters:
            checks.append(criteria.field_check(flt, fields_by_key, lead.fields or {}))
    checks.append(_hours_check(rule.hours, rule.buyer, now))
    return all(ok for ok, _ in checks), [reason for _, reason in checks]


# ---------------------------------------------------------------- running


def _rules_for(auction: Auction):
    """Active rules that may bid on this auction: the lead's vertical (or an ancestor, or all),
    admitted buyers only (exclusive verticals), never the seller; priority desc, then id."""
    vertical_ids = [v.pk for v in vertical_ancestors(vertical=auction.vertical)]
    # The exclusive-vertical rule (verticals.selectors.vertical_open_to_q) for each rule's buyer.
    return (
        AutobidRule.objects.filter(paused=False, buyer__is_buyer=True, buyer__is_active=True)
        .filter(Q(vertical__isnull=True) | Q(vertical_id__in=vertical_ids))
        .filter(vertical_open_to_q(vertical=auction.vertical_id, user_id=OuterRef("buyer_id")))
        .exclude(buyer_id=auction.seller_id)
        .select_related("buyer", "vertical")
        .order_by("-priority", "id")
    )


def _consume(*, rule: AutobidRule, day: date) -> bool:
    """Take one maximum and one lead from the rule's day, or nothing. Runs in the caller's
    transaction; the row stays locked until it commits."""
    AutobidUsage.objects.bulk_create([AutobidUsage(rule=rule, day=day)], ignore_conflicts=True)
    return bool(
        AutobidUsage.objects.filter(
            rule=rule,
            day=day,
            spent__lte=rule.daily_budget - rule.max_bid,
            leads__lt=rule.daily_lead_cap,
        ).update(spent=F("spent") + rule.max_bid, leads=F("leads") + 1)
    )


def _refund(*, rule: AutobidRule, day: date) -> None:
    AutobidUsage.objects.filter(rule=rule, day=day).update(spent=F("spent") - rule.max_bid, leads=F("leads") - 1)


def _exhausted_reason(*, rule: AutobidRule, day: date) -> str:
    usage = AutobidUsage.objects.filter(rule=rule, day=day).first()
    spent, leads = (usage.spent, usage.leads) if usage else (Decimal("0"), 0)
    if leads >= rule.daily_lead_cap:
        return f"daily lead cap reached: {leads} of {rule.daily_lead_cap} on {day}"
    return f"daily budget exhausted: spent {spent:f} + max {rule.max_bid:f} > budget {rule.daily_budget:f} on {day}"


def _bid_by_rule(*, rule: AutobidRule, auction: Auction, reasons: list[str], now: datetime) -> AutobidTrace | None:
    """Consume budget and cap, place the bid and record the trace, all in one transaction.
    Locks the auction row first, then the usage row (the order auction_close uses too).
    Returns None when another run already traced this rule on this auction."""
    day = now.astimezone(_buyer_zone(rule.buyer)).date()
    bid = None
    try:
        with transaction.atomic():
            current = (
                Auction.objects.select_for_update(of=("self",))
                .filter(pk=auction.pk)
                .values_list("status", "deadline")
                .first()
            )
            if current is None or current[0] != AuctionStatus.OPEN or now >= current[1]:
                reasons = [*reasons, "not placed: the auction has closed"]
            elif _consume(rule=rule, day=day):
                try:
                    bid = bid_place(
                        auction_id=auction.pk,
                        buyer=rule.buyer,
                        max_amount=rule.max_bid,
                        source=BidSource.AUTOBID,
                        now=now,
                    )
                    reasons = [*reasons, f"bid placed: max {rule.max_bid:f}"]
                except (BidRejected, IntegrityError) as exc:
                    _refund(rule=rule, day=day)
                    code = getattr(exc, "code", "conflict")
                    reasons = [*reasons, f"bid rejected ({code}): {exc}; budget and cap given back"]
            else:
                reasons = [*reasons, _exhausted_reason(rule=rule, day=day)]
            trace = AutobidTrace.objects.create(
                rule=rule,
                auction=auction,
                matched=True,
                bid=bid,
                reasons=reasons,
                budget_day=day if bid is not None else None,
                created_at=now,
            )
            if bid is not None:
                group_send_on_commit(
                    group=user_group(rule.buyer_id),
                    payload={
                        "type": "autobid.placed",
                        "auction_id": auction.pk,
                        "rule_id": rule.pk,
                        "max_amount": f"{rule.max_bid:f}",
                    },
                )
            return trace
    except IntegrityError:  # a concurrent run traced (and bid for) this rule first: all rolled back
        return None


def _trace_only(
    *, rule: AutobidRule, auction: Auction, matched: bool, reasons: list[str], now: datetime
) -> AutobidTrace | None:
    try:
        with transaction.atomic():
            return AutobidTrace.objects.create(
                rule=rule, auction=auction, matched=matched, reasons=reasons, created_at=now
            )
    except IntegrityError:
        return None


def autobid_rules_may_bid(*, vertical_ids: list[int], seller_id: int) -> bool:
    """Whether any active rule could bid in a vertical with these ancestors (root first, itself
    last) on this seller's lead: one indexed EXISTS, a superset of _rules_for (the exclusive-vertical
    rule is left to the run). False spares an auction opening with no rule to run three queries."""
    # Plain SQL: it runs for every auction that opens, and compiling the ORM query cost more
    # than PostgreSQL's answer.
    rule = AutobidRule._meta
    user = rule.get_field("buyer").related_model._meta
    quote = connection.ops.quote_name
    placeholders = ", ".join(["%s"] * len(vertical_ids)) or "NULL"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {quote(rule.db_table)} r JOIN {quote(user.db_table)} u"
            f" ON u.{quote(user.pk.column)} = r.buyer_id"
            " WHERE NOT r.paused AND u.is_buyer AND u.is_active AND r.buyer_id <> %s"
            f" AND (r.vertical_id IS NULL OR r.vertical_id IN ({placeholders})))",
            [seller_id, *vertical_ids],
        )
        return bool(cursor.fetchone()[0])


def autobid_after_open(
    *, auction_id: int, vertical_ids: list[int] | None = None, seller_id: int | None = None, **kwargs
) -> None:
    """auctions.signals.auction_opened (on commit): the rules bid. With the auction's vertical
    chain and seller (auction_open sends them), an opening no rule can bid on costs one query."""
    known = vertical_ids is not None and seller_id is not None
    if known and not autobid_rules_may_bid(vertical_ids=vertical_ids, seller_id=seller_id):
        return
    autobid_run_for_auction(auction_id=auction_id)


def autobid_after_close(*, auction: Auction, winner_buyer_id: int | None, price, now: datetime, **kwargs) -> None:
    """auctions.signals.auction_closing (inside the close's transaction): budgets trued up."""
    autobid_settle_for_auction(auction=auction, winner_buyer_id=winner_buyer_id, price=price, now=now)


def autobid_run_for_auction(*, auction_id: int, now: datetime | None = None) -> list[AutobidTrace]:
    """At auction open: evaluate every active rule that may bid, in priority order, and place a
    proxy bid for each matching one (one bid per buyer: the first matching rule wins). Records a
    trace per rule and returns the new traces. Idempotent: rules already traced are skipped.
    Must not run inside a transaction that holds the auction's lock (each bid commits alone)."""
    now = now or timezone.now()
    auction = Auction.objects.select_related("vertical", "lead__vertical").filter(pk=auction_id).first()
    if auction is None or auction.status != AuctionStatus.OPEN or now >= auction.deadline:
        return []
    lead = auction.lead
    rules = list(_rules_for(auction))
    if not rules:
        return []
    traced = set(AutobidTrace.objects.filter(auction=auction).values_list("rule_id", flat=True))
    bidding = dict.fromkeys(AuctionBidder.objects.filter(auction=auction).values_list("buyer_id", flat=True))
    fields_by_key = criteria.filterable_fields(lead.vertical)
    traces = []
    for rule in rules:
        if rule.pk in traced:
            continue
        matched, reasons = autobid_rule_match(rule=rule, lead=lead, now=now, fields_by_key=fields_by_key)
        if matched and rule.buyer_id in bidding:
            first = bidding[rule.buyer_id]
            reasons.append(
                f"not placed: one bid per buyer, rule {first} bid first"
                if first
                else "not placed: the buyer already bids on this auction"
            )
            trace = _trace_only(rule=rule, auction=auction, matched=True, reasons=reasons, now=now)
        elif matched:
            trace = _bid_by_rule(rule=rule, auction=auction, reasons=reasons, now=now)
            if trace is not None and trace.bid_id is not None:
                bidding[rule.buyer_id] = rule.pk
        else:
            trace = _trace_only(rule=rule, auction=auction, matched=False, reasons=reasons, now=now)
        if trace is not None:
            traces.append(trace)
    logger.info(
        "autobid run",
        extra={"auction_id": auction.pk, "rules": len(traces), "bids": sum(1 for t in traces if t.bid_id)},
    )
    return traces


# ---------------------------------------------------------------- settlement at close


def autobid_settle_for_auction(
    *, auction: Auction, winner_buyer_id: int | None, price: Decimal | None, now: datetime
) -> int:
    """True the budgets of the rules that bid on this auction up to what was paid: the winner's
    rule gets back (its maximum − price), every other rule its whole maximum and the lead.
    Each trace is settled at most once. Caller holds select_for_update on the auction (auction_close,
    before it locks ledger accounts); usage rows are updated in rule order. Returns how many
    traces this call settled."""
    traces = list(
        AutobidTrace.objects.filter(auction_id=auction.pk, bid__isnull=False, settled_at__isnull=True)
        .select_related("bid", "rule__buyer")
        .order_by("rule_id", "id")
    )
    settled = 0
    for trace in traces:
        placed = trace.bid.max_amount  # what the rule consumed at open (its max_bid then)
        won = winner_buyer_id is not None and trace.bid.buyer_id == winner_buyer_id and price is not None
        if won:
            refund, leads = max(placed - price, Decimal("0")), 0
            note = f"settled: won at {price:f}; {refund:f} of the maximum given back to the budget"
        else:
            refund, leads = placed, 1
            note = f"settled: not won; the maximum {placed:f} and the lead given back to the budget and cap"
        # The condition makes this exactly once even if two closes got this far.
        if not AutobidTrace.objects.filter(pk=trace.pk, settled_at__isnull=True).update(
            settled_at=now, reasons=[*trace.reasons, note]
        ):
            continue
        settled += 1
        day = trace.budget_day or trace.created_at.astimezone(_buyer_zone(trace.rule.buyer)).date()
        if refund or leads:
            changed = AutobidUsage.objects.filter(
                rule_id=trace.rule_id, day=day, spent__gte=refund, leads__gte=leads
            ).update(spent=F("spent") - refund, leads=F("leads") - leads)
            if not changed:
                logger.warning(
                    "autobid settlement found no usage to give back",
                    extra={"auction_id": auction.pk, "rule_id": trace.rule_id, "day": str(day)},
                )
    if settled:
        logger.info("autobid settled", extra={"auction_id": auction.pk, "traces": settled})
    return settled


# ---------------------------------------------------------------- writes

RULE_FIELDS = (
    "name",
    "vertical",
    "states",
    "zips_include",
    "zips_exclude",
    "field_filters",
    "min_score",
    "max_bid",
    "daily_budget",
    "daily_lead_cap",
    "hours",
    "priority",
    "paused",
    "target_margin",
    "auto_tune",
    "tune_min_bid",
    "tune_max_bid",
)


def _normalise(rule: AutobidRule) -> None:
    """Tidy what people type (case, spaces, duplicates); leaves anything odd for the check to name."""
    if isinstance(rule.name, str):
        rule.name = rule.name.strip()
    if isinstance(rule.states, list) and all(isinstance(s, str) for s in rule.states):
        rule.states = sorted({s.strip().upper() for s in rule.states if s.strip()})
    for name in ("zips_include", "zips_exclude"):
        values = getattr(rule, name)
        if isinstance(values, list) and all(isinstance(z, str) for z in values):
            setattr(rule, name, list(dict.fromkeys(z.strip() for z in values if z.strip())))
    if rule.hours is None:
        rule.hours = {}
    if rule.field_filters is None:
        rule.field_filters = []
    rule.field_filters = criteria.field_filters_normalized(rule.field_filters)
    if isinstance(rule.hours, dict) and isinstance(rule.hours.get("days"), list):
        days = rule.hours["days"]
        if all(criteria.is_int(d) for d in days):
            rule.hours = {**rule.hours, "days": sorted(set(days))}


def _rule_save(rule: AutobidRule) -> AutobidRule:
    errors: dict[str, list[str]] = {}
    if not getattr(rule.buyer, "is_buyer", False):
        errors["non_field_errors"] = ["Only buyer accounts have autobid rules. Enable buying on your account page."]
    if rule.vertical_id is not None and not vertical_admits_buyer(vertical=rule.vertical, user=rule.buyer):
        errors["vertical"] = ["This vertical is exclusive to its listed buyers."]
    _normalise(rule)
    try:
        check_autobid_rule(rule=rule)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    rule.save()
    return rule


@transaction.atomic
def autobid_rule_create(
    *,
    buyer,
    name: str,
    max_bid: Decimal,
    daily_budget: Decimal,
    daily_lead_cap: int,
    vertical=None,
    states: list | None = None,
    zips_include: list | None = None,
    zips_exclude: list | None = None,
    field_filters: list | None = None,
    min_score: int | None = None,
    hours: dict | None = None,
    priority: int = 0,
    paused: bool = False,
    target_margin: Decimal = Decimal("0.5"),
    auto_tune: bool = False,
    tune_min_bid: Decimal | None = None,
    tune_max_bid: Decimal | None = None,
) -> AutobidRule:
    """Create a buyer's rule; raises ValidationError with a message list per field."""
    return _rule_save(
        AutobidRule(
            buyer=buyer,
            name=name,
            vertical=vertical,
            states=list(states or []),
            zips_include=list(zips_include or []),
            zips_exclude=list(zips_exclude or []),
            field_filters=list(field_filters or []),
            min_score=min_score,
            max_bid=max_bid,
            daily_budget=daily_budget,
            daily_lead_cap=daily_lead_cap,
            hours=hours or {},
            priority=priority,
            paused=paused,
            target_margin=target_margin,
            auto_tune=auto_tune,
            tune_min_bid=tune_min_bid,
            tune_max_bid=tune_max_bid,
        )
    )


@transaction.atomic
def autobid_rule_update(*, rule: AutobidRule, **changes) -> AutobidRule:
    """Change some fields of a rule (any of RULE_FIELDS); raises ValidationError per field. Bids
    already placed keep their maximum; settlement uses the bid's maximum, not the rule's."""
    unknown = set(changes) - set(RULE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown autobid rule fields: {sorted(unknown)}")
    for name, value in changes.items():
        setattr(rule, name, value)
    return _rule_save(rule)


@transaction.atomic
def autobid_rule_delete(*, rule: AutobidRule) -> None:
    """Delete a rule with its usage and traces. Its bids stand (and are held) until their auctions close."""
    rule.delete()


@transaction.atomic
def autobid_rule_pause(*, rule: AutobidRule) -> AutobidRule:
    """Stop a rule from bidding on auctions that open from now on. Idempotent."""
    AutobidRule.objects.filter(pk=rule.pk).update(paused=True)
    rule.paused = True
    return rule


@transaction.atomic
def autobid_rule_resume(*, rule: AutobidRule) -> AutobidRule:
    """Let a paused rule bid again on auctions that open from now on. Idempotent."""
    AutobidRule.objects.filter(pk=rule.pk).update(paused=False)
    rule.paused = False
    return rule
