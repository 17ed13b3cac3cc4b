"""Accounts, as a user sees them: sign up, log out and in, API keys."""

import re

import pytest
from playwright.sync_api import expect

from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSPHRASE = "a-long-enough-passphrase"


def test_sign_up_lands_on_account_page(page):
    page.goto("/")
    page.get_by_role("link", name="Sign up").click()
    expect(page).to_have_url(re.compile(r"/accounts/signup/$"))

    page.get_by_label("Email").fill("new.buyer@example.com")
    page.get_by_label("Password").fill(PASSPHRASE)
    page.get_by_label("I buy leads").check()
    page.get_by_role("button", name="Sign up").click()

    expect(page).to_have_url(re.compile(r"/account/$"))
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    expect(page.get_by_text("Welcome to Lead Engine. Your account is ready.")).to_be_visible()
    expect(page.get_by_test_id("account-link")).to_have_text("new.buyer@example.com")
    expect(page.get_by_text("roles: buyer")).to_be_visible()
    # Until the emailed link is opened: the banner, and the first step of the checklist open.
    expect(page.get_by_test_id("verify-banner")).to_contain_text("new.buyer@example.com")
    expect(page.get_by_test_id("first-run")).to_contain_text("0 of 4 done")


def test_sign_up_requires_a_role(page):
    page.goto("/accounts/signup/")
    page.get_by_label("Email").fill("undecided@example.com")
    page.get_by_label("Password").fill(PASSPHRASE)
    page.get_by_role("button", name="Sign up").click()

    expect(page.get_by_role("alert")).to_contain_text("Choose at least one")
    expect(page.get_by_role("banner").get_by_role("link", name="Log in")).to_be_visible()  # still anonymous
    expect(page.get_by_test_id("account-link")).to_have_count(0)


def test_log_out_and_back_in(page, log_in):
    user = UserFactory(is_buyer=True)
    log_in(page, user)

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_test_id("account-link")).to_have_count(0)
    expect(page.get_by_role("banner").get_by_role("link", name="Log in")).to_be_visible()

    # The account page is private again: it sends us to the login form.
    page.goto("/account/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/account/$"))

    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url(re.compile(r"/account/$"))
    expect(page.get_by_test_id("account-link")).to_have_text(user.email)


def test_wrong_password_is_refused(page):
    user = UserFactory()
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("alert")).to_contain_text("enter a correct")
    expect(page.get_by_test_id("account-link")).to_have_count(0)


def test_api_key_lifecycle(page, log_in, api_request):
    user = UserFactory(is_seller=True)
    log_in(page, user)
    page.goto("/account/")

    page.locator("#id_key_name").fill("CRM sync")
    page.get_by_role("button", name="Create API key").click()

    secret_box = page.get_by_test_id("new-key-secret")
    expect(secret_box).to_be_visible()
    expect(page.get_by_test_id("new-key")).to_contain_text("CRM sync")
    secret = secret_box.inner_text().strip()
    assert secret.startswith("le_")

    row = page.get_by_test_id("api-key-row").filter(has_text="CRM sync")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Active")

    # The key alone authenticates: this client has no session cookie.
    auth = {"Authorization": f"Api-Key {secret}"}
    assert api_request.get("/api/v1/me/").status == 401
    response = api_request.get("/api/v1/me/", headers=auth)
    assert response.status == 200, response.text()
    assert user.email in response.text()

    # Shown once: a reload no longer reveals it.
    page.reload()
    expect(page.get_by_test_id("account-link")).to_have_text(user.email)
    expect(row).to_have_count(1)
    expect(page.get_by_test_id("new-key-secret")).to_have_count(0)
    assert secret not in page.content()

    row.get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("revoked. Requests using it now get 401.")).to_be_visible()
    expect(row).to_contain_text("Revoked")
    expect(row.get_by_role("button", name="Revoke")).to_have_count(0)

    assert api_request.get("/api/v1/me/", headers=auth).status == 401
