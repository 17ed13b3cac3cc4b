"""A lead travels from intake to an open auction through the real queues: leads scores it and
announces it (leads.signals.lead_scored, on commit); auctions, which leads never imports, queues
the auctions.open stage and lists it."""

import pytest

from auctions.models import Auction
from leads.choices import LeadStatus
from leads.models import Lead
from leads.services import lead_submit
from tests.conftest import wait_for
from tests.leads.conftest import make_lead

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_a_submitted_lead_is_scored_then_listed_by_the_worker(celery_worker, solar, seller_user):
    lead = lead_submit(seller=seller_user, data=make_lead(), source="api").lead

    auction = wait_for(lambda: Auction.objects.filter(lead=lead).first(), timeout=60, message="the auction")
    lead = Lead.objects.get(pk=lead.pk)
    assert lead.status == LeadStatus.LISTED and lead.quality_score >= solar.quality_floor
    assert auction.is_open and auction.vertical_id == solar.pk


def test_a_bulk_batch_is_fanned_out_scored_and_listed_by_the_worker(celery_worker, solar, seller_user):
    from leads.bulk import lead_submit_many

    items = [make_lead(email=f"fan{i}@gmail.com", phone=f"+1415555{3300 + i}") for i in range(3)]
    leads = [r.lead for r in lead_submit_many(seller=seller_user, items=items)]

    # One leads.score_leads message for the batch; the worker queues a leads.score_lead per lead.
    wait_for(lambda: Auction.objects.filter(lead__in=leads).count() == 3 or None, timeout=60, message="3 auctions")
    assert {lead.status for lead in Lead.objects.filter(pk__in=[lead.pk for lead in leads])} == {LeadStatus.LISTED}
