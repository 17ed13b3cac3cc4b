"""Password reset through Django's views, read from real SMTP: request, follow the emailed link,
choose a new password, log in with it; no account enumeration; a refused request says so."""

import re

import pytest
from django.urls import reverse

from tests.factories import UserFactory
from tests.mail import parts

pytestmark = pytest.mark.django_db

OLD, NEW = "correct horse battery staple", "a brand new passphrase 42"
LINK = re.compile(r"https://leads\.example(/password/reset/[^/\s\"]+/[^/\s\"]+/)")


def _request_reset(client, email, **extra):
    return client.post(reverse("password-reset"), {"email": email}, **extra)


def _link_in(message) -> str:
    text, html = parts(message)
    [path] = set(LINK.findall(text))
    assert f"https://leads.example{path}" in html
    return path


def test_the_log_in_page_offers_a_reset(client):
    response = client.get(reverse("login"))
    assert (
        reverse("password-reset") in response.content.decode() and "Forgot your password?" in response.content.decode()
    )


def test_reset_by_email_sets_a_new_password_and_spends_the_link(client, smtp_inbox):
    user = UserFactory(email="pat@example.com")
    # The link is built on SITE_URL, whatever Host the request claimed.
    response = _request_reset(client, "Pat@Example.com", HTTP_HOST="evil.example")
    assert response.status_code == 302 and response["Location"] == reverse("password-reset-done")
    [message] = smtp_inbox.to("pat@example.com")
    assert message["Subject"] == "Reset your Lead Engine password"
    path = _link_in(message)

    response = client.get(path)  # Django moves the token into the session and drops it from the URL
    assert response.status_code == 302 and "set-password" in response["Location"]
    form_url = response["Location"]
    assert "Choose a new password" in client.get(form_url).content.decode()
    response = client.post(form_url, {"new_password1": NEW, "new_password2": NEW})
    assert response.status_code == 302 and response["Location"] == reverse("password-reset-complete")
    assert "Log in with your new password" in client.get(reverse("password-reset-complete")).content.decode()

    assert not client.login(username=user.email, password=OLD)
    assert client.login(username=user.email, password=NEW)
    client.logout()

    # The same link again, from a fresh browser: spent.
    from django.test import Client

    again = Client().get(path, follow=True)
    assert again.status_code == 400 and "This link no longer works" in again.content.decode()


def test_an_unknown_address_gets_the_same_answer_and_no_email(client, smtp_inbox):
    UserFactory(email="known@example.com")
    known = _request_reset(client, "known@example.com", follow=True)
    unknown = _request_reset(client, "nobody@example.com", follow=True)
    assert known.status_code == unknown.status_code == 200
    assert known.redirect_chain == unknown.redirect_chain == [(reverse("password-reset-done"), 302)]
    assert known.content == unknown.content
    assert smtp_inbox.to("nobody@example.com") == [] and len(smtp_inbox.messages) == 1


def test_an_inactive_account_gets_no_email(client, smtp_inbox):
    UserFactory(email="gone@example.com", is_active=False)
    assert _request_reset(client, "gone@example.com").status_code == 302
    assert smtp_inbox.messages == []


def test_a_malformed_address_is_a_field_error(client, smtp_inbox):
    response = _request_reset(client, "not-an-email")
    assert response.status_code == 400 and "email" in response.context["form"].errors
    assert smtp_inbox.messages == []


@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        (NEW, NEW + "x", "The two password fields didn’t match."),
        ("short", "short", "This password is too short."),
        ("password123", "password123", "This password is too common."),
    ],
)
def test_a_bad_new_password_is_a_field_error(client, smtp_inbox, first, second, message):
    user = UserFactory(email="pat@example.com")
    _request_reset(client, user.email)
    form_url = client.get(_link_in(smtp_inbox.to(user.email)[0]))["Location"]
    response = client.post(form_url, {"new_password1": first, "new_password2": second})
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors["new_password2"])
    assert message in response.content.decode().replace("&#x27;", "'")
    assert client.login(username=user.email, password=OLD)  # unchanged


def test_a_tampered_link_is_refused(client):
    user = UserFactory()
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    uid = urlsafe_base64_encode(force_bytes(user.pk))
    response = client.get(reverse("password-reset-confirm", args=[uid, "abc-0123456789abcdef"]))
    assert response.status_code == 400 and "Ask for a new link" in response.content.decode()


def test_too_many_requests_get_a_429_page_that_says_so_and_send_nothing_more(client, settings, smtp_inbox):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "password_reset": "2/3600s"}
    UserFactory(email="pat@example.com")
    for _ in range(2):
        assert _request_reset(client, "pat@example.com").status_code == 302
    response = _request_reset(client, "pat@example.com")
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    text = response.content.decode()
    assert "Too many password reset requests from your network. Try again in" in text
    assert 'value="pat@example.com"' in text  # what was typed is kept
    assert len(smtp_inbox.to("pat@example.com")) == 2
