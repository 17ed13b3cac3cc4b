"""Pages answer errors with the site's own pages (the base template, a message, a way home): never
Django's debug pages with DEBUG off, never JSON."""

import pytest
from django.test import Client

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def assert_site_page(response, status: int, heading: str) -> str:
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert 'data-testid="error-page"' in html and heading in html
    assert 'class="topbar"' in html and "Go to the home page" in html  # the site's base template, a way on
    for debug in ("Using the URLconf", "Traceback", "DEBUG = True", "technical_500", "Request Method:"):
        assert debug not in html
    return html


def test_an_unknown_page_is_the_sites_404(client, settings):
    assert settings.DEBUG is False
    assert_site_page(client.get("/no/such/page/"), 404, "We could not find that page")


def test_a_missing_object_page_is_the_sites_404(client):
    client.force_login(UserFactory(is_buyer=True))
    assert_site_page(client.get("/my/purchases/999999/"), 404, "We could not find that page")


@pytest.mark.urls("tests.marketplace.urls_failing")
def test_an_unexpected_failure_on_a_page_is_the_sites_500(client):
    client.raise_request_exception = False
    html = assert_site_page(client.get("/boom/"), 500, "Something went wrong on our side")
    assert "RuntimeError" not in html


def test_nul_bytes_in_a_page_url_are_the_sites_400(client):
    assert_site_page(client.get("/verticals/?q=a%00b"), 400, "We could not read that request")


def test_an_expired_form_is_the_sites_403():
    client = Client(enforce_csrf_checks=True)
    html = assert_site_page(client.post("/accounts/login/", {"username": "a", "password": "b"}), 403,
                            "This form has expired")
    assert "reload the page" in html


def test_too_many_log_in_attempts_get_the_sites_429_with_retry_after(client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login": "1/60s"}
    client.post("/accounts/login/", {"username": "a@example.com", "password": "wrong"})
    response = client.post("/accounts/login/", {"username": "a@example.com", "password": "wrong"})
    html = assert_site_page(response, 429, "Please slow down")
    assert 1 <= int(response["Retry-After"]) <= 60 and "Try again in" in html and "seconds" in html


def test_healthz_over_its_limit_stays_json(client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "healthz": "1/60s"}
    client.get("/healthz")
    response = client.get("/healthz")
    assert response.status_code == 429 and response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "rate_limited"
