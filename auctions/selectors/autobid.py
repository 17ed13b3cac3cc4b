"""Reads for autobid rules: a buyer's rules with today's usage, their traces, and a dry run that
evaluates the buyer's rules against an auction now without bidding.

Only ever the caller's own rules. What a buyer sees of a lead here is what the auction room shows
(state, ZIP3, score, the vertical's biddable fields): trace reasons name the lead's ZIP as ZIP3
(`zip 941xx …`). Budgets decide money, so usage is read from the primary.
"""

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db.models import DecimalField, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from auctions import criteria
from auctions.choices import AuctionStatus
from auctions.models import Auction, AuctionBidder, AutobidRule, AutobidTrace, AutobidUsage
from auctions.selectors.auctions import auction_visible_q
from auctions.services import autobid
from config import db_router
from core.money import USDC_DECIMAL_PLACES, USDC_MAX_DIGITS
from verticals.choices import FieldType
from verticals.selectors import vertical_schemas

RECENT_TRACES = 50
_LEAD_ZIP = re.compile(r"^zip (\d{3})\d{2}\b")


def buyer_today(*, buyer, now: datetime | None = None) -> date:
    """The buyer's calendar day now, in their time zone (the day budgets and caps count)."""
    return (now or timezone.now()).astimezone(autobid._buyer_zone(buyer)).date()


def reasons_for_buyer(reasons: list[str]) -> list[str]:
    """A trace's reasons as the buyer may read them: the lead's ZIP cut to ZIP3."""
    return [_LEAD_ZIP.sub(r"zip \1xx", r) if isinstance(r, str) else str(r) for r in reasons or []]


# ---------------------------------------------------------------- rules


def autobid_rule_list_for_buyer(*, buyer, now: datetime | None = None) -> QuerySet:
    """The buyer's rules, highest priority first, each annotated with today's usage
    (`spent_today`, `leads_today`, the buyer's local day). One query."""
    today = buyer_today(buyer=buyer, now=now)
    usage = AutobidUsage.objects.filter(rule_id=OuterRef("pk"), day=today)
    money = DecimalField(max_digits=USDC_MAX_DIGITS, decimal_places=USDC_DECIMAL_PLACES)
    return (
        AutobidRule.objects.filter(buyer=buyer)
        .select_related("vertical")
        .annotate(
            spent_today=Coalesce(
                Subquery(usage.values("spent")[:1], output_field=money), Value(Decimal("0")), output_field=money
            ),
            leads_today=Coalesce(
                Subquery(usage.values("leads")[:1], output_field=IntegerField()), Value(0), output_field=IntegerField()
            ),
            usage_day=Value(today),
        )
        .order_by("-priority", "id")
    )


def autobid_rule_get_for_buyer(*, buyer, rule_id: int) -> AutobidRule:
    """One of the buyer's rules with today's usage; AutobidRule.DoesNotExist for anyone else's."""
    with db_router.primary():
        return autobid_rule_list_for_buyer(buyer=buyer).get(pk=rule_id)


# ---------------------------------------------------------------- traces


def autobid_trace_list_for_rule(*, rule: AutobidRule) -> QuerySet:
    """A rule's traces, newest first ((created_at, id) cursor). The caller owns the rule."""
    return (
        AutobidTrace.objects.filter(rule=rule)
        .select_related("bid", "auction__vertical", "auction__lead")
        .order_by("-created_at", "-id")
    )


def autobid_trace_list_recent(*, rule: AutobidRule, limit: int = RECENT_TRACES) -> list[AutobidTrace]:
    return list(autobid_trace_list_for_rule(rule=rule)[:limit])


def autobid_trace_list_for_auction(*, auction: Auction, buyer) -> list[AutobidTrace]:
    """The traces of this buyer's rules on this auction (never another buyer's), by priority."""
    return list(
        AutobidTrace.objects.filter(auction=auction, rule__buyer=buyer)
        .select_related("rule", "bid", "auction__vertical")
        .order_by("-rule__priority", "rule_id")
    )


# ---------------------------------------------------------------- access and dry run


def access_auction_for_buyer(*, auction_id: int, buyer) -> Auction:
    """An auction the buyer may see (auctions.selectors.auctions.auction_visible_q); Auction.DoesNotExist
    otherwise, so an exclusive vertical's auctions stay invisible to outsiders."""
    with db_router.primary():
        return (
            Auction.objects.select_related("lead__vertical", "vertical")
            .filter(auction_visible_q(user=buyer))
            .get(pk=auction_id)
        )


@dataclass
class DryRunRow:
    rule: AutobidRule
    matched: bool
    would_bid: bool
    reasons: list[str] = field(default_factory=list)


def autobid_dry_run(*, auction: Auction, buyer, now: datetime | None = None) -> list[DryRunRow]:
    """Evaluate every rule of the buyer (paused ones too) against this auction's lead now, with
    the budget and cap as they stand today, and say what each would do. Places nothing: rules
    bid only when an auction opens."""
    now = now or timezone.now()
    lead = auction.lead
    rules = list(
        AutobidRule.objects.filter(buyer=buyer).select_related("buyer", "vertical").order_by("-priority", "id")
    )
    if not rules:
        return []
    today = buyer_today(buyer=buyer, now=now)
    with db_router.primary():
        usage = {u.rule_id: u for u in AutobidUsage.objects.filter(rule__in=rules, day=today)}
        bidding = AuctionBidder.objects.filter(auction=auction, buyer=buyer).exists()
    fields_by_key = criteria.filterable_fields(lead.vertical)
    closed = auction.status != AuctionStatus.OPEN or now >= auction.deadline
    rows, first = [], None
    for rule in rules:
        matched, reasons = autobid.autobid_rule_match(rule=rule, lead=lead, now=now, fields_by_key=fields_by_key)
        would = False
        if not matched:
            pass
        elif auction.seller_id == buyer.pk:
            reasons.append("would not bid: this is your own lead")
        elif closed:
            reasons.append("would not bid: the auction has closed")
        elif bidding:
            reasons.append("would not bid: you already bid on this auction")
        elif first is not None:
            reasons.append(f"would not bid: one bid per buyer, rule {first} would bid first")
        else:
            used = usage.get(rule.pk)
            spent, leads = (used.spent, used.leads) if used else (Decimal("0"), 0)
            if leads >= rule.daily_lead_cap:
                reasons.append(f"would not bid: daily lead cap reached: {leads} of {rule.daily_lead_cap} on {today}")
            elif spent + rule.max_bid > rule.daily_budget:
                reasons.append(
                    f"would not bid: daily budget exhausted: spent {spent:f} + max {rule.max_bid:f} > "
                    f"budget {rule.daily_budget:f} on {today}"
                )
            else:
                would, first = True, rule.pk
                reasons.append(
                    f"would bid: max {rule.max_bid:f} (today spent {spent:f} of {rule.daily_budget:f}, "
                    f"leads {leads} of {rule.daily_lead_cap})"
                )
        rows.append(DryRunRow(rule=rule, matched=matched, would_bid=would, reasons=reasons_for_buyer(reasons)))
    return rows


@dataclass
class AuctionExplanation:
    """For the auction room and the API: what the buyer's rules did at open, and would do now."""

    traces: list[AutobidTrace]
    dry_run: list[DryRunRow]
    has_rules: bool


def autobid_explain_for_auction(*, auction: Auction, buyer, now: datetime | None = None) -> AuctionExplanation:
    traces = autobid_trace_list_for_auction(auction=auction, buyer=buyer)
    for trace in traces:
        trace.buyer_reasons = reasons_for_buyer(trace.reasons)
    dry_run = autobid_dry_run(auction=auction, buyer=buyer, now=now)
    return AuctionExplanation(traces=traces, dry_run=dry_run, has_rules=bool(dry_run))


# ---------------------------------------------------------------- the form's reference


@dataclass(frozen=True)
class FilterableField:
    key: str
    label: str
    type: str
    ops: list[str]
    choices: list

    @property
    def type_label(self) -> str:
        return FieldType(self.type).label if self.type in FieldType.values else self.type

    @property
    def op_symbols(self) -> list[str]:
        return [criteria.OP_SYMBOLS[op] for op in self.ops]


def autobid_filterable_fields(*, verticals) -> list[tuple]:
    """(vertical, [FilterableField …]) for each vertical: the biddable, non-PII fields a rule may
    filter on (inherited ones included) and the operators each type allows. Two queries in all."""
    verticals = list(verticals)
    schemas = vertical_schemas(vertical_ids=[v.pk for v in verticals])
    out = []
    for vertical in verticals:
        fields = [
            FilterableField(
                key=f.key,
                label=f.label,
                type=f.type,
                ops=[op for op in criteria.OP_NAMES if op in criteria.OPS_BY_TYPE.get(f.type, set())],
                choices=list(f.choices or []),
            )
            for f in criteria.filterable_fields_of(schemas.get(vertical.pk, [])).values()
        ]
        out.append((vertical, fields))
    return out
