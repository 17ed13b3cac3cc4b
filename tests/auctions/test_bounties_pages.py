"""Bounty pages (a buyer's list, create form and detail; the sellers' page) and the admin."""

from decimal import Decimal as D

import pytest
from django.urls import reverse

from auctions.choices import BountyStatus
from auctions.models import Bounty, BountyAward
from auctions.selectors.bounties import bounty_pool_balance
from ledger.selectors import balance_for
from tests.auctions.factories import funded_buyer, make_vertical
from tests.auctions.factories_bounties import make_bounty, sell_by_auction
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(db):
    return funded_buyer(D("300"))


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


def create_form(vertical, **overrides) -> dict:
    return {
        "vertical": vertical.pk,
        "name": "Roofs",
        "amount_per_lead": "5",
        "amount": "40",
        "states": "ca, nv",
        "min_score": "60",
        "max_lead_age_hours": "",
        "field_filters": "",
        "idempotency_key": "tok-1",
        **overrides,
    }


# ---------------------------------------------------------------- the buyer's pages


def test_the_list_page_shows_your_bounties_and_a_create_form_in_constant_queries(
    owner_client, owner, vertical, t0, django_assert_max_num_queries
):
    for i in range(3):
        make_bounty(vertical=vertical, buyer=owner, name=f"mine-{i}", fund=D("20"))
    make_bounty(vertical=vertical, name="theirs")
    sell_by_auction(t0=t0, vertical=vertical)
    url = reverse("bounty-list")
    with django_assert_max_num_queries(4) as few:
        html = owner_client.get(url).content.decode()
    assert "mine-0" in html and "mine-2" in html and "theirs" not in html
    assert 'data-testid="bounty-form"' in html and 'name="idempotency_key"' in html
    for i in range(3, 12):
        make_bounty(vertical=vertical, buyer=owner, name=f"mine-{i}", fund=D("5"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert "mine-11" in owner_client.get(url).content.decode()


def test_the_nav_links_to_bounties_for_buyers_and_sellers(client, owner):
    client.force_login(owner)
    assert 'data-testid="bounties-link"' in client.get(reverse("bounty-list")).content.decode()


def test_creating_from_the_form_funds_the_bounty_and_a_double_submit_creates_one(owner_client, owner, vertical):
    response = owner_client.post(reverse("bounty-list"), create_form(vertical))
    bounty = Bounty.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("bounty-detail", args=[bounty.pk])
    assert (bounty.states, bounty.min_score, bounty.max_lead_age_hours) == (["CA", "NV"], 60, None)
    assert bounty_pool_balance(bounty_id=bounty.pk) == D("40")
    again = owner_client.post(reverse("bounty-list"), create_form(vertical))
    assert again.status_code == 302 and Bounty.objects.count() == 1
    assert balance_for(user=owner)["available"] == D("260")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"field_filters": "{not json"}, "Not valid JSON"),
        ({"field_filters": '[{"field": "nope", "op": "eq", "value": 1}]'}, "is not a biddable field"),
        ({"states": "CA, XX"}, "two-letter US state"),
        ({"amount": "5000"}, "Insufficient funds"),
        ({"amount_per_lead": "0"}, "Must be positive"),
        ({"amount": "abc"}, "Enter a number"),
    ],
)
def test_a_bad_create_form_is_redrawn_with_its_errors(owner_client, vertical, overrides, message):
    response = owner_client.post(reverse("bounty-list"), create_form(vertical, **overrides))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Bounty.objects.exists()


def test_an_exclusive_vertical_is_not_offered_to_an_outsider_and_a_forged_post_creates_nothing(owner_client, owner):
    exclusive = make_vertical(name="VIP legal")
    exclusive.exclusive_buyers.add(funded_buyer())
    form = owner_client.get(reverse("bounty-list")).context["form"]
    assert exclusive not in form.fields["vertical"].queryset
    response = owner_client.post(reverse("bounty-list"), create_form(exclusive))
    assert response.status_code == 400 and "vertical" in response.context["form"].errors
    assert not Bounty.objects.exists() and balance_for(user=owner)["available"] == D("300")
    exclusive.exclusive_buyers.add(owner)
    assert owner_client.post(reverse("bounty-list"), create_form(exclusive)).status_code == 302


def test_who_may_see_the_buyer_pages(client, vertical):
    url = reverse("bounty-list")
    assert client.get(url).status_code == 302  # to the log-in page
    client.force_login(UserFactory())
    assert client.get(url).status_code == 403
    client.force_login(UserFactory(is_seller=True))
    assert client.get(url)["Location"] == reverse("seller-bounties")
    assert client.post(url, create_form(vertical)).status_code == 403
    theirs = make_bounty(vertical=vertical)
    client.force_login(funded_buyer())
    assert client.get(reverse("bounty-detail", args=[theirs.pk])).status_code == 404
    assert (
        client.post(reverse("bounty-fund", args=[theirs.pk]), {"fund-amount": "5", "idempotency_key": "x"}).status_code
        == 404
    )
    assert client.post(reverse("bounty-withdraw", args=[theirs.pk]), {"idempotency_key": "x"}).status_code == 404
    assert client.post(reverse("bounty-status", args=[theirs.pk]), {"status": "paused"}).status_code == 404
    assert bounty_pool_balance(bounty_id=theirs.pk) == D("50")


def test_the_detail_page_shows_the_pool_and_awards(owner_client, owner, vertical, t0):
    bounty = make_bounty(vertical=vertical, buyer=owner, amount_per_lead=D("4"), states=["CA"])
    sale = sell_by_auction(t0=t0, vertical=vertical)
    html = owner_client.get(reverse("bounty-detail", args=[bounty.pk])).content.decode()
    assert "46" in html and f"#{sale.pk}" in html and "states CA" in html
    for testid in ("bounty-fund-form", "bounty-withdraw-form", "bounty-edit-form", "bounty-status-form"):
        assert f'data-testid="{testid}"' in html


def test_funding_withdrawing_pausing_and_editing_from_the_detail_page(owner_client, owner, vertical):
    bounty = make_bounty(vertical=vertical, buyer=owner, fund=D("50"))
    fund = {"fund-amount": "10", "idempotency_key": "t-1"}
    assert owner_client.post(reverse("bounty-fund", args=[bounty.pk]), fund).status_code == 302
    assert owner_client.post(reverse("bounty-fund", args=[bounty.pk]), fund).status_code == 302  # double submit
    assert bounty_pool_balance(bounty_id=bounty.pk) == D("60")
    short = owner_client.post(
        reverse("bounty-fund", args=[bounty.pk]), {"fund-amount": "9999", "idempotency_key": "t-2"}
    )
    assert short.status_code == 400 and "Insufficient funds" in short.content.decode()

    assert owner_client.post(reverse("bounty-status", args=[bounty.pk]), {"status": "paused"}).status_code == 302
    assert Bounty.objects.get(pk=bounty.pk).status == BountyStatus.PAUSED
    assert owner_client.post(reverse("bounty-status", args=[bounty.pk]), {"status": "closed"}).status_code == 400
    assert owner_client.post(reverse("bounty-status", args=[bounty.pk]), {"status": "active"}).status_code == 302

    edit = {
        "edit-name": "Better",
        "edit-amount_per_lead": "7",
        "edit-min_score": "",
        "edit-states": "tx",
        "edit-max_lead_age_hours": "12",
        "edit-field_filters": "",
    }
    assert owner_client.post(reverse("bounty-edit", args=[bounty.pk]), edit).status_code == 302
    bounty.refresh_from_db()
    assert (bounty.name, bounty.amount_per_lead, bounty.states, bounty.max_lead_age_hours) == (
        "Better",
        D("7"),
        ["TX"],
        12,
    )
    bad = owner_client.post(reverse("bounty-edit", args=[bounty.pk]), {**edit, "edit-states": "ZZ"})
    assert bad.status_code == 400 and "two-letter US state" in bad.content.decode()

    too_much = owner_client.post(
        reverse("bounty-withdraw", args=[bounty.pk]), {"withdraw-amount": "61", "idempotency_key": "t-3"}
    )
    assert too_much.status_code == 400 and "Only 60.000000 USDC is left" in too_much.content.decode()
    assert (
        owner_client.post(
            reverse("bounty-withdraw", args=[bounty.pk]), {"withdraw-amount": "15", "idempotency_key": "t-4"}
        ).status_code
        == 302
    )
    assert (
        owner_client.post(
            reverse("bounty-withdraw", args=[bounty.pk]), {"withdraw-amount": "", "idempotency_key": "t-5"}
        ).status_code
        == 302
    )
    bounty.refresh_from_db()
    assert bounty.status == BountyStatus.CLOSED and balance_for(user=owner)["available"] == D("300")
    html = owner_client.get(reverse("bounty-detail", args=[bounty.pk])).content.decode()
    assert "This bounty is closed" in html and 'data-testid="bounty-fund-form"' not in html


# ---------------------------------------------------------------- the sellers' page


def test_sellers_see_open_bounties_without_the_buyer_and_their_earnings(
    client, seller, vertical, t0, django_assert_max_num_queries
):
    buyer = funded_buyer(email="secret-buyer@example.com")
    make_bounty(vertical=vertical, buyer=buyer, name="Hidden name", amount_per_lead=D("3"), min_score=50)
    other = make_vertical()
    make_bounty(vertical=other, amount_per_lead=D("9"))
    sell_by_auction(t0=t0, vertical=vertical, seller=seller)
    client.force_login(seller)
    url = reverse("seller-bounties")
    with django_assert_max_num_queries(6):
        html = client.get(url).content.decode()
    assert "secret-buyer" not in html and "Hidden name" not in html
    assert "score ≥ 50" in html and 'data-testid="open-bounties"' in html
    assert "3.00 USDC from 1 award" in html
    filtered = client.get(url, {"vertical": other.slug}).content.decode()
    assert "9" in filtered and "score ≥ 50" not in filtered
    assert client.get(url, {"vertical": "no-such"}).status_code == 200
    client.force_login(funded_buyer())
    assert client.get(url).status_code == 403


# ---------------------------------------------------------------- admin


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def test_admin_changelists_render_and_money_is_never_edited_there(staff_client, vertical, t0):
    bounty = make_bounty(vertical=vertical, amount_per_lead=D("4"))
    sell_by_auction(t0=t0, vertical=vertical)
    award = BountyAward.objects.get()
    html = staff_client.get(reverse("admin:auctions_bounty_changelist")).content.decode()
    assert "46.000000" in html or "46" in html
    assert staff_client.get(reverse("admin:auctions_bountyaward_changelist")).status_code == 200
    assert staff_client.get(reverse("admin:auctions_bounty_add")).status_code == 403
    assert staff_client.get(reverse("admin:auctions_bountyaward_add")).status_code == 403
    assert staff_client.get(reverse("admin:auctions_bounty_change", args=[bounty.pk])).status_code == 200
    award_page = staff_client.get(reverse("admin:auctions_bountyaward_change", args=[award.pk]))
    assert award_page.status_code == 200 and 'name="amount"' not in award_page.content.decode()


def test_admin_edits_go_through_the_service_and_the_withdraw_action_returns_the_pool(staff_client, vertical):
    buyer = funded_buyer(D("100"))
    bounty = make_bounty(vertical=vertical, buyer=buyer, fund=D("50"))
    url = reverse("admin:auctions_bounty_change", args=[bounty.pk])
    form = {
        "name": "Renamed",
        "min_score": "",
        "states": '["tx"]',
        "field_filters": "[]",
        "max_lead_age_hours": "",
        "amount_per_lead": "6",
        "status": "paused",
        "awards-TOTAL_FORMS": "0",
        "awards-INITIAL_FORMS": "0",
        "awards-MIN_NUM_FORMS": "0",
        "awards-MAX_NUM_FORMS": "1000",
    }
    response = staff_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:3000]
    bounty.refresh_from_db()
    assert (bounty.name, bounty.states, bounty.amount_per_lead, bounty.status) == (
        "Renamed",
        ["TX"],
        D("6"),
        BountyStatus.PAUSED,
    )
    bad = staff_client.post(url, {**form, "states": '["XX"]'})
    assert bad.status_code == 200 and "two-letter US state" in bad.content.decode()

    staff_client.post(
        reverse("admin:auctions_bounty_changelist"), {"action": "withdraw_and_close", "_selected_action": [bounty.pk]}
    )
    bounty.refresh_from_db()
    assert bounty.status == BountyStatus.CLOSED and balance_for(user=buyer)["available"] == D("100")
    assert staff_client.get(url).status_code == 200  # view-only once closed
    assert staff_client.post(url, form).status_code == 403


def test_bounty_criteria_are_written_with_the_fields_labels_and_units(client, owner, t0, django_assert_max_num_queries):
    from verticals.services import vertical_upsert

    roofing = vertical_upsert(
        slug="roofs",
        name="Roofs",
        reserve_price=D("10"),
        fields=[
            {
                "key": "roof_age_years",
                "label": "Roof age (years)",
                "type": "integer",
                "min_value": 0,
                "max_value": 100,
                "biddable": True,
            },
            {"key": "homeowner", "label": "Owns the home", "type": "boolean", "biddable": True},
        ],
    )
    filters = [{"field": "roof_age_years", "op": "gte", "value": 10}, {"field": "homeowner", "op": "eq", "value": True}]
    make_bounty(vertical=roofing, buyer=owner, name="Old roofs", field_filters=filters)
    client.force_login(owner)
    html = client.get(reverse("bounty-list")).content.decode()
    assert "Roof age ≥ 10 years" in html and "Owns the home is Yes" in html and "roof_age_years" not in html
    seller = UserFactory(is_seller=True)
    client.force_login(seller)
    with django_assert_max_num_queries(8) as few:  # the schemas of all listed bounties: two queries
        html = client.get(reverse("seller-bounties")).content.decode()
    assert "Roof age ≥ 10 years" in html and "homeowner" not in html
    for n in range(5):
        make_bounty(vertical=roofing, name=f"more-{n}", field_filters=filters)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(reverse("seller-bounties")).content.decode().count("Roof age ≥ 10 years") == 6
