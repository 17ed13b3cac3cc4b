"""`make run`'s demo: a seller who keeps submitting leads (so the marketplace always has live
auctions) and seeded auctions that do not all close at once."""

import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from auctions.choices import AuctionStatus
from auctions.models import Auction
from leads import demo
from leads.choices import LeadSource, LeadStatus
from leads.models import Lead
from leads.services import Outcome
from tests.factories import UserFactory
from verticals.seed_data import VERTICALS
from verticals.services import vertical_seed_tree

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_seller(db):
    vertical_seed_tree(tree=VERTICALS)
    return UserFactory(email=demo.DEMO_SELLER_EMAIL, is_seller=True)


@pytest.fixture
def ticker(monkeypatch, settings, django_capture_on_commit_callbacks):
    """The tick with a clock the test moves (seconds); what it queues on commit (scoring, then
    the auction's opening) runs, as in the embedded profile."""
    settings.DEMO_LEADS, settings.DEMO_LEADS_SECONDS = True, 5
    monkeypatch.setattr(demo, "_next_at", None)

    def tick(at: float):
        with django_capture_on_commit_callbacks(execute=True):
            return demo.demo_lead_tick(clock=lambda: at)

    return tick


def test_the_demo_ticker_submits_a_lead_every_few_seconds_that_opens_a_live_auction(demo_seller, ticker):
    first = ticker(1000.0)
    assert first is not None and first.outcome == Outcome.CREATED
    assert ticker(1001.0) is None and ticker(1004.9) is None  # not yet: every DEMO_LEADS_SECONDS
    second = ticker(1005.0)
    assert second is not None and second.outcome == Outcome.CREATED
    leads = list(Lead.objects.filter(seller=demo_seller).order_by("id"))
    assert [lead.pk for lead in leads] == [first.lead.pk, second.lead.pk]
    assert leads[0].vertical_id != leads[1].vertical_id  # it rotates over the demo verticals
    now = timezone.now()
    for lead in leads:
        assert lead.source == LeadSource.API and lead.status == LeadStatus.LISTED and lead.quality_score
        auction = Auction.objects.get(lead=lead)
        assert auction.status == AuctionStatus.OPEN and auction.deadline > now


def test_the_demo_sellers_leads_never_collide_in_dedupe_or_the_daily_cap(
    demo_seller, django_capture_on_commit_callbacks
):
    demo.demo_seller_cap_ensure(seller=demo_seller)
    with django_capture_on_commit_callbacks(execute=True):
        results = [demo.demo_lead_submit_next(seller=demo_seller) for _ in range(15)]
    assert [r.outcome for r in results] == [Outcome.CREATED] * 15
    assert Auction.objects.filter(seller=demo_seller, status=AuctionStatus.OPEN).count() == 15


def test_the_setting_turns_the_demo_ticker_off(demo_seller, ticker, settings):
    settings.DEMO_LEADS = False
    assert ticker(1000.0) is None and ticker(2000.0) is None
    assert not Lead.objects.filter(seller=demo_seller).exists()


def test_the_ticker_is_idle_without_a_demo_seller(ticker, db):
    vertical_seed_tree(tree=VERTICALS)
    assert ticker(1000.0) is None and not Lead.objects.exists()


@pytest.mark.django_db(transaction=True)  # as `make run` seeds: each lead's pipeline runs at its commit
def test_the_seeded_demo_auctions_close_one_by_one_not_all_at_once(demo_seller):
    call_command("seed_demo_leads", "--count", "12", stdout=io.StringIO())
    deadlines = list(
        Auction.objects.filter(seller=demo_seller, status=AuctionStatus.OPEN)
        .order_by("deadline")
        .values_list("deadline", flat=True)
    )
    assert len(deadlines) == 12
    gaps = [later - earlier for earlier, later in zip(deadlines, deadlines[1:])]
    assert all(gap >= timedelta(seconds=19) for gap in gaps)
    for auction in Auction.objects.filter(seller=demo_seller):
        assert auction.deadline == auction.opened_at + timedelta(seconds=auction.duration_seconds)


def test_the_demo_seller_runs_in_the_embedded_profile_only(monkeypatch):
    import importlib

    monkeypatch.delenv("DEMO_LEADS", raising=False)
    assert importlib.import_module("config.settings.embedded").DEMO_LEADS is True
    assert importlib.import_module("config.settings.services").DEMO_LEADS is False
    asgi = Path(__file__).resolve().parents[2] / "config" / "asgi.py"
    # handed to the embedded sweeper, among its other ticks
    assert re.search(r"start_embedded_sweeper\(ticks=\([^)]*\bdemo_lead_tick\b", asgi.read_text())
