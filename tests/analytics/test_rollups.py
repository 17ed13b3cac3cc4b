"""The rollups equal the facts: refreshed incrementally while the facts arrive and change, they
are exactly what a rebuild from scratch computes, and their sums match a direct count of the
leads, sales, disputes and dispositions."""

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from django.db.models import Sum
from django.utils import timezone

from analytics.models import BuyerDay, BuyerHour, RollupWatermark, SellerDay, SellerHour, VerticalDay
from analytics.rollups import hour_of, rollups_rebuild, rollups_refresh
from auctions.models import AuctionBidder, Disposition, Sale
from escrow.models import Dispute
from leads.choices import LeadStatus, RejectionReason
from leads.models import Lead
from tests.analytics.builders import build_facts, rejected_lead
from tests.auctions.factories import make_vertical
from tests.concurrency import run_threads
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def snapshot() -> dict:
    def rows(model, order):
        return [{k: v for k, v in row.items() if k != "id"} for row in model.objects.order_by(*order).values()]

    return {
        "seller": rows(SellerHour, ["bucket", "seller_id", "vertical_id", "source", "campaign"]),
        "buyer": rows(BuyerHour, ["bucket", "buyer_id", "vertical_id", "state", "rule_id"]),
        "vertical": rows(VerticalDay, ["day", "vertical_id"]),
        "seller_days": rows(SellerDay, ["day", "seller_id", "vertical_id", "source", "campaign"]),
        "buyer_days": rows(BuyerDay, ["day", "buyer_id", "vertical_id", "state", "rule_id"]),
    }


def test_the_incremental_refresh_equals_a_rebuild_at_every_step():
    seen = []

    def step(name):
        rollups_refresh()
        seen.append(name)

    build_facts(steps=step)
    incremental = snapshot()
    assert incremental["seller"] and incremental["buyer"] and incremental["vertical"]
    rollups_rebuild()
    assert snapshot() == incremental
    assert seen[-1] == "changed"


def test_the_rollups_sum_to_a_direct_count_of_the_facts():
    facts = build_facts()
    rollups_rebuild()
    seller = facts["seller"]
    mine = SellerHour.objects.filter(seller=seller)
    total = mine.aggregate(
        **{
            n: Sum(n)
            for n in (
                "received",
                "accepted",
                "sold",
                "bought_now",
                "unsold",
                "returned",
                "revenue",
                "disputes",
                "refunds",
                "refunded_amount",
                "dispositions",
                "contacted",
                "converted",
                "bad",
                "disposition_revenue",
                "platform_fee",
                "rejected_duplicate",
                "listed",
            )
        }
    )
    leads = Lead.objects.filter(seller=seller)
    sales = Sale.objects.filter(seller=seller)
    assert total["received"] == leads.count()
    assert total["accepted"] == leads.exclude(status=LeadStatus.REJECTED).count()
    assert total["rejected_duplicate"] == 1
    assert total["sold"] == sales.count()
    assert total["bought_now"] == 1
    assert total["unsold"] == 1
    # The full refund returns its lead once the refund has moved (on chain, not in this test).
    assert total["returned"] == leads.filter(status=LeadStatus.RETURNED).count()
    assert total["revenue"] == sales.aggregate(s=Sum("price"))["s"]
    assert total["disputes"] == Dispute.objects.filter(seller=seller).count() == 3
    assert total["refunds"] == 2
    assert total["refunded_amount"] == Dispute.objects.get(pk=facts["disputes"][0].pk).price + D("4")
    assert total["dispositions"] == Disposition.objects.filter(sale__seller=seller).count() == 3
    assert (total["contacted"], total["converted"], total["bad"]) == (3, 1, 0)
    assert total["disposition_revenue"] == D("250")
    assert total["platform_fee"] == D("0.5")

    buyer = facts["buyer"]
    theirs = BuyerHour.objects.filter(buyer=buyer).aggregate(
        won=Sum("won"), bought_now=Sum("bought_now"), spend=Sum("spend"), entered=Sum("entered"), bad=Sum("bad")
    )
    purchases = Sale.objects.filter(buyer=buyer)
    assert theirs["won"] + theirs["bought_now"] == purchases.count()
    assert theirs["bought_now"] == 1
    assert theirs["spend"] == purchases.aggregate(s=Sum("price"))["s"]
    assert theirs["entered"] == AuctionBidder.objects.filter(buyer=buyer).count()
    rival = BuyerHour.objects.get(buyer=facts["rival"])
    assert (rival.state, rival.won, rival.bad) == ("NV", 1, 1)

    days = VerticalDay.objects.aggregate(received=Sum("received"), revenue=Sum("revenue"))
    assert days["received"] == Lead.objects.count()
    assert days["revenue"] == Sale.objects.aggregate(s=Sum("price"))["s"]


def test_a_change_to_an_old_lead_moves_its_own_hour():
    facts = build_facts()
    rollups_refresh()
    unsold = facts["unsold"]
    week_ago = timezone.now() - timedelta(days=7)
    Lead.objects.filter(pk=unsold.lead_id).update(created_at=week_ago)  # a cohort from last week
    Lead.objects.get(pk=unsold.lead_id).save(update_fields=["updated_at"])
    rollups_refresh()
    row = SellerHour.objects.get(bucket=hour_of(week_ago), seller=facts["seller"])
    assert (row.received, row.unsold) == (1, 1)
    assert not SellerHour.objects.filter(received=0).exists()
    before = snapshot()
    rollups_rebuild()
    assert snapshot() == before


def test_a_refresh_with_nothing_new_changes_nothing_and_moves_the_watermark():
    build_facts()
    rollups_refresh()
    before = snapshot()
    mark = RollupWatermark.objects.get()
    rollups_refresh(now=mark.through + timedelta(minutes=10))  # past the overlap
    result = rollups_refresh(now=mark.through + timedelta(minutes=20))
    assert (result["seller_keys"], result["buyer_keys"]) == (0, 0)
    assert snapshot() == before
    assert RollupWatermark.objects.get().runs == mark.runs + 2


@pytest.mark.django_db(transaction=True)
def test_two_refreshes_at_once_one_runs_the_other_steps_aside():
    vertical = make_vertical()
    for seller in (UserFactory(is_seller=True), UserFactory(is_seller=True)):
        for reason in RejectionReason.values:
            rejected_lead(seller=seller, vertical=vertical, reason=reason)
    results = run_threads(2, lambda i: rollups_refresh())
    assert not [r for r in results if isinstance(r, Exception)], results
    ran = [r for r in results if r is not None]
    assert len(ran) >= 1
    before = snapshot()
    rollups_rebuild()
    assert snapshot() == before


def test_the_rebuild_command_recomputes_and_refuses_a_bad_date():
    from io import StringIO

    from django.core.management import CommandError, call_command

    build_facts()
    rollups_refresh()
    before = snapshot()
    SellerHour.objects.all().delete()
    out = StringIO()
    call_command("analytics_rebuild", stdout=out)
    assert "Rebuilt the rollups of" in out.getvalue()
    assert snapshot() == before
    with pytest.raises(CommandError, match="not a date"):
        call_command("analytics_rebuild", since="yesterday")


def test_local_days_follow_the_users_time_zone_and_a_change_of_it():
    """03:00 UTC on 6 Dec is 5 Dec in Los Angeles; after the seller moves to Tokyo the refresh
    recomputes their days (6 Dec 12:00 there), and the dashboard reads hours until it has."""
    from datetime import UTC, datetime

    from analytics.periods import period_parse, zone_of
    from analytics.selectors import seller_dashboard

    seller = UserFactory(is_seller=True, time_zone="America/Los_Angeles")
    vertical = make_vertical()
    rejected_lead(
        seller=seller,
        vertical=vertical,
        reason=RejectionReason.INVALID,
        created_at=datetime(2026, 12, 6, 3, 0, tzinfo=UTC),
    )
    rollups_refresh()
    assert list(SellerDay.objects.filter(seller=seller).values_list("day", "time_zone", "received")) == [
        (date(2026, 12, 5), "America/Los_Angeles", 1)
    ]
    seller.time_zone = "Asia/Tokyo"
    seller.save(update_fields=["time_zone"])
    period = period_parse({"start": "2026-12-05", "end": "2026-12-06"}, zone=zone_of(seller))
    before = seller_dashboard(seller=seller, period=period).series["received"]
    assert before == [0, 1]  # from the hours, in Tokyo's days
    # A lead arrives before the refresh: its day is computed in the new zone along with all the others.
    rejected_lead(
        seller=seller,
        vertical=vertical,
        reason=RejectionReason.INVALID,
        created_at=datetime(2026, 12, 4, 20, 0, tzinfo=UTC),
    )
    result = rollups_refresh()
    assert result["rezoned"] == 1
    assert list(
        SellerDay.objects.filter(seller=seller).order_by("day").values_list("day", "time_zone", "received")
    ) == [
        (date(2026, 12, 5), "Asia/Tokyo", 1),
        (date(2026, 12, 6), "Asia/Tokyo", 1),
    ]
    assert seller_dashboard(seller=seller, period=period).series["received"] == [1, 1]
    assert rollups_refresh()["rezoned"] == 0
