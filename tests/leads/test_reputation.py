"""The seller-reputation rollup (leads/reputation.py): it scores like the count over the leads it
replaces, follows every status change that moves it, is rebuilt by its migration, and loses no
increment when two transactions move the same counter."""

import importlib
import threading
from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from leads import scoring
from leads.choices import LeadSource, LeadStatus, RejectionReason
from leads.models import Lead, SellerReputationDay, SellerVerticalReputation
from leads.reputation import lead_day, seller_outcome_counts
from leads.services import Outcome, lead_score, lead_submit, lead_transition
from tests.conftest import wait_for
from tests.factories import UserFactory
from tests.leads.conftest import make_lead

pytestmark = pytest.mark.django_db

_serial = iter(range(10**6))


def old_seller_reputation_counts(lead, now) -> tuple[int, int]:
    """The count the rollup replaces (leads/scoring.py before the rollup), verbatim."""
    since = now - timedelta(days=scoring.REPUTATION_WINDOW_DAYS)
    counts = (
        Lead.objects.filter(seller_id=lead.seller_id, created_at__gte=since)
        .exclude(pk=lead.pk)
        .aggregate(
            good=Count(
                "id",
                filter=Q(
                    status__in=[
                        LeadStatus.SCORED,
                        LeadStatus.LISTED,
                        LeadStatus.SOLD,
                        LeadStatus.UNSOLD,
                        LeadStatus.EXPIRED,
                    ]
                ),
            ),
            bad=Count(
                "id",
                filter=Q(
                    status=LeadStatus.REJECTED,
                    rejection_reason__in=[RejectionReason.LOW_QUALITY, RejectionReason.DUPLICATE],
                ),
            ),
        )
    )
    return counts["good"], counts["bad"]


def submit(seller, *, at=None, contact: int | None = None, **overrides):
    """A lead submitted at `at` (default now) through intake; `contact` reuses an earlier contact."""
    at = at or timezone.now()
    n = next(_serial) if contact is None else contact
    data = make_lead(
        **{
            "email": f"rep{n}@gmail.com",
            "phone": f"+1415556{n % 10000:04d}",
            "consent": {
                "text": "I agree to be contacted by solar installers.",
                "timestamp": (at - timedelta(hours=1)).isoformat(),
                "ip": "203.0.113.7",
            },
            **overrides,
        }
    )
    return lead_submit(seller=seller, data=data, source=LeadSource.API, now=at)


def score(lead_id: int, *, floor: int, vertical) -> Lead:
    vertical.quality_floor = floor
    vertical.save(update_fields=["quality_floor"])
    return lead_score(lead_id=lead_id)


def move(lead: Lead, *statuses, **changes) -> Lead:
    for status in statuses:
        with transaction.atomic():
            locked = Lead.objects.select_for_update().get(pk=lead.pk)
            lead = lead_transition(lead=locked, to_status=status, reason="test", **changes)
    return lead


def rollup(seller) -> dict:
    return {
        row.day: (row.good, row.bad)
        for row in SellerReputationDay.objects.filter(seller=seller).exclude(good=0, bad=0).order_by("day")
    }


def mixed_history(seller, vertical) -> list[Lead]:
    """The seller's leads over 40 days in every status that counts and some that do not."""
    now = timezone.now()
    leads = []
    for days_ago in (0, 2, 9, 29, 35, 40):
        at = now - timedelta(days=days_ago, hours=1)
        received = submit(seller, at=at).lead
        scored = score(submit(seller, at=at).lead.pk, floor=0, vertical=vertical)
        low = score(submit(seller, at=at).lead.pk, floor=100, vertical=vertical)
        n = next(_serial)
        first = submit(seller, at=at, contact=n).lead
        duplicate = submit(seller, at=at, contact=n)
        assert duplicate.outcome == Outcome.DUPLICATE
        listed = move(score(submit(seller, at=at).lead.pk, floor=0, vertical=vertical), LeadStatus.LISTED)
        sold = move(
            score(submit(seller, at=at).lead.pk, floor=0, vertical=vertical), LeadStatus.LISTED, LeadStatus.SOLD
        )
        expired = move(
            score(submit(seller, at=at).lead.pk, floor=0, vertical=vertical),
            LeadStatus.LISTED,
            LeadStatus.UNSOLD,
            LeadStatus.EXPIRED,
        )
        withdrawn = move(
            score(submit(seller, at=at).lead.pk, floor=0, vertical=vertical),
            LeadStatus.REJECTED,
            rejection_reason=RejectionReason.CONSENT,
        )
        leads += [received, scored, low, first, duplicate.lead, listed, sold, expired, withdrawn]
    return leads


def test_the_rollup_scores_like_the_count_it_replaces_over_mixed_statuses(seller_user, solar):
    other = UserFactory(is_seller=True)
    mixed_history(seller_user, solar)
    mixed_history(other, solar)
    now = timezone.now()
    leads = list(Lead.objects.filter(seller=seller_user))
    statuses = {(lead.status, lead.rejection_reason) for lead in leads}
    assert {
        (LeadStatus.RECEIVED, ""),
        (LeadStatus.SCORED, ""),
        (LeadStatus.LISTED, ""),
        (LeadStatus.SOLD, ""),
        (LeadStatus.EXPIRED, ""),
        (LeadStatus.REJECTED, RejectionReason.LOW_QUALITY),
        (LeadStatus.REJECTED, RejectionReason.DUPLICATE),
        (LeadStatus.REJECTED, RejectionReason.CONSENT),
    } <= statuses
    for lead in leads:  # each lead as the one being scored (or re-scored: it is not counted)
        for at in (now, now + timedelta(days=5)):
            counts = seller_outcome_counts(
                seller_id=lead.seller_id, since=lead_day(at - timedelta(days=30)), excluding=lead
            )
            assert counts == old_seller_reputation_counts(lead, at), (lead.status, lead.rejection_reason, at)
            assert scoring.seller_reputation(lead, at) == _old_component(lead, at)


def _old_component(lead, now) -> dict:
    """The component before the rollup, blended with the sales reputation in the lead's vertical
    (docs/scoring.md) as it is today."""
    good, bad = old_seller_reputation_counts(lead, now)
    share = (good + 7) / (good + bad + 10)
    detail = f"{good} accepted and {bad} rejected leads in 30 days"
    row = SellerVerticalReputation.objects.filter(seller_id=lead.seller_id, vertical_id=lead.vertical_id).first()
    if row is not None and row.sales:
        weight = row.sales / (row.sales + 20)
        share = (1 - weight) * share + weight * row.score / 100
        detail += f"; sales reputation {row.score} from {row.sales} sales in the vertical (weight {weight:.2f})"
    return scoring._component(10 * share, "seller_reputation", detail)


def test_the_counters_follow_each_status_change(seller_user, solar):
    today = timezone.now().date()
    first = submit(seller_user).lead
    assert rollup(seller_user) == {}  # received counts for neither
    assert submit(seller_user, contact=None, email="rep-dup@gmail.com").outcome == Outcome.CREATED
    assert submit(seller_user, email="rep-dup@gmail.com").outcome == Outcome.DUPLICATE
    assert rollup(seller_user) == {today: (0, 1)}  # rejected as a duplicate at intake
    scored = score(first.pk, floor=0, vertical=solar)
    assert scored.status == LeadStatus.SCORED and rollup(seller_user) == {today: (1, 1)}
    low = score(submit(seller_user).lead.pk, floor=100, vertical=solar)
    assert low.rejection_reason == RejectionReason.LOW_QUALITY and rollup(seller_user) == {today: (1, 2)}
    move(scored, LeadStatus.LISTED, LeadStatus.UNSOLD, LeadStatus.LISTED, LeadStatus.SOLD)
    assert rollup(seller_user) == {today: (1, 2)}  # good all along
    other = score(submit(seller_user).lead.pk, floor=0, vertical=solar)
    assert rollup(seller_user) == {today: (2, 2)}
    move(other, LeadStatus.REJECTED, rejection_reason=RejectionReason.CONSENT)
    assert rollup(seller_user) == {today: (1, 2)}  # no longer good, and not a bad outcome either
    again = score(submit(seller_user).lead.pk, floor=0, vertical=solar)
    move(again, LeadStatus.REJECTED, rejection_reason=RejectionReason.LOW_QUALITY)
    assert rollup(seller_user) == {today: (1, 3)}
    # A lead counts on the day it was created, whenever its status changes.
    old = submit(seller_user, at=timezone.now() - timedelta(days=3)).lead
    score(old.pk, floor=0, vertical=solar)
    assert rollup(seller_user) == {today - timedelta(days=3): (1, 0), today: (1, 3)}


def test_the_migration_rebuilds_the_rollup_the_services_keep(seller_user, solar):
    mixed_history(seller_user, solar)
    kept = rollup(seller_user)
    SellerReputationDay.objects.all().delete()
    SellerReputationDay.objects.create(seller=seller_user, day=timezone.now().date(), good=99, bad=99)
    migration = importlib.import_module("leads.migrations.0006_seller_reputation_rollup")
    migration.backfill(apps, connection.schema_editor())
    assert rollup(seller_user) == kept and len(kept) == 6


def test_reading_the_reputation_is_two_queries(seller_user, solar, django_assert_num_queries):
    """The component on its own reads the rollup and the sales reputation in the vertical; the
    score stage reads both with the duplicate history in one statement (scoring.history_counts)."""
    mixed_history(seller_user, solar)
    lead = Lead.objects.filter(seller=seller_user).first()
    with django_assert_num_queries(2):
        scoring.seller_reputation(lead, timezone.now())


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("day_row_exists", [False, True], ids=["new-day", "existing-day"])
def test_two_transactions_moving_the_same_counter_lose_no_update(seller_user, solar, day_row_exists):
    """Two scorings of one seller's leads on real connections: the second waits for the first
    transaction (on the day's row, or on its unique index while the row is being inserted) and
    then adds to what the first committed."""
    # Created as received without intake: intake would score them at once (tasks run in process
    # once a transaction commits), and received leads count for neither.
    leads = [
        Lead.objects.create(
            vertical=solar,
            seller=seller_user,
            source=LeadSource.API,
            consent_text="I agree.",
            consent_at=timezone.now(),
            consent_ip="203.0.113.7",
        )
        for _ in range(2)
    ]
    if day_row_exists:
        SellerReputationDay.objects.create(seller=seller_user, day=timezone.now().date(), good=5, bad=1)
    before = rollup(seller_user).get(timezone.now().date(), (0, 0))
    first_moved, release = threading.Event(), threading.Event()
    second_pid: dict = {}
    errors: list = []

    def first():
        try:
            with transaction.atomic():
                move(leads[0], LeadStatus.SCORED)
                first_moved.set()
                release.wait(timeout=60)
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)
            first_moved.set()
        finally:
            connection.close()

    def second():
        try:
            first_moved.wait(timeout=60)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                second_pid["pid"] = cursor.fetchone()[0]
            move(leads[1], LeadStatus.SCORED)
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    try:

        def second_waits_for_the_first() -> bool:
            if "pid" not in second_pid:
                return False
            with connection.cursor() as cursor:
                cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [second_pid["pid"]])
                row = cursor.fetchone()
            return row is not None and row[0] == "Lock"

        wait_for(second_waits_for_the_first, timeout=60, message="the second transaction to wait on the counter")
    finally:
        release.set()
        for thread in threads:
            thread.join(timeout=60)
    assert not errors, errors
    good, bad = before
    assert rollup(seller_user)[timezone.now().date()] == (good + 2, bad)
    connection.close()
