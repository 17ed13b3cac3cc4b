"""The OpenAPI schema tells the truth: every error status an operation can answer, with the shared
error envelope; nullable fields, bounds, required headers and the real shapes of responses.
(tests/core/test_api_contract_fuzz.py checks the running server against it.)"""

import re

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

ENVELOPE = "#/components/schemas/ErrorEnvelope"


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        return APIClient().get("/api/schema/?format=json").json()


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def test_every_operation_declares_its_error_statuses_with_the_envelope(schema):
    for method, path, operation in operations(schema):
        responses = operation["responses"]
        expected = {"400", "401", "429"} | ({"404"} if "{" in path else set())
        if method in ("POST", "PATCH") and "requestBody" in operation:
            expected |= {"413", "415"}
        assert expected <= set(responses), (method, path, sorted(responses))
        for status, response in responses.items():
            if int(status) >= 400:
                assert response["content"]["application/json"]["schema"]["$ref"] == ENVELOPE, (method, path, status)
        assert "Retry-After" in responses["429"]["headers"]


@pytest.mark.parametrize(
    ("method", "path", "statuses"),
    [
        ("POST", "/api/v1/leads/", {"403", "404", "409", "422"}),
        ("POST", "/api/v1/auctions/{id}/bids/", {"403", "409"}),
        ("POST", "/api/v1/buy-now/{id}/purchase/", {"403", "409", "422"}),
        ("POST", "/api/v1/asks/", {"403", "404", "409"}),
        ("GET", "/api/v1/autobid-rules/", {"403"}),
        ("POST", "/api/v1/withdrawals/", {"409", "422", "503"}),
        ("POST", "/api/v1/bounties/", {"403", "404", "409", "422"}),
    ],
)
def test_operations_declare_the_refusals_they_make(schema, method, path, statuses):
    assert statuses <= set(schema["paths"][path][method.lower()]["responses"])


def test_the_envelope_is_one_shared_component(schema):
    components = schema["components"]["schemas"]
    assert components["ErrorEnvelope"]["required"] == ["error", "request_id"]
    error = components["Error"]
    assert {"type", "code", "message", "param", "errors"} <= set(error["required"])
    assert error["properties"]["param"]["nullable"] is True


def test_list_and_bulk_responses_are_objects(schema):
    leads = schema["paths"]["/api/v1/leads/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    bulk = schema["paths"]["/api/v1/leads/bulk/"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert leads == {"$ref": "#/components/schemas/LeadPage"} and bulk == {"$ref": "#/components/schemas/BulkResult"}
    assert schema["components"]["schemas"]["BulkInputRequest"]["properties"]["leads"]["minItems"] == 1


def test_nullable_fields_say_so(schema):
    components = schema["components"]["schemas"]
    assert components["Vertical"]["properties"]["parent"]["nullable"] is True
    assert components["Lead"]["properties"]["duplicate_of"]["nullable"] is True
    assert {"$ref": "#/components/schemas/BlankEnum"} in components["Auction"]["properties"]["result"]["oneOf"]


def test_query_bounds_and_pagination_are_declared(schema):
    params = {p["name"]: p["schema"] for p in schema["paths"]["/api/v1/auctions/"]["get"]["parameters"]}
    assert (params["min_score"]["minimum"], params["min_score"]["maximum"]) == (0, 100)
    assert (params["page_size"]["minimum"], params["page_size"]["maximum"]) == (1, 200)
    assert params["cursor"]["format"] == "cursor"


def test_idempotency_keys_are_required_where_the_server_requires_them(schema):
    def header(method, path):
        return next(p for p in schema["paths"][path][method]["parameters"] if p["name"] == "Idempotency-Key")

    for method, path in [
        ("post", "/api/v1/buy-now/{id}/purchase/"),
        ("post", "/api/v1/withdrawals/"),
        ("post", "/api/v1/bounties/"),
        ("post", "/api/v1/bounties/{id}/fund/"),
    ]:
        assert header(method, path)["required"] is True and header(method, path)["schema"]["minLength"] == 1
    assert header("post", "/api/v1/leads/").get("required", False) is False


def test_amount_patterns_refuse_empty_and_signed_strings(schema):
    amount = schema["components"]["schemas"]["BidInputRequest"]["properties"]["max_amount"]
    pattern = re.compile(amount["pattern"])
    assert not any(pattern.search(text) for text in ("", ".", "-1", "0", "0.000", "1.1234567", "1e3", " 1"))
    assert all(pattern.search(text) for text in ("1", "12.50", "0.000001", "999999999999.999999"))
