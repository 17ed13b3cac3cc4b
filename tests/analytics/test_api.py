"""/api/v1/analytics/…: the same numbers as the pages, one error envelope for bad ranges and
other roles, every status in the schema."""

from decimal import Decimal as D

import pytest
from django.db.models import Sum
from rest_framework.test import APIClient

from accounts.services import api_key_create
from analytics.rollups import rollups_refresh
from auctions.models import Sale
from leads.models import Lead
from tests.analytics.builders import build_facts

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(user=user, name='analytics').secret}")
    return client


@pytest.fixture
def facts():
    facts = build_facts()
    rollups_refresh()
    return facts


def kpis(body) -> dict:
    return {k["key"]: k for k in body["kpis"]}


def test_the_seller_api_serves_the_pages_numbers(facts, client):
    seller = facts["seller"]
    body = client_for(seller).get("/api/v1/analytics/seller/", {"range": "7d"}).json()
    figures = kpis(body)
    sales = Sale.objects.filter(seller=seller)
    assert figures["received"]["value"] == Lead.objects.filter(seller=seller).count()
    assert figures["revenue"]["value"] == f"{sales.aggregate(s=Sum('price'))['s']:.6f}"
    assert figures["revenue"]["unit"] == "usdc" and figures["revenue"]["label"] == "Revenue"
    assert figures["received"]["previous"] == 0 and figures["received"]["change_percent"] is None
    assert body["period"]["time_zone"] == "UTC" and len(body["series"]["days"]) == 7
    tables = {t["name"]: t for t in body["tables"]}
    assert set(tables) == {"daily", "verticals", "sources", "campaigns", "rejections", "reputation"}
    revenue = sum(D(r["revenue"]) for r in tables["verticals"]["rows"])
    assert revenue == sales.aggregate(s=Sum("price"))["s"]
    # The page shows the same figure.
    client.force_login(seller)
    page = client.get("/dashboard/seller/", {"range": "7d"}).content.decode()
    assert f"{D(figures['revenue']['value']):.2f} USDC" in page


def test_the_buyer_and_staff_apis(facts):
    buyer = kpis(client_for(facts["buyer"]).get("/api/v1/analytics/buyer/").json())
    spend = Sale.objects.filter(buyer=facts["buyer"]).aggregate(s=Sum("price"))["s"]
    assert buyer["spend"]["value"] == f"{spend:.6f}"
    assert buyer["return_on_spend"]["unit"] == "ratio"
    from tests.factories import UserFactory

    staff = kpis(client_for(UserFactory(is_staff=True)).get("/api/v1/analytics/staff/").json())
    assert staff["received"]["value"] == Lead.objects.count()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"range": "1y"}, "range"),
        ({"start": "yesterday", "end": "2026-12-01"}, "start"),
        ({"start": "2026-12-05", "end": "2026-12-01"}, "end"),
        ({"start": "2026-12-05"}, "end"),
        ({"start": "2020-01-01", "end": "2026-12-01"}, "start"),
        ({"start": "9999-12-30", "end": "9999-12-31"}, "start"),
    ],
)
def test_a_bad_range_is_a_400_naming_the_parameter(params, field):
    from tests.factories import UserFactory

    response = client_for(UserFactory(is_seller=True)).get("/api/v1/analytics/seller/", params)
    assert response.status_code == 400
    body = response.json()
    assert [e["param"] for e in body["error"]["errors"]] == [field]
    assert body["request_id"]


@pytest.mark.parametrize("role", ["seller", "buyer", "staff"])
def test_another_role_gets_403_and_no_key_401(role):
    from tests.factories import UserFactory

    nobody = UserFactory(is_seller=False, is_buyer=False)
    response = client_for(nobody).get(f"/api/v1/analytics/{role}/")
    assert response.status_code == 403 and response.json()["error"]["code"] == f"{role}_required"
    assert APIClient().get(f"/api/v1/analytics/{role}/").status_code == 401


def test_the_schema_declares_every_status(client):
    schema = client.get("/api/schema/?format=json").json()
    for role in ("seller", "buyer", "staff"):
        responses = schema["paths"][f"/api/v1/analytics/{role}/"]["get"]["responses"]
        assert {"200", "400", "401", "403", "429"} <= set(responses)


def test_a_blank_parameter_is_a_400_not_the_default():
    from tests.factories import UserFactory

    response = client_for(UserFactory(is_seller=True)).get("/api/v1/analytics/seller/?start=")
    assert response.status_code == 400
    assert [e["param"] for e in response.json()["error"]["errors"]] == ["start"]
