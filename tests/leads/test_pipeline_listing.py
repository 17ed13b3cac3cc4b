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
