"""Bounties: definitions, matching with its trace, payouts on auction and buy-now sales (cap, short
pools, never twice), funding, withdrawal, pause and resume. Races are in test_bounties_races.py."""

from datetime import timedelta
from decimal import Decimal as D
from unittest import mock

import pytest
from django.core.exceptions import ValidationError

from auctions.choices import BidSource, BountyStatus
from auctions.models import Bounty, BountyAward
from auctions.selectors.bounties import (
    bounty_earnings_for_seller,
    bounty_list_for_buyer,
    bounty_list_open,
    bounty_pool_balance,
)
from auctions.services.auctions import auction_close, bid_place
from auctions.services.bounties import (
    BountyConflict,
    bounty_create,
    bounty_fund,
    bounty_match,
    bounty_pay_for_sale,
    bounty_update,
    bounty_withdraw,
    check_bounty,
)
from leads.models import Lead
from ledger.models import LedgerAccount, LedgerTransaction
from ledger.selectors import balance_for, ledger_check
from tests.auctions.factories import funded_buyer, make_auction, make_scored_lead, make_vertical
from tests.auctions.factories_bounties import make_bounty, sell_by_auction, sell_by_buy_now
from tests.factories import UserFactory, VerticalFieldFactory
from verticals.choices import FieldType, VerticalStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def fielded_vertical(db):
    vertical = make_vertical()
    VerticalFieldFactory(
        vertical=vertical, key="roof_type", type=FieldType.CHOICE, choices=["metal", "tile"], biddable=True
    )
    VerticalFieldFactory(vertical=vertical, key="sqft", type=FieldType.INTEGER, biddable=True)
    VerticalFieldFactory(vertical=vertical, key="income", type=FieldType.INTEGER, biddable=False)
    VerticalFieldFactory(vertical=vertical, key="ssn", type=FieldType.TEXT, pii=True)
    return vertical


def pool(bounty) -> D:
    return bounty_pool_balance(bounty_id=bounty.pk)


def escrow_balance(sale) -> D:
    return LedgerAccount.objects.get(pk=sale.escrow_account_id).balance


# ---------------------------------------------------------------- definitions


def test_creating_a_bounty_moves_the_funding_from_available_into_its_pool_in_one_transaction(vertical):
    buyer = funded_buyer(D("100"))
    bounty = make_bounty(vertical=vertical, buyer=buyer, amount_per_lead=D("5"), fund=D("40"))
    assert bounty.status == BountyStatus.ACTIVE and pool(bounty) == D("40")
    assert balance_for(user=buyer)["available"] == D("60")
    txn = LedgerTransaction.objects.get(idempotency_key=f"bounty:{bounty.pk}:fund:create")
    assert sorted(txn.entries.values_list("amount", flat=True)) == [D("-40"), D("40")]
    assert LedgerAccount.objects.get(reference=f"bounty:{bounty.pk}").kind == "bounty_pool"
    assert ledger_check().ok


def test_creating_with_the_same_key_twice_creates_one_bounty_and_moves_money_once(vertical):
    buyer = funded_buyer(D("100"))
    terms = {
        "buyer": buyer,
        "vertical": vertical,
        "name": "Roofs",
        "amount_per_lead": D("5"),
        "amount": D("30"),
        "idempotency_key": "k-1",
    }
    first, second = bounty_create(**terms), bounty_create(**terms)
    assert first.pk == second.pk and (first.replayed, second.replayed) == (False, True)
    assert Bounty.objects.count() == 1 and balance_for(user=buyer)["available"] == D("70")
    with pytest.raises(BountyConflict):
        bounty_create(**{**terms, "amount": D("31")})


def test_creating_without_enough_funds_is_a_field_error_and_writes_nothing(vertical):
    buyer = funded_buyer(D("10"))
    with pytest.raises(ValidationError) as exc:
        make_bounty(vertical=vertical, buyer=buyer, amount_per_lead=D("5"), fund=D("25"))
    assert "Insufficient funds" in exc.value.message_dict["amount"][0]
    assert not Bounty.objects.exists() and balance_for(user=buyer)["available"] == D("10")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": " "}, "name"),
        ({"states": ["CA", "XX"]}, "states"),
        ({"min_score": 101}, "min_score"),
        ({"max_lead_age_hours": 0}, "max_lead_age_hours"),
        ({"amount_per_lead": D("0")}, "amount_per_lead"),
        ({"amount_per_lead": D("1.1234567")}, "amount_per_lead"),
        ({"amount": D("4")}, "amount"),  # below one payout of 5
        ({"amount": D("-1")}, "amount"),
        ({"field_filters": [{"field": "income", "op": "gt", "value": 5}]}, "field_filters"),  # not biddable
        ({"field_filters": [{"field": "ssn", "op": "eq", "value": "x"}]}, "field_filters"),  # PII
        ({"field_filters": [{"field": "roof_type", "op": "eq", "value": "straw"}]}, "field_filters"),
        ({"field_filters": [{"field": "sqft", "op": "contains", "value": 5}]}, "field_filters"),
        ({"field_filters": "roof"}, "field_filters"),
        ({"idempotency_key": ""}, "idempotency_key"),
    ],
)
def test_a_bad_definition_is_refused_by_field(fielded_vertical, changes, field):
    terms = {
        "buyer": funded_buyer(),
        "vertical": fielded_vertical,
        "name": "b",
        "amount_per_lead": D("5"),
        "amount": D("20"),
        "idempotency_key": "k",
        **changes,
    }
    with pytest.raises(ValidationError) as exc:
        bounty_create(**terms)
    assert field in exc.value.message_dict, exc.value.message_dict
    assert not Bounty.objects.exists()


def test_only_buyers_fund_bounties_and_never_on_a_deprecated_vertical():
    with pytest.raises(ValidationError) as exc:
        make_bounty(vertical=make_vertical(), buyer=UserFactory(is_seller=True))
    assert "non_field_errors" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        make_bounty(vertical=make_vertical(status=VerticalStatus.DEPRECATED))
    assert "vertical" in exc.value.message_dict


def test_only_an_exclusive_verticals_listed_buyers_may_create_a_bounty_on_it():
    insider, outsider = funded_buyer(), funded_buyer()
    exclusive = make_vertical()
    exclusive.exclusive_buyers.add(insider)
    with pytest.raises(ValidationError) as exc:
        make_bounty(vertical=exclusive, buyer=outsider)
    assert exc.value.message_dict == {"vertical": ["This vertical is exclusive to its listed buyers."]}
    assert exc.value.error_dict["vertical"][0].code == "exclusive_vertical"
    assert not Bounty.objects.exists() and balance_for(user=outsider)["available"] == D("1000")
    assert make_bounty(vertical=exclusive, buyer=insider).status == BountyStatus.ACTIVE


def test_states_are_normalised_and_the_admin_form_uses_the_same_checks(vertical):
    from auctions.admin.bounties import BountyAdminForm

    bounty = make_bounty(vertical=vertical, states=["tx", "CA", "ca"])
    assert bounty.states == ["CA", "TX"]
    data = {
        "name": bounty.name,
        "states": '["CA"]',
        "field_filters": "[]",
        "max_lead_age_hours": 24,
        "amount_per_lead": "5",
        "status": "active",
        "min_score": 500,
    }
    form = BountyAdminForm(data=data, instance=bounty)
    assert not form.is_valid() and "min_score" in form.errors
    bounty.min_score = 500
    with pytest.raises(ValidationError):
        check_bounty(bounty=bounty)


def test_the_database_refuses_a_non_positive_amount_or_a_closed_bounty_without_closed_at(vertical):
    from django.db import IntegrityError, transaction

    bounty = make_bounty(vertical=vertical)
    with pytest.raises(IntegrityError), transaction.atomic():
        Bounty.objects.filter(pk=bounty.pk).update(amount_per_lead=D("0"))
    with pytest.raises(IntegrityError), transaction.atomic():
        Bounty.objects.filter(pk=bounty.pk).update(status=BountyStatus.CLOSED)


# ---------------------------------------------------------------- matching


def test_a_plain_bounty_matches_with_ok_reasons(vertical, t0):
    bounty = make_bounty(vertical=vertical)
    lead = make_scored_lead(vertical=vertical)
    ok, reasons = bounty_match(bounty=bounty, lead=lead, now=t0)
    assert ok and reasons == [
        "active: ok",
        f"vertical {vertical.slug} within {vertical.slug}: ok",
        "seller is not the owner: ok",
        "states: all: ok",
    ]


def test_matching_traces_every_failing_check_score_state_age_and_fields(fielded_vertical, t0):
    bounty = make_bounty(
        vertical=fielded_vertical,
        min_score=80,
        states=["TX"],
        max_lead_age_hours=2,
        field_filters=[
            {"field": "roof_type", "op": "eq", "value": "tile"},
            {"field": "sqft", "op": "gte", "value": 1000},
        ],
    )
    lead = make_scored_lead(
        vertical=fielded_vertical, state="CA", score=70, fields={"roof_type": "metal", "sqft": 1500}
    )
    Lead.objects.filter(pk=lead.pk).update(created_at=t0 - timedelta(hours=3))
    lead.refresh_from_db()
    ok, reasons = bounty_match(bounty=bounty, lead=lead, now=t0)
    assert not ok
    assert "state CA not in [TX]" in reasons
    assert "score 70 < min 80" in reasons
    assert "age 3.0 h > max 2 h" in reasons
    assert "field roof_type eq tile: lead has metal" in reasons
    assert "field sqft gte 1000: ok" in reasons


def test_matching_passes_each_criterion_at_its_boundary(fielded_vertical, t0):
    bounty = make_bounty(
        vertical=fielded_vertical,
        min_score=70,
        states=["CA"],
        max_lead_age_hours=3,
        field_filters=[{"field": "roof_type", "op": "in", "value": ["metal", "tile"]}],
    )
    lead = make_scored_lead(vertical=fielded_vertical, state="CA", score=70, fields={"roof_type": "metal"})
    Lead.objects.filter(pk=lead.pk).update(created_at=t0 - timedelta(hours=3))
    lead.refresh_from_db()
    ok, reasons = bounty_match(bounty=bounty, lead=lead, now=t0)
    assert ok, reasons
    assert {
        "state CA in [CA]: ok",
        "score 70 >= min 70: ok",
        "age 3.0 h <= max 3 h: ok",
        "field roof_type in [metal, tile]: ok",
    } <= set(reasons)


def test_a_bounty_on_a_parent_vertical_matches_its_childrens_leads_but_not_other_verticals(vertical, t0):
    bounty = make_bounty(vertical=vertical)
    child_lead = make_scored_lead(vertical=make_vertical(parent=vertical))
    assert bounty_match(bounty=bounty, lead=child_lead, now=t0)[0]
    other = make_scored_lead(vertical=make_vertical())
    ok, reasons = bounty_match(bounty=bounty, lead=other, now=t0)
    assert not ok and f"vertical {other.vertical.slug} is not {vertical.slug}" in reasons


def test_a_paused_bounty_and_the_owners_own_lead_do_not_match(vertical, t0):
    owner = funded_buyer(is_seller=True)
    bounty = make_bounty(vertical=vertical, buyer=owner)
    ok, reasons = bounty_match(bounty=bounty, lead=make_scored_lead(vertical=vertical, seller=owner), now=t0)
    assert not ok and "own lead: a bounty never pays its owner" in reasons
    bounty = bounty_update(bounty=bounty, status=BountyStatus.PAUSED)
    ok, reasons = bounty_match(bounty=bounty, lead=make_scored_lead(vertical=vertical), now=t0)
    assert not ok and reasons[0] == "paused"


# ---------------------------------------------------------------- paying


def test_an_auction_sale_pays_a_matching_bounty_from_its_pool_into_the_sales_escrow(vertical, seller, t0):
    bounty = make_bounty(vertical=vertical, amount_per_lead=D("5"), fund=D("50"))
    sale = sell_by_auction(t0=t0, vertical=vertical, seller=seller)
    award = BountyAward.objects.get(sale=sale)
    assert (award.bounty_id, award.amount) == (bounty.pk, D("5"))
    assert pool(bounty) == D("45")
    assert escrow_balance(sale) == sale.price + D("5")
    assert award.ledger_transaction.idempotency_key == f"bounty:{bounty.pk}:sale:{sale.pk}"
    assert bounty_earnings_for_seller(seller=seller) == {"total": D("5"), "count": 1}
    assert ledger_check().ok


def test_a_buy_now_sale_pays_a_matching_bounty_too(vertical, seller, t0):
    bounty = make_bounty(vertical=vertical, amount_per_lead=D("7.5"), fund=D("50"))
    sale = sell_by_buy_now(t0=t0, vertical=vertical, seller=seller)
    assert sale.price == D("12")
    assert list(BountyAward.objects.filter(sale=sale).values_list("bounty_id", "amount")) == [(bounty.pk, D("7.5"))]
    assert escrow_balance(sale) == D("19.5") and pool(bounty) == D("42.5")
    assert ledger_check().ok


def test_the_owners_bounty_pays_even_when_the_owner_buys_the_lead(vertical, t0):
    owner = funded_buyer(D("200"))
    bounty = make_bounty(vertical=vertical, buyer=owner, amount_per_lead=D("3"), fund=D("30"))
    sale = sell_by_auction(t0=t0, vertical=vertical, buyer=owner)
    assert BountyAward.objects.get(sale=sale).bounty_id == bounty.pk
    assert balance_for(user=owner)["total"] == D("200") - D("30") - sale.price


def test_the_payout_is_broadcast_to_the_owner_on_commit(vertical, t0, django_capture_on_commit_callbacks):
    bounty = make_bounty(vertical=vertical, amount_per_lead=D("5"), fund=D("50"))
    with mock.patch("core.broadcast.group_send_now") as send, django_capture_on_commit_callbacks(execute=True):
        sale = sell_by_auction(t0=t0, vertical=vertical)
    paid = [c.kwargs for c in send.call_args_list if c.kwargs["payload"]["type"] == "bounty.paid"]
    assert paid == [
        {
            "group": f"user.{bounty.buyer_id}",
            "payload": {
                "type": "bounty.paid",
                "bounty_id": bounty.pk,
                "sale_id": sale.pk,
                "amount": "5.000000",
                "pool_balance": "45.000000",
            },
        }
    ]


def test_a_bounty_is_never_paid_for_a_sale_in_an_exclusive_vertical_its_owner_is_not_listed_for(
    vertical, t0, django_capture_on_commit_callbacks
):
    """An award tells its owner the sale, the lead, the price and the criteria it met: the one
    visibility rule applies to payouts as it does to autobid rules."""
    insider, removed = funded_buyer(), funded_buyer()
    exclusive = make_vertical(parent=vertical)
    exclusive.exclusive_buyers.add(insider, removed)
    on_parent = make_bounty(vertical=vertical, name="outsider on the open parent")
    kept = make_bounty(vertical=exclusive, buyer=insider, name="still listed")
    dropped = make_bounty(vertical=exclusive, buyer=removed, name="removed later")
    exclusive.exclusive_buyers.remove(removed)
    with mock.patch("core.broadcast.group_send_now") as send, django_capture_on_commit_callbacks(execute=True):
        sale = sell_by_auction(t0=t0, vertical=exclusive, buyer=insider)
    assert list(BountyAward.objects.filter(sale=sale).values_list("bounty_id", flat=True)) == [kept.pk]
    assert pool(on_parent) == pool(dropped) == D("50")
    paid_to = {c.kwargs["group"] for c in send.call_args_list if c.kwargs["payload"]["type"] == "bounty.paid"}
    assert paid_to == {f"user.{insider.pk}"}
    # The parent's own (open) sales still pay the outsider's bounty.
    open_sale = sell_by_auction(t0=t0, vertical=vertical)
    assert BountyAward.objects.get(sale=open_sale).bounty_id == on_parent.pk
    assert ledger_check().ok


def test_non_matching_paused_and_closed_bounties_pay_nothing(vertical, t0):
    other_state = make_bounty(vertical=vertical, states=["TX"])
    paused = bounty_update(bounty=make_bounty(vertical=vertical), status=BountyStatus.PAUSED)
    closed = bounty_withdraw(bounty=make_bounty(vertical=vertical), idempotency_key="w")
    sale = sell_by_auction(t0=t0, vertical=vertical, state="CA")
    assert not BountyAward.objects.filter(sale=sale).exists()
    assert [pool(b) for b in (other_state, paused, closed)] == [D("50"), D("50"), D("0")]


def test_a_lead_older_than_the_maximum_age_at_sale_time_earns_nothing(vertical, t0):
    make_bounty(vertical=vertical, max_lead_age_hours=1)
    fresh = sell_by_auction(t0=t0, vertical=vertical)  # the lead is about a minute old at the sale: pays
    assert BountyAward.objects.filter(sale=fresh).count() == 1
    auction = make_auction(now=t0, vertical=vertical)
    Lead.objects.filter(pk=auction.lead_id).update(created_at=t0 - timedelta(hours=1))  # 1 h 1 min at the sale
    bid_place(
        auction_id=auction.pk,
        buyer=funded_buyer(),
        max_amount=D("10"),
        source=BidSource.API,
        now=t0 + timedelta(seconds=5),
    )
    auction_close(auction_id=auction.pk, now=t0 + timedelta(seconds=60))
    assert not BountyAward.objects.filter(sale__auction=auction).exists()


def test_several_bounties_are_capped_at_twice_the_price_oldest_first(vertical, t0):
    # The price will be 10: at most 20 in bounties. 8 + 8 + (4 of 8) then nothing.
    bounties = [make_bounty(vertical=vertical, amount_per_lead=D("8"), fund=D("80"), name=f"b{i}") for i in range(4)]
    sale = sell_by_auction(t0=t0, vertical=vertical)
    awards = dict(BountyAward.objects.filter(sale=sale).values_list("bounty_id", "amount"))
    assert awards == {bounties[0].pk: D("8"), bounties[1].pk: D("8"), bounties[2].pk: D("4")}
    assert sum(awards.values()) == 2 * sale.price
    assert [pool(b) for b in bounties] == [D("72"), D("72"), D("76"), D("80")]
    assert escrow_balance(sale) == sale.price * 3
    assert ledger_check().ok


def test_a_short_pool_pays_what_it_has_then_is_exhausted_and_the_next_bounty_pays(vertical, t0):
    first = make_bounty(vertical=vertical, amount_per_lead=D("5"), fund=D("7"))
    second = make_bounty(vertical=vertical, amount_per_lead=D("1"), fund=D("10"))
    sale1 = sell_by_auction(t0=t0, vertical=vertical)
    sale2 = sell_by_auction(t0=t0, vertical=vertical)
    assert BountyAward.objects.get(sale=sale1, bounty=first).amount == D("5")
    assert BountyAward.objects.get(sale=sale2, bounty=first).amount == D("2")  # partial: the pool's last 2
    assert pool(first) == D("0") and pool(second) == D("8")
    sale3 = sell_by_auction(t0=t0, vertical=vertical)
    assert list(BountyAward.objects.filter(sale=sale3).values_list("bounty_id", flat=True)) == [second.pk]
    assert first.pk not in [b.pk for b in bounty_list_open()]
    assert ledger_check().ok


def test_paying_twice_for_one_sale_pays_once(vertical, t0):
    bounty = make_bounty(vertical=vertical, amount_per_lead=D("5"), fund=D("50"))
    sale = sell_by_auction(t0=t0, vertical=vertical)
    assert bounty_pay_for_sale(sale=sale, now=t0) == []
    auction_close(auction_id=sale.auction_id, now=t0 + timedelta(seconds=120))
    assert BountyAward.objects.filter(sale=sale).count() == 1
    assert pool(bounty) == D("45")
    assert LedgerTransaction.objects.filter(idempotency_key__startswith=f"bounty:{bounty.pk}:sale:").count() == 1


def test_a_sellers_own_bounty_is_skipped_and_the_next_one_pays(vertical, t0):
    seller = funded_buyer(is_seller=True)
    own = make_bounty(vertical=vertical, buyer=seller)
    other = make_bounty(vertical=vertical)
    sale = sell_by_auction(t0=t0, vertical=vertical, seller=seller)
    assert list(BountyAward.objects.filter(sale=sale).values_list("bounty_id", flat=True)) == [other.pk]
    assert pool(own) == D("50")


# ---------------------------------------------------------------- funding, withdrawal, changes


def test_funding_tops_up_the_pool_once_per_key(vertical):
    buyer = funded_buyer(D("100"))
    bounty = make_bounty(vertical=vertical, buyer=buyer, fund=D("20"))
    assert bounty_fund(bounty=bounty, amount=D("30"), idempotency_key="f1").replayed is False
    assert bounty_fund(bounty=bounty, amount=D("30"), idempotency_key="f1").replayed is True
    assert pool(bounty) == D("50") and balance_for(user=buyer)["available"] == D("50")
    with pytest.raises(BountyConflict):
        bounty_fund(bounty=bounty, amount=D("31"), idempotency_key="f1")
    with pytest.raises(ValidationError) as exc:
        bounty_fund(bounty=bounty, amount=D("1000"), idempotency_key="f2")
    assert "Insufficient funds" in exc.value.message_dict["amount"][0]


def test_withdrawing_everything_returns_the_pool_and_closes_the_bounty(vertical, t0):
    buyer = funded_buyer(D("100"))
    bounty = make_bounty(vertical=vertical, buyer=buyer, amount_per_lead=D("5"), fund=D("50"))
    sell_by_auction(t0=t0, vertical=vertical)
    bounty = bounty_withdraw(bounty=bounty, idempotency_key="w1", now=t0)
    assert (bounty.status, bounty.closed_at) == (BountyStatus.CLOSED, t0)
    assert pool(bounty) == D("0") and balance_for(user=buyer)["available"] == D("95")
    assert bounty_withdraw(bounty=bounty, idempotency_key="w2").replayed is True  # closing again: a no-op
    with pytest.raises(ValidationError):
        bounty_fund(bounty=bounty, amount=D("5"), idempotency_key="f")
    with pytest.raises(ValidationError):
        bounty_update(bounty=bounty, status=BountyStatus.ACTIVE)
    assert ledger_check().ok


def test_withdrawing_part_keeps_the_bounty_and_refuses_more_than_the_pool(vertical):
    buyer = funded_buyer(D("100"))
    bounty = make_bounty(vertical=vertical, buyer=buyer, fund=D("50"))
    bounty_withdraw(bounty=bounty, amount=D("20"), idempotency_key="w1")
    bounty_withdraw(bounty=bounty, amount=D("20"), idempotency_key="w1")  # replay
    assert pool(bounty) == D("30") and Bounty.objects.get(pk=bounty.pk).status == BountyStatus.ACTIVE
    with pytest.raises(BountyConflict):
        bounty_withdraw(bounty=bounty, amount=D("21"), idempotency_key="w1")
    with pytest.raises(ValidationError) as exc:
        bounty_withdraw(bounty=bounty, amount=D("30.000001"), idempotency_key="w2")
    assert exc.value.message_dict["amount"] == ["Only 30.000000 USDC is left in this bounty's pool."]
    assert balance_for(user=buyer)["available"] == D("70")


def test_updating_criteria_pausing_and_resuming(fielded_vertical, t0):
    bounty = make_bounty(vertical=fielded_vertical)
    bounty = bounty_update(
        bounty=bounty,
        min_score=60,
        states=["ny"],
        amount_per_lead=D("2.5"),
        field_filters=[{"field": "sqft", "op": "gt", "value": 10}],
        max_lead_age_hours=24,
    )
    bounty.refresh_from_db()
    assert (bounty.min_score, bounty.states, bounty.amount_per_lead, bounty.max_lead_age_hours) == (
        60,
        ["NY"],
        D("2.5"),
        24,
    )
    assert bounty_update(bounty=bounty, status=BountyStatus.PAUSED).status == BountyStatus.PAUSED
    assert bounty_update(bounty=bounty, status=BountyStatus.ACTIVE).status == BountyStatus.ACTIVE
    with pytest.raises(ValidationError) as exc:
        bounty_update(bounty=bounty, status=BountyStatus.CLOSED)
    assert "status" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        bounty_update(bounty=bounty, field_filters=[{"field": "nope", "op": "eq", "value": 1}])
    assert "field_filters" in exc.value.message_dict
    with pytest.raises(TypeError):
        bounty_update(bounty=bounty, vertical=make_vertical())


# ---------------------------------------------------------------- reads


def test_the_buyers_list_shows_pool_and_paid_totals(vertical, t0, django_assert_num_queries):
    buyer = funded_buyer(D("500"))
    first = make_bounty(vertical=vertical, buyer=buyer, amount_per_lead=D("5"), fund=D("50"))
    make_bounty(vertical=vertical, buyer=buyer, amount_per_lead=D("1"), fund=D("10"), states=["TX"])
    make_bounty(vertical=vertical)  # someone else's
    sell_by_auction(t0=t0, vertical=vertical)
    sell_by_auction(t0=t0, vertical=vertical)
    with django_assert_num_queries(1):
        rows = list(bounty_list_for_buyer(buyer=buyer))
        totals = [(b.pk, b.pool_balance, b.paid_total, b.award_count, b.vertical.slug) for b in rows]
    assert totals[-1] == (first.pk, D("40"), D("10"), 2, vertical.slug)
    assert totals[0][1:4] == (D("10"), D("0"), 0)


def test_open_bounties_for_sellers_are_active_funded_ones_per_vertical(vertical):
    funded = make_bounty(vertical=vertical)
    bounty_update(bounty=make_bounty(vertical=vertical), status=BountyStatus.PAUSED)
    bounty_withdraw(bounty=make_bounty(vertical=vertical), idempotency_key="w")
    elsewhere = make_bounty(vertical=make_vertical())
    assert [b.pk for b in bounty_list_open(vertical_slug=vertical.slug)] == [funded.pk]
    assert {b.pk for b in bounty_list_open()} == {funded.pk, elsewhere.pk}
    child = make_vertical(parent=vertical)  # the parent's bounty pays for the child's leads too
    on_child = make_bounty(vertical=child)
    assert [b.pk for b in bounty_list_open(vertical_slug=child.slug)] == [on_child.pk, funded.pk]
    assert list(bounty_list_open(vertical_slug="no-such-vertical")) == []
