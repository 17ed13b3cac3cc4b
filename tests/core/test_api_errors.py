"""Every error under /api/ is the one JSON envelope with the request id, whatever fails: DRF's own
errors, Django's 404 for unknown paths and bad ids, bodies refused before DRF reads them, NUL bytes,
the rate limiter, an unexpected exception. Pagination parameters are checked on every list."""

import pytest
from rest_framework.test import APIClient

from accounts.services import api_key_create
from core.paging import cursor_dumps
from tests.api_errors import api_error, error_params
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(user=user, name='t').secret}")
    return client


@pytest.fixture
def api(db):
    return client_for(UserFactory(is_buyer=True, is_seller=True))


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/nope/",
        "/api/v1/asks/abc/",
        "/api/v1/leads/1/extra/",
        "/api/nope",
        "/api/v1/auctions/99999999999999999999999/",
    ],
)
def test_unknown_paths_and_bad_ids_under_api_are_a_json_404(api, path):
    response = api.get(path)
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    error = api_error(response)
    assert (error["type"], error["code"], error["param"], error["errors"]) == ("not_found", "not_found", None, [])


def test_the_request_id_is_the_callers_when_sent(api):
    response = api.get("/api/v1/nope/", HTTP_X_REQUEST_ID="my-trace-42")
    assert response.json()["request_id"] == response["X-Request-ID"] == "my-trace-42"


def test_a_missing_key_is_a_401_with_the_challenge():
    response = APIClient().get("/api/v1/me/")
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Api-Key"
    assert (api_error(response)["type"], api_error(response)["code"]) == ("authentication", "not_authenticated")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/asks/"),
        ("post", "/api/v1/leads/"),
        ("get", "/api/v1/autobid-rules/"),
        ("post", "/api/v1/bounties/"),
    ],
)
def test_role_refusals_are_403(method, path):
    seller, buyer = client_for(UserFactory(is_seller=True)), client_for(UserFactory(is_buyer=True))
    client = seller if "autobid" in path or "bounties" in path else buyer
    response = getattr(client, method)(path, {}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == 403
    assert api_error(response)["type"] == "permission" and api_error(response)["code"].endswith("_required")


def test_malformed_json_is_a_400_parse_error(api):
    response = api.generic("POST", "/api/v1/asks/", b'{"vertical": ', content_type="application/json")
    assert response.status_code == 400 and api_error(response)["code"] == "parse_error"


@pytest.mark.parametrize("content_type", ["multipart/form-data; boundary=x", "multipart/form-data", "application/json"])
def test_an_empty_body_of_any_type_is_a_json_400_naming_the_missing_fields(api, content_type):
    response = api.generic("POST", "/api/v1/asks/", b"", content_type=content_type)
    assert response.status_code == 400
    assert error_params(response)["vertical"] == ["This field is required."]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (
            b'--x\r\nContent-Disposition: form-data; name="vertical"\r\n\r\nsolar\r\n--x--\r\n',
            "multipart/form-data; boundary=x",
        ),
        # more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS: a 158 KB debug page before
        ("&".join(f"f{i}=1" for i in range(5000)).encode(), "application/x-www-form-urlencoded"),
        (b"vertical=solar", "application/x-www-form-urlencoded"),
        (b"<lead/>", "application/xml"),
    ],
)
def test_bodies_that_are_not_json_are_a_json_415(api, body, content_type):
    response = api.generic("POST", "/api/v1/asks/", body, content_type=content_type)
    assert response.status_code == 415 and len(response.content) < 2000
    assert (api_error(response)["type"], api_error(response)["code"]) == ("invalid_request", "unsupported_media_type")


def test_a_request_django_refuses_before_any_view_is_a_json_400_under_api(api, settings):
    """Django's own 400s (here a Host header it refuses) reach no API view; under /api/ they are the
    envelope too, never Django's HTML page."""
    settings.ALLOWED_HOSTS = ["testserver"]
    response = api.get("/api/v1/me/", HTTP_HOST="evil.example")
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    assert api_error(response)["code"] == "bad_request"


def test_nul_bytes_in_the_url_are_a_400_naming_the_parameter(api):
    response = api.get("/api/v1/auctions/?state=C%00A")
    assert response.status_code == 400
    assert (api_error(response)["code"], api_error(response)["param"]) == ("nul_character", "state")
    assert api.get("/api/v1/auc%00tions/").status_code == 400


def test_an_unsupported_method_is_a_405_with_allow(api):
    response = api.put("/api/v1/asks/", {}, format="json")
    assert response.status_code == 405 and "GET" in response["Allow"]
    assert api_error(response)["code"] == "method_not_allowed"


def test_the_rate_limiter_answers_429_with_retry_after_in_the_envelope(api, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "api": "2/60s"}
    for _ in range(2):
        assert api.get("/api/v1/me/").status_code == 200
    response = api.get("/api/v1/me/")
    assert response.status_code == 429
    error = api_error(response)
    assert (error["type"], error["code"]) == ("rate_limit", "throttled")
    assert error["retry_after"] == int(response["Retry-After"]) >= 1


@pytest.mark.urls("tests.core.urls_failing")
def test_an_unexpected_failure_is_a_json_500_with_the_request_id(client):
    client.raise_request_exception = False
    response = client.get("/api/v1/boom/", HTTP_X_REQUEST_ID="boom-1")
    assert response.status_code == 500 and response["Content-Type"] == "application/json"
    error = api_error(response)
    assert (error["type"], error["code"]) == ("api_error", "internal_error")
    assert response.json()["request_id"] == "boom-1" and "RuntimeError" not in response.content.decode()


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/asks/",
        "/api/v1/ledger/",
        "/api/v1/verticals/",
        "/api/v1/purchases/",
        "/api/v1/auctions/",
        "/api/v1/buy-now/",
        "/api/v1/bounties/",
        "/api/v1/deposits/",
        "/api/v1/withdrawals/",
        "/api/v1/autobid-rules/",
        "/api/v1/bounties/open/",
        "/api/v1/leads/",
    ],
)
@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("page_size=abc", "page_size"),
        ("page_size=0", "page_size"),
        ("page_size=201", "page_size"),
        ("cursor=garbage", "cursor"),
        ("cursor=" + cursor_dumps({"o": 0, "r": False, "p": "not-a-date"}, kind="api"), "cursor"),
    ],
)  # the second cursor is signed (core.paging) but names a position the ordering field refuses
def test_every_list_checks_its_pagination_parameters(api, path, query, param):
    if path == "/api/v1/verticals/" and query.startswith("cursor=") and query != "cursor=garbage":
        pytest.skip("verticals page by slug: any position is one")
    response = api.get(f"{path}?{query}")
    assert response.status_code == 400, response.content
    assert api_error(response)["param"] == param and error_params(response)[param]


def test_a_good_page_size_and_cursor_page_through(api):
    from tests.factories import VerticalFactory

    VerticalFactory.create_batch(3)
    first = api.get("/api/v1/verticals/?page_size=2").json()
    second = api.get(first["next"]).json()
    assert len(first["results"]) == 2 and len(second["results"]) == 1


def test_with_debug_on_an_unknown_api_path_is_still_the_json_envelope(api, settings):
    settings.DEBUG = True
    response = api.get("/api/v1/nope/")
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert api_error(response)["code"] == "not_found" and "URLconf" not in response.content.decode()
