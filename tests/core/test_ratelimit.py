import json
import re
import threading

import pytest
from django.http import HttpResponse
from django.test import override_settings
from django.urls import reverse

from accounts.models import User
from core import ratelimit
from core.ratelimit import Rate, hit
from tests.api_errors import api_error
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_1001st_api_request_in_a_window_gets_429_with_retry_after(api_client, settings):
    assert settings.RATE_LIMITS["api"] == "1000/60s"  # the documented default
    for _ in range(1000):
        assert api_client.get("/api/v1/me/").status_code == 200
    response = api_client.get("/api/v1/me/")
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "throttled" in api_error(response)["message"].lower() or "request" in api_error(response)["message"].lower()


def test_limits_are_per_api_key(api_client, user, settings):
    from rest_framework.test import APIClient

    from accounts.services import api_key_create

    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "api": "3/60s"}
    for _ in range(3):
        assert api_client.get("/api/v1/me/").status_code == 200
    assert api_client.get("/api/v1/me/").status_code == 429
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(user=user, name='second').secret}")
    assert other.get("/api/v1/me/").status_code == 200


def test_window_slides_rather_than_resetting_at_a_boundary():
    rate = Rate(limit=10, window_seconds=10)
    t0 = 1_000_000_000_000
    for i in range(10):  # ten requests late in one "fixed" window
        assert hit(scope="t", identity="slide", rate=rate, now_ms=t0 + 9_000 + i).allowed
    # A fixed window would reset at t0+10s; the sliding window still counts all ten.
    refused = hit(scope="t", identity="slide", rate=rate, now_ms=t0 + 10_500)
    assert not refused.allowed and refused.retry_after == 9
    # Exactly one request (at t0+9s) has left the window at t0+19s: one more is admitted.
    assert hit(scope="t", identity="slide", rate=rate, now_ms=t0 + 19_000).allowed
    assert not hit(scope="t", identity="slide", rate=rate, now_ms=t0 + 19_000).allowed


def test_concurrent_hits_never_admit_more_than_the_limit():
    rate = Rate(limit=25, window_seconds=60)
    admitted = []
    barrier = threading.Barrier(10)

    def worker():
        barrier.wait()
        for _ in range(10):
            admitted.append(hit(scope="race", identity="one", rate=rate).allowed)

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(admitted) == 25


def test_embedded_in_process_limiter_behaves_the_same():
    rate = Rate(limit=2, window_seconds=1)
    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}):
        assert ratelimit.get_redis() is None
        assert [hit(scope="e", identity="x", rate=rate, now_ms=5000 + i).allowed for i in range(3)] == [
            True,
            True,
            False,
        ]
        assert hit(scope="e", identity="x", rate=rate, now_ms=6001).allowed


def test_the_decorator_answers_in_the_api_envelope_on_any_path(rf, settings):
    """One mechanism each: the decorator is for machine endpoints (JSON wherever it is mounted),
    pages answer on themselves through check() and limited()."""
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "healthz": "1/60s"}
    view = ratelimit.rate_limit("healthz", key="ip")(lambda request: HttpResponse("ok"))
    assert view(rf.get("/some/page/")).status_code == 200
    response = view(rf.get("/some/page/"))
    assert response.status_code == 429 and response["Content-Type"] == "application/json"
    assert json.loads(response.content)["error"]["code"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 60


def test_login_page_is_limited_per_ip(client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login": "3/3600s"}
    for _ in range(3):
        assert client.post(reverse("login"), {"username": "x@example.com", "password": "nope"}).status_code == 200
    response = client.post(reverse("login"), {"username": "x@example.com", "password": "nope"})
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1


def test_a_limited_log_in_says_so_on_the_log_in_page_and_does_not_try_the_password(client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login": "1/3600s"}
    user = UserFactory(email="kim@gmail.com")
    client.post(reverse("login"), {"username": "kim@gmail.com", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "kim@gmail.com", "password": "correct horse battery staple"})
    assert response.status_code == 429 and response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert re.search(r"Too many log-in attempts from your network\. Try again in \d+ (second|minute)s?\.", html)
    assert 'value="kim@gmail.com"' in html and "correct horse" not in html  # typed back, never the password
    assert "_auth_user_id" not in client.session and user.last_login is None


def test_a_limited_sign_up_says_so_on_the_sign_up_page_and_creates_nobody(client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "signup": "1/3600s"}
    client.post(reverse("signup"), {"email": "not-an-email"})
    response = client.post(
        reverse("signup"),
        {
            "email": "ines@gmail.com",
            "full_name": "Inès",
            "password": "pw-12345678",
            "time_zone": "UTC",
            "is_buyer": "on",
        },
    )
    assert response.status_code == 429 and 1 <= int(response["Retry-After"]) <= 3600
    html = response.content.decode()
    assert re.search(r"Too many sign-ups from your network\. Try again in \d+ (second|minute)s?\.", html)
    assert 'value="ines@gmail.com"' in html and "pw-12345678" not in html
    assert not User.objects.filter(email="ines@gmail.com").exists()


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (1, "1 second"),
        (42, "42 seconds"),
        (60, "1 minute"),
        (61, "2 minutes"),
        (3600, "60 minutes"),
        (7200, "2 hours"),
        (7201, "3 hours"),
    ],
)
def test_the_wait_is_said_in_words(seconds, text):
    assert ratelimit.wait_text(seconds) == text


@pytest.mark.parametrize("text", ["", "10", "0/10s", "ten/10s", "10/0s"])
def test_bad_rate_strings_are_rejected(text):
    with pytest.raises(ValueError):
        Rate.parse(text)
