"""The leads.score stage opens the auction in the scoring transaction (leads.listing, receiver
auctions.services.auctions.auction_open_scored); when that fails, the auctions.open stage takes the
lead from its queue as before. Statement counts of the stages are pinned here."""

from decimal import Decimal as D

import pytest
from django.db import DataError

from auctions.models import Auction
from auctions.services.auctions import auction_open
from auctions.tasks import open_auction
from leads.choices import LeadStatus
from leads.models import Lead, LeadStatusChange, SellerReputationDay
from leads.services import lead_score, lead_submit
from leads.signals import lead_scored
from leads.tasks import score_lead
from tests.factories import UserFactory
from tests.leads.conftest import make_lead
from verticals.models import Vertical
from verticals.services import vertical_upsert

pytestmark = pytest.mark.django_db

# Statements per stage, savepoints included (in a task the outer atomic is BEGIN … COMMIT, not
# logged). Before: lead_score 10, auction_open 10 (+ the hop through auctions.open).
SCORE_STATEMENTS = 9  # lock (+ vertical, ancestors, PII), schema, reputation, history, update, change, counter
OPEN_STATEMENTS = 9  # lock (+ vertical, ancestors), existing auction, ask, auction, update, change, schema
SCORE_AND_OPEN_STATEMENTS = 15  # the score's 9 and, in a savepoint, ask, auction, update, change


@pytest.fixture
def solar(db):
    parent = vertical_upsert(
        slug="solar",
        name="Solar",
        reserve_price=35,
        quality_floor=10,
        fields=[
            {"key": "homeowner", "label": "Homeowner", "type": "boolean", "required": True, "biddable": True},
            {"key": "roof_type", "label": "Roof", "type": "choice", "choices": ["metal", "tile"], "biddable": True},
            {"key": "monthly_electric_bill", "label": "Bill", "type": "decimal", "required": True},
            {"key": "date_of_birth", "label": "Date of birth", "type": "date", "pii": True},
        ],
    )
    return vertical_upsert(
        slug="solar-residential", name="Residential Solar", parent=parent, reserve_price=35, quality_floor=10
    )


_serial = iter(range(10**6))


def received(django_capture_on_commit_callbacks) -> Lead:
    """A received lead; its scoring is left to the test (the on-commit queueing is dropped)."""
    n = next(_serial)
    with django_capture_on_commit_callbacks(execute=False):
        result = lead_submit(
            seller=UserFactory(is_seller=True),
            data=make_lead(
                email=f"open{n}@gmail.com",
                phone=f"+1415557{n:04d}",
                fields={"homeowner": True, "roof_type": "metal", "monthly_electric_bill": 240.5},
            ),
            source="api",
        )
    assert result.lead is not None, result.errors
    return result.lead


@pytest.fixture
def announced():
    """The lead_scored announcements (listed or not) sent while the test runs."""
    seen: list[bool] = []

    def receiver(*, listed, **kwargs):
        seen.append(listed)

    lead_scored.connect(receiver, dispatch_uid="tests.announced")
    yield seen
    lead_scored.disconnect(dispatch_uid="tests.announced")


def test_the_score_stage_opens_the_auction_in_the_scoring_transaction(
    solar, django_capture_on_commit_callbacks, announced
):
    lead = received(django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        scored = lead_score(lead_id=lead.pk, list_now=True)
        # Open before anything runs on commit: no hop through the auctions.open queue.
        auction = Auction.objects.get(lead=lead)
    assert scored.status == LeadStatus.LISTED and auction.is_open and auction.reserve_price == D("35")
    assert list(LeadStatusChange.objects.filter(lead=lead).values_list("to_status", flat=True)) == [
        LeadStatus.RECEIVED,
        LeadStatus.SCORED,
        LeadStatus.LISTED,
    ]
    for callback in callbacks:
        callback()
    assert announced == [True]  # so auctions queues no auctions.open task for it


def test_the_score_task_lists_through_one_transaction(solar, django_capture_on_commit_callbacks, announced):
    lead = received(django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        assert score_lead.apply(kwargs={"lead_id": lead.pk}).get() >= solar.quality_floor
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.LISTED
    assert announced == [True]
    assert SellerReputationDay.objects.get(seller_id=lead.seller_id).good == 1


def test_when_the_open_fails_in_scoring_the_lead_is_scored_and_goes_to_the_open_stage(
    solar, django_capture_on_commit_callbacks
):
    # A vertical whose buy-now price does not fit the auction's column: the open fails, the score stands.
    Vertical.objects.filter(pk=solar.pk).update(reserve_price=D("900000000000"), buy_now_multiplier=D("999"))
    lead = received(django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        scored = lead_score(lead_id=lead.pk, list_now=True)
    assert scored.status == LeadStatus.SCORED and scored.quality_score is not None
    lead.refresh_from_db()
    assert lead.status == LeadStatus.SCORED and not Auction.objects.filter(lead=lead).exists()
    assert not LeadStatusChange.objects.filter(lead=lead, to_status=LeadStatus.LISTED).exists()
    assert SellerReputationDay.objects.get(seller_id=lead.seller_id).good == 1
    # On commit only the score's announcement remains (the open's broadcast and close were undone),
    # with listed=False: auctions queues its auctions.open task (run in process here), which fails
    # the same way; a worker retries or dead-letters it as before (tests/leads/test_pipeline_listing.py).
    assert len(callbacks) == 1
    with pytest.raises(DataError):
        callbacks[0]()
    # Once the vertical is fixed, the open stage lists it.
    Vertical.objects.filter(pk=solar.pk).update(reserve_price=D("35"), buy_now_multiplier=D("1.2"))
    with django_capture_on_commit_callbacks(execute=False):
        assert open_auction.apply(kwargs={"lead_id": lead.pk}).get() is not None
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.LISTED


def test_statements_of_the_score_stage(solar, django_capture_on_commit_callbacks, django_assert_max_num_queries):
    lead = received(django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=False), django_assert_max_num_queries(SCORE_STATEMENTS):
        assert lead_score(lead_id=lead.pk).status == LeadStatus.SCORED
    lead = received(django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=False), django_assert_max_num_queries(SCORE_AND_OPEN_STATEMENTS):
        assert lead_score(lead_id=lead.pk, list_now=True).status == LeadStatus.LISTED


def test_statements_of_the_open_stage(solar, django_capture_on_commit_callbacks, django_assert_max_num_queries):
    lead = received(django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=False):
        lead_score(lead_id=lead.pk)
    with django_capture_on_commit_callbacks(execute=False), django_assert_max_num_queries(OPEN_STATEMENTS):
        assert auction_open(lead_id=lead.pk) is not None
