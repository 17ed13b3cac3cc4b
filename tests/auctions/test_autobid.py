"""Autobid rules: the matcher and its trace, definitions, priority, one bid per buyer, and budget and
cap consumed atomically (real threads against PostgreSQL)."""

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from auctions.choices import BidSource
from auctions.criteria import canonical_op
from auctions.models import AuctionBidder, AutobidRule, AutobidTrace, AutobidUsage, Bid
from auctions.services.auctions import auction_open
from auctions.services.autobid import autobid_rule_match, autobid_run_for_auction, check_autobid_rule
from ledger.selectors import balance_for
from tests.auctions.factories import funded_buyer, make_auction, make_scored_lead, make_vertical
from tests.concurrency import run_threads
from tests.factories import UserFactory, VerticalFieldFactory
from verticals.choices import FieldType

pytestmark = pytest.mark.django_db

# A Wednesday, 15:00 UTC = 11:00 in New York, 08:00 in Los Angeles.
WED_15_UTC = datetime(2025, 6, 4, 15, 0, tzinfo=UTC)


def add_fields(vertical):
    spec = [
        ("roof_type", FieldType.CHOICE, ["metal", "tile", "shingle"]),
        ("sqft", FieldType.INTEGER, []),
        ("bill", FieldType.DECIMAL, []),
        ("moved_in", FieldType.DATE, []),
        ("notes", FieldType.TEXT, []),
        ("owner", FieldType.BOOLEAN, []),
        ("features", FieldType.MULTI_CHOICE, ["pool", "garage", "solar"]),
    ]
    for key, ftype, choices in spec:
        VerticalFieldFactory(vertical=vertical, key=key, type=ftype, choices=choices, biddable=True)
    VerticalFieldFactory(vertical=vertical, key="income", type=FieldType.INTEGER, biddable=False)
    VerticalFieldFactory(vertical=vertical, key="ssn", type=FieldType.TEXT, pii=True)


LEAD_FIELDS = {
    "roof_type": "metal",
    "sqft": 2200,
    "bill": "180.50",
    "moved_in": "2019-05-01",
    "notes": "Wants Quote soon",
    "owner": True,
    "features": ["pool", "garage"],
}


def rule_for(buyer, **kwargs) -> AutobidRule:
    defaults = {"name": "rule", "max_bid": D("25"), "daily_budget": D("100"), "daily_lead_cap": 10}
    rule = AutobidRule(buyer=buyer, **{**defaults, **kwargs})
    check_autobid_rule(rule=rule)
    rule.save()
    return rule


@pytest.fixture
def fielded_vertical(db):
    vertical = make_vertical()
    add_fields(vertical)
    return vertical


@pytest.fixture
def lead(fielded_vertical):
    return make_scored_lead(vertical=fielded_vertical, state="CA", zip="94105", score=70, fields=LEAD_FIELDS)


@pytest.fixture
def buyer(db):
    return funded_buyer(time_zone="America/New_York")


def match(rule, lead, now=WED_15_UTC):
    return autobid_rule_match(rule=rule, lead=lead, now=now)


# ---------------------------------------------------------------- matchers


def test_every_check_of_a_plain_rule_passes_with_ok_reasons(buyer, lead):
    ok, reasons = match(rule_for(buyer), lead)
    assert ok
    assert reasons == ["active: ok", "vertical: all: ok", "states: all: ok", "hours: always: ok"]


def test_vertical_matches_itself_and_its_children_but_not_others(buyer, lead, fielded_vertical):
    assert match(rule_for(buyer, vertical=fielded_vertical), lead)[0]
    child = make_vertical(parent=fielded_vertical)
    child_lead = make_scored_lead(vertical=child)
    assert match(rule_for(buyer, vertical=fielded_vertical), child_lead)[0]
    other = make_vertical()
    ok, reasons = match(rule_for(buyer, vertical=other), lead)
    assert not ok and f"vertical {fielded_vertical.slug} is not {other.slug}" in reasons


def test_states(buyer, lead):
    assert "state CA in [CA, TX]: ok" in match(rule_for(buyer, states=["CA", "TX"]), lead)[1]
    ok, reasons = match(rule_for(buyer, states=["TX"]), lead)
    assert not ok and "state CA not in [TX]" in reasons


@pytest.mark.parametrize(
    ("include", "exclude", "expected_ok", "reason"),
    [
        (["94105"], [], True, "zip 94105 matches include 94105: ok"),
        (["941"], [], True, "zip 94105 matches include 941: ok"),
        (["100", "94106"], [], False, "zip 94105 not in include [100, 94106]"),
        ([], ["941"], False, "zip 94105 excluded by 941"),
        ([], ["94105"], False, "zip 94105 excluded by 94105"),
        ([], ["942", "94104"], True, "zip 94105 not in exclude [942, 94104]: ok"),
        (["941"], ["94105"], False, "zip 94105 excluded by 94105"),
    ],
)
def test_zip_and_zip3_include_and_exclude(buyer, lead, include, exclude, expected_ok, reason):
    ok, reasons = match(rule_for(buyer, zips_include=include, zips_exclude=exclude), lead)
    assert ok is expected_ok and reason in reasons


def test_min_score(buyer, lead):
    assert "score 70 >= min 60: ok" in match(rule_for(buyer, min_score=60), lead)[1]
    assert "score 70 >= min 70: ok" in match(rule_for(buyer, min_score=70), lead)[1]
    ok, reasons = match(rule_for(buyer, min_score=71), lead)
    assert not ok and "score 70 < min 71" in reasons


@pytest.mark.parametrize(
    ("field", "op", "value", "expected_ok", "reason"),
    [
        ("roof_type", "eq", "metal", True, "field roof_type eq metal: ok"),
        ("roof_type", "eq", "tile", False, "field roof_type eq tile: lead has metal"),
        ("roof_type", "ne", "tile", True, "field roof_type ne tile: ok"),
        ("roof_type", "ne", "metal", False, "field roof_type ne metal: lead has metal"),
        ("roof_type", "in", ["tile", "metal"], True, "field roof_type in [tile, metal]: ok"),
        ("roof_type", "in", ["tile"], False, "field roof_type in [tile]: lead has metal"),
        ("roof_type", "not_in", ["tile"], True, "field roof_type not_in [tile]: ok"),
        ("roof_type", "not_in", ["metal"], False, "field roof_type not_in [metal]: lead has metal"),
        ("sqft", "gt", 2000, True, "field sqft gt 2000: ok"),
        ("sqft", "gt", 2200, False, "field sqft gt 2200: lead has 2200"),
        ("sqft", "gte", 2200, True, "field sqft gte 2200: ok"),
        ("sqft", "lt", 2200, False, "field sqft lt 2200: lead has 2200"),
        ("sqft", "lte", 2200, True, "field sqft lte 2200: ok"),
        ("sqft", "between", [2000, 2500], True, "field sqft between [2000, 2500]: ok"),
        ("sqft", "between", [2300, 2500], False, "field sqft between [2300, 2500]: lead has 2200"),
        ("bill", "gte", "180.5", True, "field bill gte 180.5: ok"),
        ("bill", "lt", "100", False, "field bill lt 100: lead has 180.50"),
        ("moved_in", "lt", "2020-01-01", True, "field moved_in lt 2020-01-01: ok"),
        (
            "moved_in",
            "between",
            ["2020-01-01", "2021-01-01"],
            False,
            "field moved_in between [2020-01-01, 2021-01-01]: lead has 2019-05-01",
        ),
        ("notes", "contains", "quote", True, "field notes contains quote: ok"),
        ("notes", "contains", "urgent", False, "field notes contains urgent: lead has Wants Quote soon"),
        ("owner", "eq", True, True, "field owner eq true: ok"),
        ("owner", "ne", True, False, "field owner ne true: lead has true"),
        ("features", "contains", "pool", True, "field features contains pool: ok"),
        ("features", "contains", "solar", False, "field features contains solar: lead has [pool, garage]"),
        ("features", "in", ["solar", "garage"], True, "field features in [solar, garage]: ok"),
        ("features", "not_in", ["garage"], False, "field features not_in [garage]: lead has [pool, garage]"),
    ],
)
def test_every_field_operator_with_its_trace(buyer, lead, fielded_vertical, field, op, value, expected_ok, reason):
    rule = rule_for(buyer, vertical=fielded_vertical, field_filters=[{"field": field, "op": op, "value": value}])
    ok, reasons = match(rule, lead)
    assert ok is expected_ok and reason in reasons


@pytest.mark.parametrize(
    ("spelling", "code"),
    [
        ("=", "eq"),
        ("==", "eq"),
        ("≠", "ne"),
        ("!=", "ne"),
        (">", "gt"),
        ("≥", "gte"),
        (">=", "gte"),
        ("<", "lt"),
        ("≤", "lte"),
        ("<=", "lte"),
        ("not in", "not_in"),
        ("Not In", "not_in"),
        ("eq", "eq"),
        ("between", "between"),
    ],
)
def test_the_readme_spellings_of_operators_mean_their_codes(spelling, code):
    assert canonical_op(spelling) == code


@pytest.mark.parametrize(
    ("field", "op", "value", "expected_ok"),
    [
        ("roof_type", "=", "metal", True),
        ("roof_type", "≠", "metal", False),
        ("sqft", ">", 2000, True),
        ("sqft", "≥", 2201, False),
        ("sqft", "<=", 2200, True),
        ("roof_type", "not in", ["tile"], True),
    ],
)
def test_a_filter_stored_with_a_symbol_matches_as_its_code(
    buyer, lead, fielded_vertical, field, op, value, expected_ok
):
    rule = rule_for(buyer, vertical=fielded_vertical, field_filters=[{"field": field, "op": op, "value": value}])
    assert match(rule, lead)[0] is expected_ok


def test_a_field_the_lead_lacks_does_not_match(buyer, fielded_vertical):
    lead = make_scored_lead(vertical=fielded_vertical, fields={"sqft": 900})
    rule = rule_for(
        buyer, vertical=fielded_vertical, field_filters=[{"field": "roof_type", "op": "eq", "value": "tile"}]
    )
    ok, reasons = match(rule, lead)
    assert not ok and "field roof_type eq tile: lead has no roof_type" in reasons


def test_day_parting_is_evaluated_in_the_buyers_time_zone(lead):
    weekdays_9_to_5 = {"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}
    new_york = funded_buyer(time_zone="America/New_York")
    los_angeles = funded_buyer(time_zone="America/Los_Angeles")
    ok, reasons = match(rule_for(new_york, hours=weekdays_9_to_5), lead)  # 11:00 in New York
    assert ok and "hours Mon,Tue,Wed,Thu,Fri 09:00-17:00 America/New_York, now Wed 11:00: ok" in reasons
    ok, reasons = match(rule_for(los_angeles, hours=weekdays_9_to_5), lead)  # 08:00 in Los Angeles
    assert not ok and "hours Mon,Tue,Wed,Thu,Fri 09:00-17:00 America/Los_Angeles, now Wed 08:00: outside" in reasons
    weekends = {"days": [5, 6], "start": "09:00", "end": "17:00"}
    assert not match(rule_for(new_york, hours=weekends), lead)[0]


def test_day_parting_past_midnight_belongs_to_the_day_it_starts(lead):
    buyer = funded_buyer(time_zone="UTC")
    friday_nights = rule_for(buyer, hours={"days": [4], "start": "22:00", "end": "06:00"})
    assert match(friday_nights, lead, now=datetime(2025, 6, 6, 23, 0, tzinfo=UTC))[0]  # Fri 23:00
    assert match(friday_nights, lead, now=datetime(2025, 6, 7, 5, 59, tzinfo=UTC))[0]  # Sat 05:59
    assert not match(friday_nights, lead, now=datetime(2025, 6, 7, 23, 0, tzinfo=UTC))[0]  # Sat 23:00
    assert not match(friday_nights, lead, now=datetime(2025, 6, 6, 5, 0, tzinfo=UTC))[0]  # Fri 05:00


def test_paused_rule_does_not_match(buyer, lead):
    ok, reasons = match(rule_for(buyer, paused=True), lead)
    assert not ok and reasons[0] == "paused"


# ---------------------------------------------------------------- definitions


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": " "}, "name"),
        ({"states": ["CA", "XX"]}, "states"),
        ({"zips_include": ["9410"]}, "zips_include"),
        ({"zips_exclude": ["abcde"]}, "zips_exclude"),
        ({"min_score": 101}, "min_score"),
        ({"max_bid": D("0")}, "max_bid"),
        ({"max_bid": D("1.1234567")}, "max_bid"),
        ({"daily_budget": D("10")}, "daily_budget"),  # below one max_bid of 25
        ({"daily_lead_cap": 0}, "daily_lead_cap"),
        ({"hours": {"days": [7], "start": "09:00", "end": "17:00"}}, "hours"),
        ({"hours": {"days": [1], "start": "9am", "end": "17:00"}}, "hours"),
        ({"hours": {"days": [1], "start": "09:00", "end": "09:00"}}, "hours"),
        ({"field_filters": [{"field": "income", "op": "gt", "value": 5}]}, "field_filters"),  # not biddable
        ({"field_filters": [{"field": "ssn", "op": "eq", "value": "x"}]}, "field_filters"),  # PII
        ({"field_filters": [{"field": "sqft", "op": "like", "value": 5}]}, "field_filters"),
        ({"field_filters": [{"field": "sqft", "op": "contains", "value": 5}]}, "field_filters"),
        ({"field_filters": [{"field": "sqft", "op": "gt", "value": "many"}]}, "field_filters"),
        ({"field_filters": [{"field": "sqft", "op": "between", "value": [5, 1]}]}, "field_filters"),
        ({"field_filters": [{"field": "roof_type", "op": "in", "value": []}]}, "field_filters"),
        ({"field_filters": [{"field": "roof_type", "op": "eq", "value": "straw"}]}, "field_filters"),
        ({"field_filters": [{"field": "owner", "op": "eq", "value": "yes"}]}, "field_filters"),
        ({"field_filters": [{"field": "sqft", "op": "gt"}]}, "field_filters"),
    ],
)
def test_invalid_rule_definitions_are_rejected_by_field(buyer, fielded_vertical, changes, field):
    base = {
        "name": "r",
        "vertical": fielded_vertical,
        "max_bid": D("25"),
        "daily_budget": D("100"),
        "daily_lead_cap": 5,
    }
    with pytest.raises(ValidationError) as info:
        check_autobid_rule(rule=AutobidRule(buyer=buyer, **{**base, **changes}))
    assert set(info.value.message_dict) == {field}


def test_field_filters_need_a_vertical(buyer):
    with pytest.raises(ValidationError) as info:
        check_autobid_rule(
            rule=AutobidRule(
                buyer=buyer,
                name="r",
                max_bid=D("1"),
                daily_budget=D("1"),
                daily_lead_cap=1,
                field_filters=[{"field": "sqft", "op": "gt", "value": 1}],
            )
        )
    assert set(info.value.message_dict) == {"field_filters"}


# ---------------------------------------------------------------- running


def open_auction(vertical=None, **lead_kwargs):
    return make_auction(vertical=vertical or make_vertical(), **lead_kwargs)


def test_rules_bid_in_priority_order_with_their_max_bid_as_the_maximum():
    auction = open_auction()
    low, high = funded_buyer(), funded_buyer()
    first = rule_for(low, max_bid=D("30"), priority=1)
    second = rule_for(high, max_bid=D("40"), priority=5)
    traces = autobid_run_for_auction(auction_id=auction.pk)
    assert [t.rule_id for t in traces] == [second.pk, first.pk]
    bids = list(Bid.objects.filter(auction=auction).order_by("sequence"))
    assert [(b.buyer_id, b.max_amount, b.source) for b in bids] == [
        (high.pk, D("40"), BidSource.AUTOBID),
        (low.pk, D("30"), BidSource.AUTOBID),
    ]
    assert all(t.bid_id and t.reasons[-1].startswith("bid placed: max") for t in traces)
    auction.refresh_from_db()
    assert auction.leader_id == high.pk
    assert balance_for(user=high)["held"] == D("40")


def test_one_bid_per_buyer_the_highest_priority_matching_rule_wins():
    auction = open_auction(state="CA")
    buyer = funded_buyer()
    texas = rule_for(buyer, states=["TX"], priority=9, max_bid=D("50"))
    best = rule_for(buyer, priority=5, max_bid=D("20"))
    fallback = rule_for(buyer, priority=1, max_bid=D("35"))
    traces = {t.rule_id: t for t in autobid_run_for_auction(auction_id=auction.pk)}
    assert AuctionBidder.objects.get(auction=auction, buyer=buyer).max_amount == D("20")
    assert not traces[texas.pk].matched and traces[texas.pk].bid_id is None
    assert traces[best.pk].bid_id is not None
    assert traces[fallback.pk].matched and traces[fallback.pk].bid_id is None
    assert traces[fallback.pk].reasons[-1] == f"not placed: one bid per buyer, rule {best.pk} bid first"
    assert not AutobidUsage.objects.filter(rule=fallback).exists()  # never consumed


def test_the_seller_paused_rules_and_excluded_buyers_do_not_bid():
    seller = funded_buyer(is_seller=True)
    vertical = make_vertical()
    outsider, insider = funded_buyer(), funded_buyer()
    vertical.exclusive_buyers.add(insider, seller)
    auction = open_auction(vertical=vertical, seller=seller)
    rule_for(seller)
    rule_for(outsider)
    rule_for(insider, paused=True)
    assert autobid_run_for_auction(auction_id=auction.pk) == []
    active = rule_for(insider)
    assert [t.rule_id for t in autobid_run_for_auction(auction_id=auction.pk)] == [active.pk]


def test_running_twice_places_nothing_more():
    auction = open_auction()
    rule = rule_for(funded_buyer())
    autobid_run_for_auction(auction_id=auction.pk)
    assert autobid_run_for_auction(auction_id=auction.pk) == []
    assert Bid.objects.filter(auction=auction).count() == 1
    assert AutobidUsage.objects.get(rule=rule).leads == 1


def test_budget_and_cap_stop_bidding_with_a_reason():
    buyer = funded_buyer(time_zone="America/New_York")
    by_budget = rule_for(buyer, max_bid=D("25"), daily_budget=D("60"), daily_lead_cap=10)
    results = [autobid_run_for_auction(auction_id=open_auction().pk)[0] for _ in range(3)]
    assert [bool(t.bid_id) for t in results] == [True, True, False]
    assert "daily budget exhausted: spent 50.000000 + max 25.000000 > budget 60.000000" in results[2].reasons[-1]
    usage = AutobidUsage.objects.get(rule=by_budget)
    assert (usage.spent, usage.leads) == (D("50"), 2)

    by_budget.paused = True
    by_budget.save()
    capped = rule_for(funded_buyer(), daily_lead_cap=1)
    results = [autobid_run_for_auction(auction_id=open_auction().pk)[0] for _ in range(2)]
    assert [bool(t.bid_id) for t in results] == [True, False]
    assert results[1].reasons[-1].startswith("daily lead cap reached: 1 of 1")
    assert AutobidUsage.objects.get(rule=capped).leads == 1


def test_a_rejected_bid_gives_budget_and_cap_back():
    poor = funded_buyer(D("5"))
    rule = rule_for(poor, max_bid=D("25"))
    trace = autobid_run_for_auction(auction_id=open_auction().pk)[0]
    assert trace.matched and trace.bid_id is None
    assert "bid rejected (insufficient_funds)" in trace.reasons[-1]
    usage = AutobidUsage.objects.get(rule=rule)
    assert (usage.spent, usage.leads) == (D("0"), 0)


def test_a_rule_below_the_reserve_is_rejected_and_refunded():
    rule = rule_for(funded_buyer(), max_bid=D("5"), daily_budget=D("5"))  # reserve is 10
    trace = autobid_run_for_auction(auction_id=open_auction().pk)[0]
    assert "bid rejected (below_reserve)" in trace.reasons[-1]
    assert AutobidUsage.objects.get(rule=rule).spent == D("0")


def test_a_closed_auction_is_not_autobid(t0):
    auction = make_auction(now=t0)
    rule_for(funded_buyer())
    assert autobid_run_for_auction(auction_id=auction.pk, now=auction.deadline) == []


def test_auction_open_runs_autobid_on_commit(django_capture_on_commit_callbacks):
    buyer = funded_buyer()
    rule = rule_for(buyer, max_bid=D("33"))
    lead = make_scored_lead()
    with django_capture_on_commit_callbacks(execute=True):
        auction = auction_open(lead_id=lead.pk)
    trace = AutobidTrace.objects.get(rule=rule, auction=auction)
    assert trace.bid.max_amount == D("33") and trace.bid.buyer_id == buyer.pk


def test_a_rule_on_an_ancestor_vertical_bids_when_a_child_verticals_auction_opens(django_capture_on_commit_callbacks):
    parent = make_vertical()
    child = make_vertical(parent=parent)
    buyer = funded_buyer()
    rule = rule_for(buyer, vertical=parent, max_bid=D("31"))
    lead = make_scored_lead(vertical=child)
    with django_capture_on_commit_callbacks(execute=True):
        auction = auction_open(lead_id=lead.pk)
    assert AutobidTrace.objects.get(rule=rule, auction=auction).bid.max_amount == D("31")


def test_an_opening_no_rule_can_bid_on_costs_autobid_one_query(django_capture_on_commit_callbacks):
    from auctions.services.autobid import autobid_after_open
    from auctions.signals import auction_opened

    seller = UserFactory(is_seller=True, is_buyer=True)
    rule_for(funded_buyer(), paused=True)  # paused
    rule_for(funded_buyer(), vertical=make_vertical())  # another vertical
    lead = make_scored_lead(seller=seller)
    rule_for(seller, vertical=lead.vertical)  # the seller's own
    rule_for(funded_buyer(is_active=False), vertical=lead.vertical)  # an inactive buyer's
    no_longer_buyer = funded_buyer()
    rule_for(no_longer_buyer, vertical=lead.vertical)
    type(no_longer_buyer).objects.filter(pk=no_longer_buyer.pk).update(is_buyer=False)  # buying switched off
    sent = []

    def receiver(**kwargs):
        sent.append(kwargs)

    auction_opened.connect(receiver, dispatch_uid="test.autobid_one_query")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            auction = auction_open(lead_id=lead.pk)
    finally:
        auction_opened.disconnect(dispatch_uid="test.autobid_one_query")
    (kwargs,) = sent
    assert (kwargs["auction_id"], kwargs["vertical_ids"], kwargs["seller_id"]) == (
        auction.pk,
        [lead.vertical_id],
        seller.pk,
    )
    with CaptureQueriesContext(connection) as queries:
        autobid_after_open(**kwargs)
    assert len(queries) == 1, [q["sql"] for q in queries]
    assert not AutobidTrace.objects.filter(auction=auction).exists()


# ---------------------------------------------------------------- concurrency


@pytest.mark.django_db(transaction=True)
def test_twenty_auctions_opening_at_once_never_overspend_budget_or_cap():
    vertical = make_vertical()
    auctions = [open_auction(vertical=vertical) for _ in range(20)]  # no rules yet: nothing bids at open
    by_budget = funded_buyer(D("1000"))
    by_cap = funded_buyer(D("1000"))
    rich = funded_buyer(D("1000"))
    budget_rule = rule_for(by_budget, max_bid=D("15"), daily_budget=D("105"), daily_lead_cap=100, priority=2)  # 7
    cap_rule = rule_for(by_cap, max_bid=D("12"), daily_budget=D("1000"), daily_lead_cap=4, priority=1)
    # Runs last; where the others bid, 11 is too low and the auction refuses it: budget and cap come back.
    open_rule = rule_for(rich, max_bid=D("11"), daily_budget=D("1000"), daily_lead_cap=100)

    results = run_threads(20, lambda i: autobid_run_for_auction(auction_id=auctions[i].pk))
    assert all(isinstance(r, list) for r in results), results

    def placed(rule):
        return Bid.objects.filter(buyer=rule.buyer, source=BidSource.AUTOBID).count()

    assert placed(budget_rule) == 7 and placed(cap_rule) == 4
    rich_bids = placed(open_rule)
    assert 9 <= rich_bids <= 20
    refused = AutobidTrace.objects.filter(rule=open_rule, bid__isnull=True)
    assert refused.count() == 20 - rich_bids
    assert all("bid rejected" in t.reasons[-1] for t in refused)
    usage = AutobidUsage.objects.get(rule=open_rule)
    assert (usage.spent, usage.leads) == (D("11") * rich_bids, rich_bids)
    assert AutobidTrace.objects.filter(rule=budget_rule, bid__isnull=False).count() == 7
    assert AutobidTrace.objects.filter(rule=budget_rule).count() == 20
    usage = AutobidUsage.objects.get(rule=budget_rule)
    assert (usage.spent, usage.leads) == (D("105"), 7)
    usage = AutobidUsage.objects.get(rule=cap_rule)
    assert (usage.spent, usage.leads) == (D("48"), 4)
    assert balance_for(user=by_budget)["held"] == D("105")
    connection.close()


def test_admin_lists_rules_and_refuses_an_invalid_one_with_field_errors(client):
    from django.urls import reverse

    staff = UserFactory(is_staff=True, is_superuser=True)
    buyer = UserFactory(is_buyer=True)
    client.force_login(staff)
    for name in ("autobidrule", "autobidusage", "autobidtrace"):
        assert client.get(reverse(f"admin:auctions_{name}_changelist")).status_code == 200
    response = client.post(
        reverse("admin:auctions_autobidrule_add"),
        {
            "buyer": buyer.pk,
            "name": "bad",
            "states": '["ZZ"]',
            "zips_include": "[]",
            "zips_exclude": "[]",
            "field_filters": "[]",
            "hours": "{}",
            "max_bid": "10",
            "daily_budget": "100",
            "daily_lead_cap": "5",
            "priority": "0",
        },
    )
    assert response.status_code == 200  # re-rendered with the error, not saved, not a 500
    assert "states" in response.context["adminform"].form.errors


def test_the_rule_forms_offer_exactly_the_fields_a_rule_may_filter_on_in_two_queries(django_assert_num_queries):
    """One rule for what rules and bounties filter on (criteria.filterable_fields_of): the form's
    reference for many verticals is the checker's, inherited fields included, PII and
    non-biddable fields left out."""
    from auctions.criteria import filterable_fields
    from auctions.selectors.autobid import autobid_filterable_fields

    parent = make_vertical()
    child = make_vertical(parent=parent)
    VerticalFieldFactory(vertical=parent, key="homeowner", type=FieldType.BOOLEAN, biddable=True)
    VerticalFieldFactory(vertical=parent, key="income", type=FieldType.INTEGER, biddable=False)
    VerticalFieldFactory(vertical=child, key="roof_type", type=FieldType.CHOICE, choices=["metal"], biddable=True)
    VerticalFieldFactory(vertical=child, key="ssn_last4", type=FieldType.TEXT, pii=True)
    with django_assert_num_queries(2):
        reference = autobid_filterable_fields(verticals=[parent, child])
    for vertical, fields in reference:
        assert [f.key for f in fields] == list(filterable_fields(vertical))
    assert [f.key for f in reference[1][1]] == ["homeowner", "roof_type"]
