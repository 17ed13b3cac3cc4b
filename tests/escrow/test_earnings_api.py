"""The earnings API's lists: newest first with a cursor, pinned query counts whatever the number
of sales, and bad filters refused with a 400 naming the parameter (the sales of test_earnings.py:
settlements written in the database, no chain)."""

from datetime import timedelta

import pytest

from tests.api_errors import api_error, error_fields
from tests.escrow.test_earnings import chain_mode, more_pending_sales, sales, seller, t0  # noqa: F401 - fixtures
from tests.escrow.test_purchases_api import client_for

pytestmark = pytest.mark.django_db

LIST, SUMMARY = "/api/v1/earnings/", "/api/v1/earnings/summary/"


def test_the_list_pages_newest_first_with_a_cursor(t0, seller, sales):  # noqa: F811
    more_pending_sales(t0, seller, 3)
    api = client_for(seller)
    url, seen, sizes = f"{LIST}?page_size=2", [], []
    while url:
        body = api.get(url).json()
        sizes.append(len(body["results"]))
        seen += [(row["sold_at"], row["sale_id"]) for row in body["results"]]
        url = body["next"]
    assert sizes == [2, 2, 2] and seen == sorted(seen, reverse=True) and len(set(seen)) == 6
    statuses = {row["status"] for row in api.get(LIST).json()["results"]}
    assert statuses == {"in_escrow", "released"}


def test_the_lists_cost_the_same_queries_with_more_sales(t0, seller, sales, django_assert_num_queries):  # noqa: F811
    api = client_for(seller)
    api.get(LIST)  # the key's first use records last_used_at
    with django_assert_num_queries(1):  # the page (the API key is memoised)
        api.get(LIST)
    with django_assert_num_queries(1):  # one aggregate grouped by day × vertical
        api.get(SUMMARY)
    with django_assert_num_queries(2):  # the vertical named is checked, then the page
        api.get(f"{LIST}?vertical=plain&status=in_escrow")
    more_pending_sales(t0, seller, 4)
    with django_assert_num_queries(1):
        assert len(api.get(LIST).json()["results"]) == 7
    with django_assert_num_queries(1):
        assert api.get(SUMMARY).json()["totals"]["sales"] == 7


@pytest.mark.parametrize(
    ("url", "param"),
    [
        (f"{LIST}?status=lost", "status"),
        (f"{LIST}?vertical=no-such-vertical", "vertical"),
        (f"{LIST}?vertical=not%20a%20slug", "vertical"),
        (f"{LIST}?date_from=2025-13-01", "date_from"),
        (f"{LIST}?date_to=yesterday", "date_to"),
        (f"{LIST}?date_from=2025-02-01&date_to=2025-01-31", "date_from"),
        (f"{LIST}?page_size=0", "page_size"),
        (f"{LIST}?cursor=not-ours", "cursor"),
        (f"{SUMMARY}?date_from=2024-01-01&date_to=2025-12-31", "date_to"),
        (f"{SUMMARY}?date_from=2025-01-01T00:00:00Z", "date_from"),
        (f"{SUMMARY}?vertical=nope", "vertical"),
        (f"{SUMMARY}?vertical=", "vertical"),
        (f"{LIST}?status=", "status"),
        (f"{LIST}?date_from=", "date_from"),
    ],
)
def test_bad_filters_are_refused_naming_the_parameter(seller, url, param):  # noqa: F811
    response = client_for(seller).get(url)
    assert response.status_code == 400 and error_fields(response) == {param}, response.json()


def test_one_end_of_the_summary_range_sets_thirty_days(seller, sales):  # noqa: F811
    body = client_for(seller).get(f"{SUMMARY}?date_from=2025-01-01").json()
    assert (body["date_from"], body["date_to"]) == ("2025-01-01", "2025-01-30")
    assert body["totals"]["sales"] == 0 and body["rows"] == [] and body["totals"]["gross"] == "0.000000"


def test_the_summary_defaults_to_the_last_30_days_in_the_sellers_time_zone(seller, sales):  # noqa: F811
    body = client_for(seller).get(SUMMARY).json()
    rows = body["rows"]
    assert body["time_zone"] == "UTC" and len(rows) == 2  # two verticals sold today (UTC)
    assert body["totals"]["sales"] == 3 and body["totals"]["released"] == "9.300000"  # the split stored at release
    assert body["totals"]["in_escrow"] == "23.800000" and body["totals"]["gross"] == "30.000000"


def test_only_sellers_have_earnings(seller):  # noqa: F811
    from tests.auctions.factories import funded_buyer

    for url in (LIST, SUMMARY):
        refused = client_for(funded_buyer()).get(url)
        assert refused.status_code == 403 and api_error(refused)["code"] == "seller_required"


def test_dates_are_the_sellers_days(t0, seller, sales):  # noqa: F811
    seller.time_zone = "Asia/Tokyo"
    seller.save(update_fields=["time_zone"])
    body = client_for(seller).get(SUMMARY).json()
    assert body["time_zone"] == "Asia/Tokyo"
    assert {r["day"] for r in body["rows"]} == {(t0 + timedelta(hours=9)).date().isoformat()}


def test_the_schema_declares_the_filters_and_the_refusals(client):
    schema = client.get("/api/schema/?format=json").json()
    for path in (LIST, SUMMARY):
        operation = schema["paths"][path]["get"]
        assert {"200", "400", "401", "403", "429"} <= set(operation["responses"])
        params = {p["name"]: p["schema"] for p in operation["parameters"]}
        assert params["date_from"]["format"] == "date" and params["vertical"]["pattern"]
    params = {p["name"]: p["schema"] for p in schema["paths"][LIST]["get"]["parameters"]}
    assert set(params["status"]["enum"]) == {"in_escrow", "disputed", "partly_refunded", "refunded", "released"}
    assert {"cursor", "page_size"} <= set(params)
    sale = schema["components"]["schemas"]["EarningSale"]["properties"]
    assert sale["net"]["pattern"] and sale["dispute_state"]["nullable"] is True
