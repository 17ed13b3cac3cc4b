"""Seller reputation per vertical (leads/seller_reputation.py, docs/scoring.md "Seller reputation
per vertical"): the formula, the counters sales and disputes move, the score recomputed with them,
no lost increment between two real transactions, the rebuild from the facts, the daily refresh,
and the quality score's component reading it."""

import importlib
import re
import threading
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from leads import scoring
from leads import seller_reputation as rep
from leads.choices import DisputeOutcomeForReputation, LeadSource, LeadStatus, SellerReputationLevel
from leads.models import Lead, SellerVerticalReputation
from leads.services import (
    lead_transition,
    seller_reputation_dispute_decided,
    seller_reputation_dispute_opened,
)
from tests.conftest import wait_for
from tests.factories import UserFactory
from tests.leads.test_reputation import move, score, submit

pytestmark = pytest.mark.django_db

D = Decimal
NOW = timezone.now()


def listed_lead(seller, vertical) -> Lead:
    """A lead of the seller listed in the vertical, without intake (no scoring task, no rollup)."""
    return Lead.objects.create(
        vertical=vertical,
        seller=seller,
        source=LeadSource.API,
        consent_text="I agree.",
        consent_at=timezone.now(),
        consent_ip="203.0.113.7",
        status=LeadStatus.LISTED,
        quality_score=70,
    )


def sell(lead: Lead) -> Lead:
    with transaction.atomic():
        locked = Lead.objects.select_for_update().get(pk=lead.pk)
        return lead_transition(lead=locked, to_status=LeadStatus.SOLD, reason="test", price=D("20"))


def row_of(seller, vertical) -> SellerVerticalReputation:
    return SellerVerticalReputation.objects.get(seller=seller, vertical=vertical)


def expected_score(row: SellerVerticalReputation) -> int:
    return rep.reputation_score(
        sales=row.sales, refunds_weighted=row.refunds_weighted, first_sale_at=row.first_sale_at, now=row.computed_at
    )


# ---------------------------------------------------------------- the formula


def test_a_new_seller_starts_neutral_and_labelled_new():
    assert rep.NEUTRAL_SCORE == 43  # 85 × (1 − 0.10 / 0.20) = 42.5, rounded half up; no tenure
    assert rep.reputation_level(score=rep.NEUTRAL_SCORE, sales=0) == SellerReputationLevel.NEW
    shown = rep.reputation_shown(score=None, level=None, sales=None, refunds_weighted=None)
    assert shown.as_dict() == {
        "score": 43,
        "level": "new",
        "label": "New seller",
        "sales": 0,
        "return_rate": None,
        "dispositions": 0,
        "contact_rate": None,
    }


@pytest.mark.parametrize(
    ("sales", "refunds", "days", "points"),
    [
        (0, "0", 0, 43),
        (100, "0", 180, 96),  # 85 × (1 − (1/110)/0.2) + 15 = 96.1
        (100, "5", 180, 77),  # 85 × (1 − (6/110)/0.2) + 15 = 76.8
        (100, "10", 180, 58),  # the prior's own 10 %: half the return points
        (100, "20", 400, 19),  # tenure stops growing at 180 days
        (100, "40", 180, 15),  # a return rate over 20 %: no return points at all
        (10, "0", 90, 71),  # 85 × (1 − (1/20)/0.2) + 15 × 90/180 = 71.25
        (10, "0.5", 0, 53),  # a half refund weighs half a return: 85 × (1 − (1.5/20)/0.2) = 53.1
    ],
)
def test_the_score_follows_the_documented_formula(sales, refunds, days, points):
    first = NOW - timedelta(days=days)
    assert rep.reputation_score(sales=sales, refunds_weighted=D(refunds), first_sale_at=first, now=NOW) == points


def test_volume_is_confidence_the_same_return_rate_weighs_more_over_more_sales():
    few = rep.reputation_score(sales=2, refunds_weighted=D(0), first_sale_at=None, now=NOW)
    many = rep.reputation_score(sales=200, refunds_weighted=D(0), first_sale_at=None, now=NOW)
    assert rep.NEUTRAL_SCORE < few < many
    bad_few = rep.reputation_score(sales=4, refunds_weighted=D(1), first_sale_at=None, now=NOW)
    bad_many = rep.reputation_score(sales=400, refunds_weighted=D(100), first_sale_at=None, now=NOW)
    assert bad_many < bad_few < rep.NEUTRAL_SCORE


@pytest.mark.parametrize(
    ("score_", "sales", "level"),
    [(99, 9, "new"), (80, 10, "trusted"), (79, 10, "good"), (60, 50, "good"), (59, 50, "fair"), (40, 50, "fair")]
    + [(39, 50, "poor"), (0, 50, "poor")],
)
def test_the_label_follows_score_and_sales(score_, sales, level):
    assert rep.reputation_level(score=score_, sales=sales) == level


def test_the_documentation_states_the_constants_in_the_code():
    doc = (Path(settings.BASE_DIR) / "docs" / "scoring.md").read_text()
    section = doc[doc.index("## Seller reputation per vertical") :]
    section = section[: section.index("\n## ", 5)]
    constants = {
        "PRIOR_SALES": rep.PRIOR_SALES,
        "PRIOR_RETURNS": rep.PRIOR_RETURNS,
        "MAX_RETURN_RATE": rep.MAX_RETURN_RATE,
        "RETURN_POINTS": rep.RETURN_POINTS,
        "TENURE_POINTS": rep.TENURE_POINTS,
        "TENURE_DAYS": rep.TENURE_DAYS,
        "NEW_SELLER_SALES": rep.NEW_SELLER_SALES,
        "REPUTATION_SALES_HALF": scoring.REPUTATION_SALES_HALF,
    }
    for name, value in constants.items():
        assert re.search(rf"\|\s*`{name}`\s*\|\s*{value}\s*\|", section), f"docs/scoring.md: {name} should be {value}"
    for floor, level in rep.LEVELS:
        assert re.search(rf"\|\s*{floor}\s*\|\s*{level.label}\s*\|", section), level
    assert f"starts at {rep.NEUTRAL_SCORE}" in section


# ---------------------------------------------------------------- the counters


def test_a_sale_counts_in_its_vertical_and_recomputes_the_score(seller_user, solar):
    other_vertical_lead = listed_lead(seller_user, solar.parent)
    leads = [listed_lead(seller_user, solar) for _ in range(3)]
    assert not SellerVerticalReputation.objects.exists()
    sell(leads[0])
    row = row_of(seller_user, solar)
    assert (row.sales, row.disputes_opened, row.refunds_weighted) == (1, 0, 0)
    assert row.first_sale_at is not None and row.score == expected_score(row) and row.level == "new"
    first = row.first_sale_at
    for lead in leads[1:]:
        sell(lead)
    row = row_of(seller_user, solar)
    assert row.sales == 3 and row.first_sale_at == first and row.score == expected_score(row)
    sell(other_vertical_lead)
    assert row_of(seller_user, solar.parent).sales == 1 and row_of(seller_user, solar).sales == 3


def test_only_a_sale_moves_the_sales_counter(seller_user, solar):
    lead = listed_lead(seller_user, solar)
    with transaction.atomic():
        lead_transition(lead=Lead.objects.select_for_update().get(pk=lead.pk), to_status=LeadStatus.UNSOLD)
    assert not SellerVerticalReputation.objects.exists()
    sell(lead)
    with transaction.atomic():  # a dispute re-score keeps it sold: not a second sale
        lead_transition(lead=Lead.objects.select_for_update().get(pk=lead.pk), to_status=LeadStatus.SCORED)
    assert row_of(seller_user, solar).sales == 1


def test_a_lead_sold_through_intake_scoring_and_auction_statuses_counts_once(seller_user, solar):
    lead = score(submit(seller_user).lead.pk, floor=0, vertical=solar)
    move(lead, LeadStatus.LISTED, LeadStatus.UNSOLD, LeadStatus.SOLD)
    assert row_of(seller_user, solar).sales == 1


def test_disputes_opened_count_but_only_decisions_move_the_score(seller_user, solar):
    for _ in range(10):
        sell(listed_lead(seller_user, solar))
    before = row_of(seller_user, solar)
    seller_reputation_dispute_opened(seller_id=seller_user.pk, vertical_id=solar.pk)
    row = row_of(seller_user, solar)
    assert row.disputes_opened == 1 and row.score == before.score

    seller_reputation_dispute_decided(
        seller_id=seller_user.pk, vertical_id=solar.pk, outcome="dismissed", refund_share=D(0)
    )
    row = row_of(seller_user, solar)
    assert (row.disputes_dismissed, row.disputes_upheld, row.refunds_weighted) == (1, 0, 0)
    assert row.score == before.score  # a dismissal does not hurt

    seller_reputation_dispute_decided(
        seller_id=seller_user.pk, vertical_id=solar.pk, outcome="refund_partial", refund_share=D("0.25")
    )
    partial = row_of(seller_user, solar)
    assert (partial.disputes_upheld, partial.refunds_weighted) == (1, D("0.25"))
    assert partial.score == expected_score(partial) < before.score

    seller_reputation_dispute_decided(
        seller_id=seller_user.pk,
        vertical_id=solar.pk,
        outcome=DisputeOutcomeForReputation.REFUND_FULL,
        refund_share=D("1.000000"),
    )
    full = row_of(seller_user, solar)
    assert (full.disputes_upheld, full.refunds_weighted) == (2, D("1.25"))
    assert full.score == expected_score(full) < partial.score
    shown = rep.seller_reputation_get(seller_id=seller_user.pk, vertical_id=solar.pk)
    assert (shown.sales, shown.return_rate, shown.score) == (10, D("0.1250"), full.score)


def test_a_dispute_before_any_sale_is_row_still_counted(seller_user, solar):
    seller_reputation_dispute_opened(seller_id=seller_user.pk, vertical_id=solar.pk)
    row = row_of(seller_user, solar)
    assert (row.sales, row.disputes_opened, row.first_sale_at, row.score) == (0, 1, None, rep.NEUTRAL_SCORE)


@pytest.mark.parametrize(
    ("outcome", "share"),
    [("refund", "1"), ("refund_full", "0.5"), ("refund_partial", "1.5"), ("refund_partial", "-0.1")]
    + [("dismissed", "0.2")],
)
def test_a_decision_that_does_not_fit_its_share_is_refused_and_changes_nothing(seller_user, solar, outcome, share):
    with pytest.raises(ValueError):
        seller_reputation_dispute_decided(
            seller_id=seller_user.pk, vertical_id=solar.pk, outcome=outcome, refund_share=D(share)
        )
    assert not SellerVerticalReputation.objects.exists()


def test_the_services_run_in_the_callers_transaction_and_roll_back_with_it(seller_user, solar):
    with pytest.raises(RuntimeError), transaction.atomic():
        seller_reputation_dispute_opened(seller_id=seller_user.pk, vertical_id=solar.pk)
        raise RuntimeError("the dispute failed")
    assert not SellerVerticalReputation.objects.exists()


# ---------------------------------------------------------------- races


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("row_exists", [False, True], ids=["new-row", "existing-row"])
def test_a_sale_and_a_decided_dispute_at_once_lose_nothing_and_the_score_matches(seller_user, solar, row_exists):
    """A sale's transaction holds the seller's row in the vertical; a dispute decided meanwhile on
    another connection waits for it (on the row, or on the unique index while it is inserted) and
    then adds to what the sale committed; the stored score is the formula's on the final counters."""
    lead = listed_lead(seller_user, solar)
    if row_exists:
        for _ in range(3):
            sell(listed_lead(seller_user, solar))
    sales_before = row_of(seller_user, solar).sales if row_exists else 0
    sold, release = threading.Event(), threading.Event()
    second_pid: dict = {}
    errors: list = []

    def first():
        try:
            with transaction.atomic():
                sell(lead)
                sold.set()
                release.wait(timeout=60)
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)
            sold.set()
        finally:
            connection.close()

    def second():
        try:
            sold.wait(timeout=60)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                second_pid["pid"] = cursor.fetchone()[0]
            seller_reputation_dispute_decided(
                seller_id=seller_user.pk, vertical_id=solar.pk, outcome="refund_partial", refund_share=D("0.5")
            )
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    try:

        def second_waits() -> bool:
            if "pid" not in second_pid:
                return False
            with connection.cursor() as cursor:
                cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [second_pid["pid"]])
                found = cursor.fetchone()
            return found is not None and found[0] == "Lock"

        wait_for(second_waits, timeout=60, message="the dispute to wait on the seller's reputation row")
    finally:
        release.set()
        for thread in threads:
            thread.join(timeout=60)
    assert not errors, errors
    row = row_of(seller_user, solar)
    assert (row.sales, row.disputes_upheld, row.refunds_weighted) == (sales_before + 1, 1, D("0.5"))
    assert row.first_sale_at is not None
    assert row.score == expected_score(row)
    connection.close()


@pytest.mark.django_db(transaction=True)
def test_many_concurrent_sales_of_one_seller_all_count(seller_user, solar):
    from tests.leads.test_dedupe_race import run_at_once

    leads = [listed_lead(seller_user, solar) for _ in range(6)]
    run_at_once(6, lambda i: sell(leads[i]))
    row = row_of(seller_user, solar)
    assert row.sales == 6 and row.score == expected_score(row)


# ---------------------------------------------------------------- rebuild and refresh


def test_the_rebuild_recounts_sales_from_the_history_and_keeps_dispute_counters(seller_user, solar, monkeypatch):
    monkeypatch.setattr(rep, "DISPUTE_FACTS", [])  # no registered source (escrow registers one)
    other = UserFactory(is_seller=True)
    for seller, n in ((seller_user, 4), (other, 2)):
        for _ in range(n):
            sell(listed_lead(seller, solar))
    seller_reputation_dispute_decided(
        seller_id=seller_user.pk, vertical_id=solar.pk, outcome="refund_full", refund_share=D(1)
    )
    kept = {
        (r.seller_id, r.vertical_id): (r.sales, r.first_sale_at, r.refunds_weighted, r.score)
        for r in SellerVerticalReputation.objects.all()
    }
    SellerVerticalReputation.objects.filter(seller=seller_user).update(sales=99, score=0)
    SellerVerticalReputation.objects.filter(seller=other).delete()
    SellerVerticalReputation.objects.create(seller=UserFactory(is_seller=True), vertical=solar, sales=5)  # no facts
    later = timezone.now()
    assert rep.seller_reputation_rebuild(now=later) == 2
    for row in SellerVerticalReputation.objects.all():
        sales, first, refunds, _ = kept[(row.seller_id, row.vertical_id)]
        assert (row.sales, row.first_sale_at, row.refunds_weighted) == (sales, first, refunds)
        assert row.computed_at == later and row.score == expected_score(row)


def test_the_rebuild_takes_dispute_facts_from_the_registered_sources(seller_user, solar, monkeypatch):
    for _ in range(3):
        sell(listed_lead(seller_user, solar))
    facts = [
        {"seller_id": seller_user.pk, "vertical_id": solar.pk, "opened": 2, "upheld": 1, "refunds": D("0.4")},
        {"seller_id": seller_user.pk, "vertical_id": solar.pk, "opened": 1, "dismissed": 1},
    ]
    monkeypatch.setattr(rep, "DISPUTE_FACTS", [lambda: facts[:1], lambda: facts[1:]])
    rep.seller_reputation_rebuild()
    row = row_of(seller_user, solar)
    assert (row.sales, row.disputes_opened, row.disputes_upheld, row.refunds_weighted, row.disputes_dismissed) == (
        3,
        3,
        1,
        D("0.4"),
        1,
    )
    assert row.score == expected_score(row)


def test_the_migration_backfills_what_the_rebuild_builds(seller_user, solar):
    for _ in range(12):
        sell(listed_lead(seller_user, solar))
    sell(listed_lead(UserFactory(is_seller=True), solar.parent))
    rep.seller_reputation_rebuild()
    built = {
        (r.seller_id, r.vertical_id, r.sales, r.first_sale_at, r.score, r.level)
        for r in SellerVerticalReputation.objects.all()
    }
    migration = importlib.import_module("leads.migrations.0008_seller_vertical_reputation")
    migration.backfill(apps, connection.schema_editor())
    assert {
        (r.seller_id, r.vertical_id, r.sales, r.first_sale_at, r.score, r.level)
        for r in SellerVerticalReputation.objects.all()
    } == built
    assert len(built) == 2


def test_the_daily_refresh_adds_the_tenure_time_alone_earned(seller_user, solar):
    for _ in range(10):
        sell(listed_lead(seller_user, solar))
    old = timezone.now() - timedelta(days=60)
    SellerVerticalReputation.objects.update(first_sale_at=old, computed_at=old)
    settled = SellerVerticalReputation.objects.create(
        seller=UserFactory(is_seller=True),
        vertical=solar,
        sales=10,
        first_sale_at=old - timedelta(days=300),
        computed_at=old,
        score=1,
    )
    now = timezone.now()
    assert rep.seller_reputation_refresh(now=now) == 1
    row = row_of(seller_user, solar)
    assert row.computed_at == now and row.score == expected_score(row)
    assert row.score == rep.reputation_score(sales=10, refunds_weighted=D(0), first_sale_at=old, now=now)
    settled.refresh_from_db()
    assert settled.score == 1  # tenure settled long ago: time alone changes nothing
    assert rep.seller_reputation_refresh(now=now) == 0  # just computed


def test_the_refresh_task_is_routed_and_scheduled():
    from config.queues import TASK_ROUTES
    from leads.tasks import refresh_seller_reputation

    assert TASK_ROUTES[refresh_seller_reputation.name] == "default"
    assert any(e["task"] == refresh_seller_reputation.name for e in settings.CELERY_BEAT_SCHEDULE.values())


# ---------------------------------------------------------------- the quality score's component


def test_the_quality_score_blends_the_sales_reputation_in_by_sales(seller_user, solar):
    lead = score(submit(seller_user).lead.pk, floor=0, vertical=solar)
    alone = scoring.seller_reputation(lead, timezone.now())
    assert "sales reputation" not in alone["detail"]  # no sale yet: the accepted/rejected share only
    for _ in range(20):
        sell(listed_lead(seller_user, solar))
    for _ in range(4):
        seller_reputation_dispute_decided(
            seller_id=seller_user.pk, vertical_id=solar.pk, outcome="refund_full", refund_share=D(1)
        )
    row = row_of(seller_user, solar)
    counts, _ = scoring.history_counts(lead, timezone.now())
    assert (counts.sales, counts.vertical_score) == (20, row.score)
    blended = scoring.seller_reputation(lead, timezone.now(), counts)
    assert blended == scoring.seller_reputation(lead, timezone.now())
    good, bad = counts.good, counts.bad
    share = (good + 7) / (good + bad + 10)
    assert blended["points"] == pytest.approx(10 * (0.5 * share + 0.5 * row.score / 100), abs=0.01)
    assert f"sales reputation {row.score} from 20 sales" in blended["detail"]
    assert blended["points"] < alone["points"]


def test_the_rebuild_command_reports_the_rows(seller_user, solar, monkeypatch):
    monkeypatch.setattr(rep, "DISPUTE_FACTS", [])  # no registered source (escrow registers one)
    from io import StringIO

    from django.core.management import call_command

    sell(listed_lead(seller_user, solar))
    SellerVerticalReputation.objects.all().delete()
    out = StringIO()
    call_command("seller_reputation_rebuild", stdout=out)
    assert "Rebuilt 1 seller reputation row(s); disputes from the stored counters." in out.getvalue()
    assert row_of(seller_user, solar).sales == 1
