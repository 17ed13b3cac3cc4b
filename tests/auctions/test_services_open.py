"""Opening an auction: terms from the ask, idempotence, the trigger from scoring."""

from datetime import timedelta
from decimal import Decimal as D

import pytest

from auctions.models import Auction
from auctions.selectors.auctions import ask_match, ask_terms_for_lead
from auctions.services.auctions import AskInvalid, ask_create, ask_update, auction_open
from auctions.tasks import open_auction
from leads.choices import LeadStatus
from leads.models import Lead, LeadStatusChange
from tests.auctions.factories import make_scored_lead, make_vertical

pytestmark = pytest.mark.django_db


def test_opening_lists_the_lead_with_the_verticals_defaults_when_no_ask_matches(vertical, seller, t0):
    lead = make_scored_lead(seller=seller, vertical=vertical)
    auction = auction_open(lead_id=lead.pk, now=t0)
    lead.refresh_from_db()
    assert lead.status == LeadStatus.LISTED
    assert (auction.reserve_price, auction.buy_now_price, auction.duration_seconds) == (D("10"), D("12"), 60)
    assert auction.deadline == t0 + timedelta(seconds=60) and auction.ask is None
    assert (auction.vertical_id, auction.seller_id) == (vertical.pk, seller.pk)
    assert LeadStatusChange.objects.filter(lead=lead, to_status=LeadStatus.LISTED).count() == 1


def test_the_open_task_is_idempotent(vertical, seller):
    lead = make_scored_lead(seller=seller, vertical=vertical)
    first = open_auction.apply(kwargs={"lead_id": lead.pk}).get()
    second = open_auction.apply(kwargs={"lead_id": lead.pk}).get()
    assert first == second and Auction.objects.filter(lead=lead).count() == 1
    assert LeadStatusChange.objects.filter(lead=lead, to_status=LeadStatus.LISTED).count() == 1


def test_a_lead_that_is_not_scored_or_missing_is_not_listed(vertical, seller):
    lead = make_scored_lead(seller=seller, vertical=vertical)
    Lead.objects.filter(pk=lead.pk).update(status=LeadStatus.REJECTED)
    assert auction_open(lead_id=lead.pk) is None
    assert auction_open(lead_id=10**9) is None
    assert not Auction.objects.exists()


def test_the_most_specific_matching_ask_sets_the_terms(vertical, seller, t0):
    everywhere = ask_create(seller=seller, vertical=vertical, reserve_price=D("20"))
    west = ask_create(
        seller=seller,
        vertical=vertical,
        states=["ca", "NV", "OR"],
        reserve_price=D("30"),
        buy_now_multiplier=D("1.5"),
        duration_seconds=120,
    )
    cal = ask_create(seller=seller, vertical=vertical, states=["CA"], reserve_price=D("40"), buy_now_price=D("55"))
    ask_create(seller=seller, vertical=vertical, states=["CA", "TX"], reserve_price=D("99"), active=False)
    assert west.states == ["CA", "NV", "OR"]
    assert ask_match(seller_id=seller.pk, vertical_id=vertical.pk, state="CA") == cal
    assert ask_match(seller_id=seller.pk, vertical_id=vertical.pk, state="NV") == west
    assert ask_match(seller_id=seller.pk, vertical_id=vertical.pk, state="TX") == everywhere

    nv = ask_terms_for_lead(lead=make_scored_lead(seller=seller, vertical=vertical, state="NV"))
    assert (nv.reserve_price, nv.buy_now_price, nv.duration_seconds) == (D("30"), D("45"), 120)
    auction = auction_open(lead_id=make_scored_lead(seller=seller, vertical=vertical, state="CA").pk, now=t0)
    assert (auction.ask, auction.reserve_price, auction.buy_now_price) == (cal, D("40"), D("55"))


def test_another_sellers_or_verticals_ask_does_not_apply(vertical, seller):
    other_vertical = make_vertical()
    ask_create(seller=seller, vertical=other_vertical, reserve_price=D("77"))
    terms = ask_terms_for_lead(lead=make_scored_lead(seller=seller, vertical=vertical))
    assert terms.ask is None and terms.reserve_price == D("10") and terms.auto_list


def test_an_ask_with_auto_list_off_leaves_the_lead_scored(vertical, seller):
    ask_create(seller=seller, vertical=vertical, auto_list=False)
    lead = make_scored_lead(seller=seller, vertical=vertical)
    assert auction_open(lead_id=lead.pk) is None
    lead.refresh_from_db()
    assert lead.status == LeadStatus.SCORED and not Auction.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"states": ["XX"]}, "states"),
        ({"duration_seconds": 29}, "duration_seconds"),
        ({"duration_seconds": 86401}, "duration_seconds"),
        ({"reserve_price": D("-1")}, "reserve_price"),
        ({"reserve_price": D("1.1234567")}, "reserve_price"),
        ({"buy_now_price": D("5")}, "buy_now_price"),  # below the vertical's reserve of 10
        ({"buy_now_price": D("20"), "buy_now_multiplier": D("1.5")}, "buy_now_price"),
        ({"buy_now_multiplier": D("0.5")}, "buy_now_multiplier"),
    ],
)
def test_invalid_asks_are_refused_on_the_field_at_fault(vertical, seller, fields, field):
    with pytest.raises(AskInvalid) as exc:
        ask_create(seller=seller, vertical=vertical, **fields)
    assert field in exc.value.errors


def test_two_active_asks_for_the_same_states_are_refused_but_an_inactive_twin_is_fine(vertical, seller):
    ask_create(seller=seller, vertical=vertical, states=["CA"])
    with pytest.raises(AskInvalid) as exc:
        ask_create(seller=seller, vertical=vertical, states=["ca"])
    assert "states" in exc.value.errors
    twin = ask_create(seller=seller, vertical=vertical, states=["CA"], active=False)
    with pytest.raises(AskInvalid):
        ask_update(ask=twin, active=True)


def test_only_sellers_have_asks(vertical, buyers):
    with pytest.raises(AskInvalid) as exc:
        ask_create(seller=buyers[0], vertical=vertical)
    assert "non_field_errors" in exc.value.errors


def test_scoring_a_lead_opens_its_auction(eager_tasks, django_capture_on_commit_callbacks):
    from leads.services import lead_score, lead_submit
    from tests.factories import UserFactory
    from tests.leads.conftest import make_lead
    from verticals.services import vertical_upsert

    vertical_upsert(
        slug="solar-residential",
        name="Residential Solar",
        reserve_price=35,
        quality_floor=10,
        fields=[
            {"key": "homeowner", "label": "Homeowner", "type": "boolean", "required": True, "biddable": True},
            {"key": "roof_type", "label": "Roof", "type": "choice", "choices": ["metal", "tile"], "biddable": True},
            {"key": "monthly_electric_bill", "label": "Bill", "type": "decimal", "required": True},
        ],
    )
    seller = UserFactory(is_seller=True)
    data = make_lead(fields={"homeowner": True, "roof_type": "metal", "monthly_electric_bill": 240.5})
    with django_capture_on_commit_callbacks(execute=False):  # scoring is triggered explicitly below
        lead = lead_submit(seller=seller, data=data, source="api").lead
    with django_capture_on_commit_callbacks(execute=True):
        lead_score(lead_id=lead.pk)
    lead.refresh_from_db()
    assert lead.status == LeadStatus.LISTED
    auction = Auction.objects.get(lead=lead)
    assert auction.reserve_price == D("35") and auction.is_open
