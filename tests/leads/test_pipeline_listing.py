"""A lead travels from intake to an open auction through the real queues: the leads.score stage
scores it and offers it to auctions in the same transaction (leads.signals.lead_accepted; leads
never imports auctions), which opens its auction; when that fails, the auctions.open stage lists it
from its own queue."""

from decimal import Decimal as D

import pytest

from auctions.models import Auction
from core.models import DeadLetter
from core.services import dead_letter_replay
from leads.choices import LeadStatus
from leads.models import Lead
from leads.services import lead_submit
from tests.conftest import wait_for
from tests.leads.conftest import make_lead
from verticals.models import Vertical

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_a_submitted_lead_is_scored_then_listed_by_the_worker(celery_worker, solar, seller_user):
    lead = lead_submit(seller=seller_user, data=make_lead(), source="api").lead

    auction = wait_for(lambda: Auction.objects.filter(lead=lead).first(), timeout=60, message="the auction")
    lead = Lead.objects.get(pk=lead.pk)
    assert lead.status == LeadStatus.LISTED and lead.quality_score >= solar.quality_floor
    assert auction.is_open and auction.vertical_id == solar.pk


def test_an_open_that_fails_in_the_score_stage_is_dead_lettered_by_the_open_stage_and_replayed(
    celery_worker, solar, seller_user
):
    """The score stage opens the auction in its transaction; when that fails the score still
    commits and the auctions.open stage takes the lead from its queue, dead-letters it under its
    own name (a permanent error), and a replay after the fix lists it."""
    # The vertical's buy-now price does not fit an auction's amount column: every open fails.
    Vertical.objects.filter(pk=solar.pk).update(reserve_price=D("900000000000"), buy_now_multiplier=D("999"))
    lead = lead_submit(seller=seller_user, data=make_lead(), source="api").lead

    letter = wait_for(
        lambda: DeadLetter.objects.filter(task_name="auctions.open_auction").first(),
        timeout=60,
        message="the open's dead letter",
    )
    assert letter.kwargs == {"lead_id": lead.pk} and letter.queue == "auctions.open"
    assert letter.exception_type.endswith("DataError")
    assert not DeadLetter.objects.filter(task_name="leads.score_lead").exists()
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.SCORED

    Vertical.objects.filter(pk=solar.pk).update(reserve_price=D("35"), buy_now_multiplier=D("1.2"))
    dead_letter_replay(dead_letter_id=letter.pk)
    wait_for(lambda: Auction.objects.filter(lead=lead).exists(), timeout=60, message="the replayed open")
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.LISTED


def test_a_bulk_batch_is_fanned_out_scored_and_listed_by_the_worker(celery_worker, solar, seller_user):
    from leads.bulk import lead_submit_many

    items = [make_lead(email=f"fan{i}@gmail.com", phone=f"+1415555{3300 + i}") for i in range(3)]
    leads = [r.lead for r in lead_submit_many(seller=seller_user, items=items)]

    # One leads.score_leads message for the batch; the worker queues a leads.score_lead per lead.
    wait_for(lambda: Auction.objects.filter(lead__in=leads).count() == 3 or None, timeout=60, message="3 auctions")
    assert {lead.status for lead in Lead.objects.filter(pk__in=[lead.pk for lead in leads])} == {LeadStatus.LISTED}
