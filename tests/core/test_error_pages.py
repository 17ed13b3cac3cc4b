"""Pages answer errors with the site's own pages (the base template, a message, a way home): never
Django's debug pages with DEBUG off, never JSON. A page over a rate limit answers on itself."""

import re

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


@pytest.mark.urls("tests.core.urls_failing")
def test_an_unexpected_failure_on_a_page_is_the_sites_500(client):
    client.raise_request_exception = False
    html = assert_site_page(client.get("/boom/"), 500, "Something went wrong on our side")
    assert "RuntimeError" not in html


def test_nul_bytes_in_a_page_url_are_the_sites_400(client):
    assert_site_page(client.get("/verticals/?q=a%00b"), 400, "We could not read that request")


def test_an_expired_form_is_the_sites_403():
    client = Client(enforce_csrf_checks=True)
    html = assert_site_page(
        client.post("/accounts/login/", {"username": "a", "password": "b"}), 403, "This form has expired"
    )
    assert "reload the page" in html


def test_too_many_log_in_attempts_are_answered_on_the_log_in_page_with_retry_after(client, settings):
    """A page over its limit says so on itself, in the site's layout, with the form to try again:
    not a bare error page and never JSON (test_ratelimit.py checks the wording and what is typed back)."""
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login": "1/3600s"}
    client.post("/accounts/login/", {"username": "a@example.com", "password": "wrong"})
    response = client.post("/accounts/login/", {"username": "a@example.com", "password": "wrong"})
    assert response.status_code == 429 and response["Content-Type"].startswith("text/html")
    assert 1 <= int(response["Retry-After"]) <= 3600
    html = response.content.decode()
    assert 'class="topbar"' in html and "<h1>Log in</h1>" in html and 'name="password"' in html
    assert re.search(r"Too many log-in attempts from your network\. Try again in \d+ (second|minute)s?\.", html)
    for debug in ("Using the URLconf", "Traceback", "DEBUG = True", "technical_500", "Request Method:"):
        assert debug not in html


def test_healthz_over_its_limit_stays_json(client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "healthz": "1/60s"}
    client.get("/healthz")
    response = client.get("/healthz")
    assert response.status_code == 429 and response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "rate_limited"
