"""Email confirmation: the link in the welcome email, the banner with "send the link again", what
an unconfirmed address does not get, and the admin's view of it; mail read from real SMTP."""

import re
import time

import pytest
from django.core import signing
from django.urls import reverse

from accounts import services
from accounts.models import User
from notifications import services as notifications
from notifications.choices import EmailStatus, NotificationEvent
from notifications.models import Notification
from tests.factories import UserFactory
from tests.mail import parts

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https://leads\.example(/account/email/confirm/[^/\s\"]+/)")
SIGNUP = {
    "email": "New.Seller@Example.com",
    "password": "a-long-enough-passphrase",
    "time_zone": "America/Chicago",
    "is_seller": "on",
}


def _link_in(message) -> str:
    text, html = parts(message)
    [path] = set(LINK.findall(text))
    assert f"https://leads.example{path}" in html
    return path


@pytest.fixture
def unconfirmed(client):
    user = UserFactory(email="fresh@example.com", email_verified_at=None, is_seller=True)
    client.force_login(user)
    return user


def test_sign_up_emails_a_link_that_confirms_the_address(client, smtp_inbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("signup"), SIGNUP, follow=True)
    assert "Confirm your email with the link we sent to new.seller@example.com" in response.content.decode()
    user = User.objects.get(email="new.seller@example.com")
    assert user.email_verified_at is None
    assert response.context["user"].pk == user.pk and 'data-testid="verify-banner"' in response.content.decode()

    [message] = smtp_inbox.to("new.seller@example.com")
    assert message["Subject"] == "Welcome to Lead Engine"
    response = client.get(_link_in(message))
    assert response.status_code == 200 and "new.seller@example.com</strong> is confirmed" in response.content.decode()
    assert 'data-testid="verify-banner"' not in response.content.decode()
    user.refresh_from_db()
    assert user.email_verified_at is not None
    # The link again: still fine, nothing changes.
    first = user.email_verified_at
    assert client.get(_link_in(message)).status_code == 200
    user.refresh_from_db()
    assert user.email_verified_at == first
    assert 'data-testid="verify-banner"' not in client.get(reverse("account")).content.decode()


def test_the_link_works_without_logging_in(client, smtp_inbox):
    user = UserFactory(email_verified_at=None)
    services.user_verification_email_send(user_id=user.pk)
    response = client.get(_link_in(smtp_inbox.to(user.email)[0]))
    assert response.status_code == 200 and reverse("login") in response.content.decode()
    user.refresh_from_db()
    assert user.email_verified


def test_the_banner_shows_on_signed_in_pages_until_confirmed(client, unconfirmed):
    for url in (reverse("account"), reverse("home"), reverse("wallet")):
        text = client.get(url).content.decode()
        assert 'data-testid="verify-banner"' in text and "fresh@example.com" in text, url
        assert reverse("email-verify-resend") in text
    client.logout()
    assert 'data-testid="verify-banner"' not in client.get(reverse("home")).content.decode()
    client.force_login(UserFactory())
    assert 'data-testid="verify-banner"' not in client.get(reverse("home")).content.decode()


def test_send_the_link_again_emails_a_new_link_and_goes_back(
    client, unconfirmed, smtp_inbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("email-verify-resend"), {"next": reverse("wallet")})
    assert response.status_code == 302 and response["Location"] == reverse("wallet")
    [message] = smtp_inbox.to("fresh@example.com")
    assert message["Subject"] == "Confirm your email address for Lead Engine"
    assert client.get(_link_in(message)).status_code == 200
    unconfirmed.refresh_from_db()
    assert unconfirmed.email_verified
    # Confirmed: asking again sends nothing.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("email-verify-resend"))
    assert len(smtp_inbox.to("fresh@example.com")) == 1


def test_send_again_never_redirects_off_site_and_needs_a_post(client, unconfirmed, smtp_inbox):
    response = client.post(reverse("email-verify-resend"), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("account")
    assert client.get(reverse("email-verify-resend")).status_code == 405


def test_send_again_is_rate_limited_with_a_429_page(
    client, unconfirmed, smtp_inbox, settings, django_capture_on_commit_callbacks
):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "email_verify_resend": "1/3600s"}
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("email-verify-resend")).status_code == 302
        response = client.post(reverse("email-verify-resend"))
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert "We have sent you several links already. Try again in" in response.content.decode()
    assert len(smtp_inbox.to("fresh@example.com")) == 1


def test_a_tampered_or_foreign_link_is_a_400_page(client, unconfirmed):
    token = services.email_verify_token(user=unconfirmed)
    for bad in (token[:-2] + "xx", "nonsense", signing.TimestampSigner(salt="other").sign_object({"u": 1})):
        response = client.get(reverse("email-verify", args=[bad]))
        assert response.status_code == 400 and "This link does not work" in response.content.decode()
    unconfirmed.refresh_from_db()
    assert not unconfirmed.email_verified


def test_an_old_link_has_expired(client, unconfirmed):
    class WeekAndADayAgo(signing.TimestampSigner):
        def timestamp(self):
            return signing.b62_encode(int(time.time()) - 8 * 24 * 3600)

    token = WeekAndADayAgo(salt=services.EMAIL_VERIFY_SALT).sign_object({"u": unconfirmed.pk, "e": unconfirmed.email})
    response = client.get(reverse("email-verify", args=[token]))
    assert response.status_code == 400 and "This link has expired" in response.content.decode()


def test_changing_the_address_in_admin_clears_confirmation_and_spends_old_links(client, staff):
    user = UserFactory(email="old@example.com")
    old_link = reverse("email-verify", args=[services.email_verify_token(user=user)])
    client.force_login(staff)
    change = reverse("admin:accounts_user_change", args=[user.pk])
    response = client.post(
        change,
        {
            "email": "new@example.com",
            "full_name": user.full_name,
            "company_name": user.company_name,
            "time_zone": user.time_zone,
            "is_active": "on",
            "api_keys-TOTAL_FORMS": "0",
            "api_keys-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.email == "new@example.com" and user.email_verified_at is None
    assert client.get(old_link).status_code == 400  # sent to the old address


def test_admin_lists_and_filters_by_confirmation(client, staff):
    UserFactory(email="yes@example.com")
    UserFactory(email="no@example.com", email_verified_at=None)
    client.force_login(staff)
    url = reverse("admin:accounts_user_changelist")
    text = client.get(url).content.decode()
    assert "Email confirmed" in text and "Not confirmed" in text
    unconfirmed = client.get(url, {"email_confirmed": "no"}).content.decode()
    assert "no@example.com" in unconfirmed and "yes@example.com" not in unconfirmed
    confirmed = client.get(url, {"email_confirmed": "yes"}).content.decode()
    assert "yes@example.com" in confirmed and "no@example.com" not in confirmed


def test_a_password_reset_by_email_confirms_the_address(client, smtp_inbox):
    user = UserFactory(email="forgot@example.com", email_verified_at=None)
    client.post(reverse("password-reset"), {"email": user.email})
    [message] = smtp_inbox.to(user.email)
    [path] = re.findall(r"https://leads\.example(/password/reset/\S+/\S+/)", parts(message)[0])
    form_url = client.get(path)["Location"]
    client.post(form_url, {"new_password1": "a brand new passphrase 42", "new_password2": "a brand new passphrase 42"})
    user.refresh_from_db()
    assert user.email_verified


def test_an_unconfirmed_address_gets_no_notification_emails(smtp_inbox, django_capture_on_commit_callbacks):
    confirmed, unconfirmed = UserFactory(), UserFactory(email_verified_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        for user in (confirmed, unconfirmed):
            notifications.notify(user_id=user.pk, event=NotificationEvent.WON, title="You won auction 7", key="w")
    assert len(smtp_inbox.to(confirmed.email)) == 1
    assert smtp_inbox.to(unconfirmed.email) == []
    row = Notification.objects.get(user=unconfirmed)
    assert row.in_app and row.email_status == EmailStatus.NONE  # still in the app; the email is dropped


def test_an_unconfirmed_address_gets_no_digest_and_no_notice(smtp_inbox, django_capture_on_commit_callbacks):
    seller = UserFactory(is_seller=True, email_verified_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        notifications.notify(user_id=seller.pk, event=NotificationEvent.LEAD_SOLD, title="Lead 1 sold", key="s1")
    assert notifications.digest_send_due() == 0
    assert Notification.objects.get(user=seller).email_status == EmailStatus.NONE
    assert services.user_notice_send(user_id=seller.pk, subject="Bids withdrawn", message="…") is False
    assert smtp_inbox.messages == []
