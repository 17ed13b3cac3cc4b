"""/api/v1/bounties/: create and fund (Idempotency-Key), change, top up, withdraw, awards, the open
list for sellers and a seller's earnings. Others' bounties are 404; bad input is a field-level 400."""

from decimal import Decimal as D

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.services import api_key_create
from auctions.choices import BountyStatus
from auctions.models import Bounty
from ledger.selectors import balance_for
from tests.api_errors import api_error, error_fields
from tests.auctions.factories import funded_buyer, make_vertical
from tests.auctions.factories_bounties import make_bounty, sell_by_auction
from tests.factories import UserFactory, VerticalFieldFactory
from verticals.choices import FieldType

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(user=user, name='t').secret}")
    return client


@pytest.fixture
def owner(db):
    return funded_buyer(D("200"))


@pytest.fixture
def api(owner):
    return client_for(owner)


def create_body(for_vertical, **overrides) -> dict:
    return {
        "name": "Metal roofs",
        "vertical": for_vertical.slug,
        "amount_per_lead": "5.00",
        "amount": "40",
        "states": ["CA", "NV"],
        "min_score": 60,
        "max_lead_age_hours": 48,
        **overrides,
    }


def post(client, url, body, key="k-1"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(url, body, format="json", **headers)


LIST = "/api/v1/bounties/"


# ---------------------------------------------------------------- create and list


def test_creating_a_bounty_funds_its_pool_and_a_replay_returns_the_same_bounty(api, owner, vertical):
    response = post(api, LIST, create_body(vertical))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["vertical"] == vertical.slug and body["states"] == ["CA", "NV"]
    assert (body["amount_per_lead"], body["pool_balance"], body["paid_total"], body["status"]) == (
        "5.000000",
        "40.000000",
        "0.000000",
        "active",
    )
    assert "Idempotent-Replay" not in response.headers
    replay = post(api, LIST, create_body(vertical))
    assert replay.status_code == 201 and replay.json()["id"] == body["id"]
    assert replay.headers["Idempotent-Replay"] == "true"
    assert Bounty.objects.count() == 1 and balance_for(user=owner)["available"] == D("160")
    conflict = post(api, LIST, create_body(vertical, amount="41"))
    assert conflict.status_code == 422 and "Idempotency-Key" in error_fields(conflict)


def test_an_outsider_gets_a_403_creating_a_bounty_on_an_exclusive_vertical(api, owner):
    exclusive = make_vertical()
    exclusive.exclusive_buyers.add(funded_buyer())
    response = post(api, LIST, create_body(exclusive))
    assert response.status_code == 403
    error = api_error(response)
    assert (error["type"], error["code"], error["param"]) == ("permission", "exclusive_vertical", "vertical")
    assert not Bounty.objects.exists() and balance_for(user=owner)["available"] == D("200")


def test_money_moves_need_an_idempotency_key(api, vertical):
    response = post(api, LIST, create_body(vertical), key=None)
    assert response.status_code == 400 and "Idempotency-Key" in error_fields(response)
    assert not Bounty.objects.exists()


@pytest.fixture
def fielded(db):
    vertical = make_vertical()
    VerticalFieldFactory(
        vertical=vertical, key="roof_type", type=FieldType.CHOICE, choices=["metal", "tile"], biddable=True
    )
    return vertical


def test_bounty_filters_take_the_readmes_operators_too(api, fielded):
    filters = [{"field": "roof_type", "op": "≠", "value": "tile"}, {"field": "roof_type", "op": "=", "value": "metal"}]
    response = post(api, LIST, create_body(fielded, field_filters=filters))
    assert response.status_code == 201, response.json()
    assert [f["op"] for f in response.json()["field_filters"]] == ["ne", "eq"]
    patched = api.patch(
        f"{LIST}{response.json()['id']}/",
        {"field_filters": [{"field": "roof_type", "op": "not in", "value": ["tile"]}]},
        format="json",
    )
    assert patched.status_code == 200, patched.json()
    assert Bounty.objects.get().field_filters == [{"field": "roof_type", "op": "not_in", "value": ["tile"]}]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount_per_lead": "abc"}, "amount_per_lead"),
        ({"amount_per_lead": "0"}, "amount_per_lead"),
        ({"amount_per_lead": "1.1234567"}, "amount_per_lead"),
        ({"amount": "1"}, "amount"),  # less than one payout
        ({"amount": None}, "amount"),
        ({"states": ["XX"]}, "states"),
        ({"states": "CA"}, "states"),
        ({"min_score": 500}, "min_score"),
        ({"min_score": "high"}, "min_score"),
        ({"max_lead_age_hours": 0}, "max_lead_age_hours"),
        ({"vertical": "no/such"}, "vertical"),
        ({"states": ["ca"]}, "states"),
        ({"name": ""}, "name"),
        ({"name": 7}, "name"),
        ({"field_filters": [{"field": "roof_type", "op": "eq", "value": "straw"}]}, "field_filters"),
        ({"field_filters": [{"field": "nope", "op": "eq", "value": 1}]}, "field_filters"),
        ({"field_filters": [{"field": "roof_type"}]}, "field_filters"),
        ({"field_filters": ["x"]}, "field_filters"),
        ({"field_filters": "x"}, "field_filters"),
    ],
)
def test_bad_input_is_a_field_level_400_and_writes_nothing(api, fielded, overrides, field):
    response = post(api, LIST, create_body(fielded, **overrides))
    assert response.status_code == 400, response.content
    assert field in error_fields(response), response.json()
    assert not Bounty.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "status", "code", "param"),
    [
        ({"amount": "1000"}, 409, "insufficient_funds", "amount"),  # more than the buyer has
        ({"vertical": "no-such-vertical"}, 404, "resource_missing", "vertical"),
    ],
)
def test_what_the_balance_or_the_verticals_refuse_is_a_409_or_404(api, fielded, overrides, status, code, param):
    response = post(api, LIST, create_body(fielded, **overrides))
    assert response.status_code == status, response.content
    assert (api_error(response)["code"], api_error(response)["param"]) == (code, param)
    assert not Bounty.objects.exists()


def test_a_body_that_is_not_an_object_is_a_400(api):
    response = api.post(LIST, ["x"], format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == 400


def test_a_non_buyer_cannot_create_a_bounty(vertical):
    response = post(client_for(UserFactory(is_seller=True)), LIST, create_body(vertical))
    assert response.status_code == 403 and api_error(response)["code"] == "buyer_required"


def test_the_list_shows_only_your_bounties_with_totals_in_constant_queries(
    api, owner, vertical, t0, django_assert_max_num_queries
):
    for i in range(3):
        make_bounty(vertical=vertical, buyer=owner, name=f"b{i}", fund=D("20"))
    make_bounty(vertical=vertical)  # someone else's
    sell_by_auction(t0=t0, vertical=vertical)
    with django_assert_max_num_queries(3) as few:
        body = api.get(LIST).json()
    assert [r["name"] for r in body["results"]] == ["b2", "b1", "b0"]
    assert body["results"][-1]["paid_total"] == "5.000000" and body["results"][-1]["award_count"] == 1
    for i in range(3, 12):
        make_bounty(vertical=vertical, buyer=owner, name=f"b{i}", fund=D("5"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(api.get(LIST).json()["results"]) == 12


# ---------------------------------------------------------------- one bounty


def test_others_bounties_are_404_everywhere(api, vertical):
    theirs = make_bounty(vertical=vertical)
    base = f"{LIST}{theirs.pk}/"
    assert api.get(base).status_code == 404
    assert api.patch(base, {"status": "paused"}, format="json").status_code == 404
    assert post(api, f"{base}fund/", {"amount": "5"}).status_code == 404
    assert post(api, f"{base}withdraw/", {}).status_code == 404
    assert api.get(f"{base}awards/").status_code == 404
    assert api.get(f"{LIST}999999/").status_code == 404
    assert Bounty.objects.get(pk=theirs.pk).status == BountyStatus.ACTIVE


def test_patch_changes_criteria_and_pauses_and_resumes(api, owner, vertical):
    bounty = make_bounty(vertical=vertical, buyer=owner)
    url = f"{LIST}{bounty.pk}/"
    response = api.patch(
        url, {"min_score": 75, "states": ["TX"], "amount_per_lead": "2.5", "max_lead_age_hours": None}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["min_score"], response.json()["states"], response.json()["amount_per_lead"]) == (
        75,
        ["TX"],
        "2.500000",
    )
    assert api.patch(url, {"status": "paused"}, format="json").json()["status"] == "paused"
    assert api.patch(url, {"status": "active"}, format="json").json()["status"] == "active"
    closed = api.patch(url, {"status": "closed"}, format="json")
    assert closed.status_code == 400 and "status" in error_fields(closed)
    bad = api.patch(url, {"amount_per_lead": "-1"}, format="json")
    assert bad.status_code == 400 and "amount_per_lead" in error_fields(bad)
    assert api.get(url).json()["amount_per_lead"] == "2.500000"


@pytest.mark.parametrize("filters", [{}, "", 0, False, None])
def test_patch_refuses_field_filters_that_are_not_a_list(api, owner, vertical, filters):
    """Schemathesis found `{}` accepted (and stored as []) on PATCH while POST refused it."""
    bounty = make_bounty(vertical=vertical, buyer=owner)
    response = api.patch(f"{LIST}{bounty.pk}/", {"field_filters": filters}, format="json")
    assert response.status_code == 400 and error_fields(response) == {"field_filters"}
    assert api.patch(f"{LIST}{bounty.pk}/", {"field_filters": []}, format="json").status_code == 200


def test_fund_tops_up_once_per_key(api, owner, vertical):
    bounty = make_bounty(vertical=vertical, buyer=owner, fund=D("20"))
    url = f"{LIST}{bounty.pk}/fund/"
    first = post(api, url, {"amount": "10"}, key="f-1")
    assert first.status_code == 200 and first.json()["pool_balance"] == "30.000000"
    replay = post(api, url, {"amount": "10"}, key="f-1")
    assert replay.status_code == 200 and replay.headers["Idempotent-Replay"] == "true"
    assert replay.json()["pool_balance"] == "30.000000"
    assert post(api, url, {"amount": "11"}, key="f-1").status_code == 422
    short = post(api, url, {"amount": "5000"}, key="f-2")
    assert short.status_code == 409 and api_error(short)["code"] == "insufficient_funds"
    assert "Insufficient funds" in api_error(short)["message"] and api_error(short)["param"] == "amount"
    assert post(api, url, {"amount": "x"}, key="f-3").status_code == 400
    assert post(api, url, {"amount": "10"}, key=None).status_code == 400
    assert balance_for(user=owner)["available"] == D("170")


def test_withdraw_an_amount_then_everything_closes_the_bounty(api, owner, vertical):
    bounty = make_bounty(vertical=vertical, buyer=owner, fund=D("50"))
    url = f"{LIST}{bounty.pk}/withdraw/"
    part = post(api, url, {"amount": "20"}, key="w-1")
    assert part.status_code == 200 and part.json()["pool_balance"] == "30.000000"
    too_much = post(api, url, {"amount": "31"}, key="w-2")
    assert too_much.status_code == 409 and api_error(too_much)["code"] == "pool_insufficient"
    rest = post(api, url, {}, key="w-3")
    assert rest.status_code == 200 and (rest.json()["status"], rest.json()["pool_balance"]) == ("closed", "0.000000")
    assert balance_for(user=owner)["available"] == D("200")
    again = post(api, f"{LIST}{bounty.pk}/fund/", {"amount": "5"}, key="f-9")
    assert again.status_code == 409 and api_error(again)["code"] == "bounty_closed"


def test_awards_show_what_a_bounty_paid(api, owner, vertical, t0):
    bounty = make_bounty(vertical=vertical, buyer=owner, amount_per_lead=D("4"))
    sale = sell_by_auction(t0=t0, vertical=vertical)
    results = api.get(f"{LIST}{bounty.pk}/awards/").json()["results"]
    assert [(r["sale"], r["lead_id"], r["amount"], r["sale_price"]) for r in results] == [
        (sale.pk, sale.lead_id, "4.000000", "10.000000")
    ]


# ---------------------------------------------------------------- sellers


def test_sellers_see_open_bounties_without_the_buyer_and_their_earnings(vertical, seller, t0):
    bounty = make_bounty(vertical=vertical, amount_per_lead=D("3"), name="Secret buyer plan")
    make_bounty(vertical=make_vertical())
    client = client_for(seller)
    open_ = client.get("/api/v1/bounties/open/", {"vertical": vertical.slug}).json()["results"]
    assert [r["id"] for r in open_] == [bounty.pk]
    assert "buyer" not in open_[0] and "name" not in open_[0] and "Secret" not in str(open_)
    assert open_[0]["amount_per_lead"] == "3.000000"
    sale = sell_by_auction(t0=t0, vertical=vertical, seller=seller)
    earnings = client.get("/api/v1/bounties/earnings/").json()
    assert (earnings["total"], earnings["count"]) == ("3.000000", 1)
    assert earnings["results"][0]["sale"] == sale.pk


def test_the_schema_documents_the_bounty_endpoints(client):
    text = client.get(reverse("api-schema")).content.decode()
    for route in (
        "/api/v1/bounties/",
        "/api/v1/bounties/{id}/",
        "/api/v1/bounties/{id}/fund/",
        "/api/v1/bounties/{id}/withdraw/",
        "/api/v1/bounties/{id}/awards/",
        "/api/v1/bounties/open/",
    ):
        assert route in text, route
