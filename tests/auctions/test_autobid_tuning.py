"""Autobid tuned by outcomes (auctions.services.autobid_tuning): the value per lead and its
segments from the buyer's dispositions of the leads a rule won, the suggestion, and the opt-in
daily auto-tune: it never leaves the buyer's bounds (over many random disposition sets, fixed
seed), never touches a paused rule, runs at most once a day, is reverted on request, and its
stored evidence is recomputed exactly from the stored disposition history."""

import random
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from auctions.models import AutobidRule, AutobidTrace, AutobidTuning, Bid
from auctions.services.autobid import check_autobid_rule
from auctions.services.autobid_tuning import (
    MIN_OUTCOMES,
    autobid_rule_evidence,
    autobid_rule_tune,
    autobid_tune_due,
    autobid_tuning_revert,
    score_band,
)
from auctions.services.dispositions import check_disposition, disposition_record
from tests.auctions.factories import funded_buyer, make_vertical
from tests.auctions.factories_bounties import sell_by_auction
from tests.escrow.test_purchases_api import client_for

pytestmark = pytest.mark.django_db

STATUSES = ["contacted", "no_answer", "appointment", "quoted", "sold", "bad"]


def make_rule(buyer, **kwargs) -> AutobidRule:
    defaults = {"name": "tuned", "max_bid": D("25"), "daily_budget": D("1000"), "daily_lead_cap": 100}
    rule = AutobidRule(buyer=buyer, **{**defaults, **kwargs})
    check_autobid_rule(rule=rule)
    rule.save()
    return rule


@pytest.fixture
def t0():
    return timezone.now().replace(microsecond=0) - timedelta(days=30)


@pytest.fixture
def won(t0):
    """A rule and 12 purchases it won (one bid each, traced to the rule)."""
    buyer = funded_buyer(D("5000"))
    rule = make_rule(buyer, auto_tune=True, tune_min_bid=D("5"), tune_max_bid=D("60"))
    vertical = make_vertical()
    sales = []
    for i in range(12):
        sale = sell_by_auction(t0=t0 + timedelta(minutes=5 * i), buyer=buyer, vertical=vertical)
        bid = Bid.objects.filter(auction=sale.auction).first()
        AutobidTrace.objects.create(rule=rule, auction=sale.auction, matched=True, bid=bid)
        sales.append(sale)
    return rule, sales


def report(sale, status, *, at, revenue=None, reason=None):
    value = check_disposition(
        status=status,
        revenue=revenue if status == "sold" else None,
        reason=reason or ("x" if status == "bad" else None),
    )
    disposition_record(sale_id=sale.pk, by=sale.buyer, value=value, channel="api", now=at)


def test_value_per_lead_is_revenue_over_outcomes_and_the_suggestion_is_value_times_margin(won, t0):
    rule, sales = won
    at = t0 + timedelta(days=1)
    for sale in sales[:3]:
        report(sale, "sold", revenue="100", at=at)
    for sale in sales[3:10]:
        report(sale, "no_answer", at=at)
    evidence = autobid_rule_evidence(rule=rule, as_of=at)
    assert evidence["outcomes"] == 10 and evidence["sold"] == 3 and evidence["revenue"] == "300.000000"
    assert evidence["value_per_lead"] == "30.000000"
    assert evidence["suggested_max_bid"] == "15.000000"  # 30 × 0.5
    segment = evidence["segments"]["score_band"][0]
    assert segment["outcomes"] == 10 and segment["value"] == "30.000000"
    # Under MIN_OUTCOMES outcomes: no suggestion.
    assert autobid_rule_evidence(rule=rule, as_of=at - timedelta(seconds=1))["outcomes"] == 0
    assert MIN_OUTCOMES == 10


def test_score_bands():
    assert score_band(49) == "0-49" and score_band(85) == "85-100" and score_band(None) == "unscored"


def test_auto_tune_never_leaves_the_bounds_over_random_disposition_sets(won, t0):
    rule, sales = won
    rng = random.Random(1406)
    now = t0 + timedelta(days=1)
    for _ in range(40):
        low = D(rng.randint(1, 40))
        high = low + D(rng.randint(0, 40))
        AutobidRule.objects.filter(pk=rule.pk).update(
            tune_min_bid=low,
            tune_max_bid=high,
            max_bid=D(rng.randint(1, 90)),
            target_margin=D(rng.choice(["0.1", "0.5", "0.9", "1"])),
        )
        for sale in sales:
            status = rng.choice(STATUSES)
            revenue = str(D(rng.randint(0, 50000)) / 100) if status == "sold" else None
            report(sale, status, revenue=revenue, at=now)
        now += timedelta(hours=25)
        tuning = autobid_rule_tune(rule_id=rule.pk, now=now)
        rule.refresh_from_db()
        evidence = autobid_rule_evidence(rule=rule, as_of=now)
        if tuning is not None:
            assert low <= tuning.new_max_bid <= high
            assert rule.max_bid == tuning.new_max_bid
            assert tuning.evidence == evidence
        if evidence["suggested_max_bid"] is not None:
            assert low <= rule.max_bid <= high  # tuned, or already where the clamp puts it


def test_a_paused_rule_is_never_changed_and_tuning_runs_at_most_once_a_day(won, t0):
    rule, sales = won
    at = t0 + timedelta(days=1)
    for sale in sales[:10]:
        report(sale, "sold", revenue="20", at=at)
    AutobidRule.objects.filter(pk=rule.pk).update(paused=True)
    assert autobid_tune_due(now=at + timedelta(hours=1)) == 0
    assert autobid_rule_tune(rule_id=rule.pk, now=at + timedelta(hours=1)) is None
    rule.refresh_from_db()
    assert rule.max_bid == D("25") and rule.last_tuned_at is None and not AutobidTuning.objects.exists()

    AutobidRule.objects.filter(pk=rule.pk).update(paused=False)
    assert autobid_tune_due(now=at + timedelta(hours=1)) == 1
    rule.refresh_from_db()
    assert rule.max_bid == D("10")  # 20 × 0.5
    for sale in sales[:10]:
        report(sale, "sold", revenue="60", at=at + timedelta(hours=2))
    assert autobid_tune_due(now=at + timedelta(hours=20)) == 0  # not a day yet
    assert autobid_rule_tune(rule_id=rule.pk, now=at + timedelta(hours=20)) is None
    assert autobid_tune_due(now=at + timedelta(hours=25, seconds=1)) == 1
    rule.refresh_from_db()
    assert rule.max_bid == D("30") and AutobidTuning.objects.count() == 2


def test_opting_out_stops_the_tuning(won, t0):
    rule, sales = won
    for sale in sales[:10]:
        report(sale, "sold", revenue="20", at=t0)
    AutobidRule.objects.filter(pk=rule.pk).update(auto_tune=False)
    assert autobid_tune_due(now=t0 + timedelta(days=2)) == 0


def test_revert_restores_the_old_maximum_once_and_only_for_the_latest_change(won, t0):
    rule, sales = won
    for sale in sales[:10]:
        report(sale, "sold", revenue="100", at=t0)
    first = autobid_rule_tune(rule_id=rule.pk, now=t0 + timedelta(days=1))
    assert (first.old_max_bid, first.new_max_bid) == (D("25"), D("50"))
    assert "50.000000 USDC" in first.reason
    AutobidRule.objects.filter(pk=rule.pk).update(target_margin=D("0.4"))
    report(sales[0], "bad", at=t0 + timedelta(days=1, hours=1))  # a later change of one outcome
    report(sales[10], "sold", revenue="190", at=t0 + timedelta(days=1, hours=1))
    # The stored evidence is recomputed exactly from the stored history, later changes aside.
    assert autobid_rule_evidence(rule=rule, as_of=first.created_at, target_margin=D("0.5")) == first.evidence
    second = autobid_rule_tune(rule_id=rule.pk, now=t0 + timedelta(days=2, seconds=1))
    assert second.new_max_bid == D("39.636363")  # (9 × 100 + 190) ÷ 11 × 0.4, rounded down
    with pytest.raises(ValidationError):
        autobid_tuning_revert(tuning_id=first.pk, rule=rule)
    autobid_tuning_revert(tuning_id=second.pk, rule=rule)
    rule.refresh_from_db()
    assert rule.max_bid == D("50")
    with pytest.raises(ValidationError):
        autobid_tuning_revert(tuning_id=second.pk, rule=rule)


def test_the_bounds_are_checked(won):
    rule, _ = won
    rule.tune_min_bid, rule.tune_max_bid = D("10"), D("5")
    with pytest.raises(ValidationError) as caught:
        check_autobid_rule(rule=rule)
    assert "tune_max_bid" in caught.value.message_dict
    rule.tune_min_bid, rule.tune_max_bid, rule.target_margin = None, D("5"), D("1.5")
    with pytest.raises(ValidationError) as caught:
        check_autobid_rule(rule=rule)
    assert {"tune_min_bid", "target_margin"} <= set(caught.value.message_dict)


def test_the_page_and_the_api_show_the_evidence_and_revert(client, won, t0):
    rule, sales = won
    for sale in sales[:10]:
        report(sale, "sold", revenue="100", at=t0)
    tuning = autobid_rule_tune(rule_id=rule.pk, now=t0 + timedelta(days=1))
    client.force_login(rule.buyer)
    page = client.get(f"/autobid/{rule.pk}/").content.decode()
    assert 'data-testid="suggested-max-bid">50.000000 USDC' in page and 'data-testid="tuning-revert"' in page
    api = client_for(rule.buyer)
    body = api.get(f"/api/v1/autobid-rules/{rule.pk}/suggestion/").json()
    assert body["evidence"]["suggested_max_bid"] == "50.000000" and body["tunings"][0]["id"] == tuning.pk
    response = api.post(f"/api/v1/autobid-rules/{rule.pk}/tunings/{tuning.pk}/revert/")
    assert response.status_code == 200 and response.json()["reverted_at"]
    again = api.post(f"/api/v1/autobid-rules/{rule.pk}/tunings/{tuning.pk}/revert/")
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_revertible"
    rule.refresh_from_db()
    assert rule.max_bid == D("25")
    response = client.post(
        f"/autobid/{rule.pk}/tuning/",
        {"target_margin": "0.6", "auto_tune": "on", "tune_min_bid": "8", "tune_max_bid": "3"},
        follow=True,
    )
    assert "upper bound must be at least" in response.content.decode()
    other = client_for(funded_buyer())
    assert other.get(f"/api/v1/autobid-rules/{rule.pk}/suggestion/").status_code == 404
