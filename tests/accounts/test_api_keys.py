import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import ApiKey
from accounts.services import api_key_authenticate, api_key_create, api_key_revoke
from tests.api_errors import api_error

pytestmark = pytest.mark.django_db


def test_api_key_is_stored_hashed_and_identified_by_prefix(user):
    issued = api_key_create(user=user, name="crm")
    stored = ApiKey.objects.get(pk=issued.api_key.pk)
    assert issued.secret.startswith(f"le_{stored.prefix}_")
    assert issued.secret not in (stored.hashed_key, stored.prefix)
    assert len(stored.hashed_key) == 64
    assert api_key_authenticate(raw=issued.secret).pk == stored.pk


def test_api_key_lists_verticals_and_records_last_use(api_client, api_key):
    assert api_key.api_key.last_used_at is None
    response = api_client.get("/api/v1/verticals/")
    assert response.status_code == 200
    api_key.api_key.refresh_from_db()
    assert api_key.api_key.last_used_at is not None


def test_revoked_key_gets_401_with_challenge(api_client, api_key):
    api_key_revoke(api_key=api_key.api_key)
    response = api_client.get("/api/v1/verticals/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Api-Key"
    assert "revoked" in api_error(response)["message"]


@pytest.mark.parametrize("header", ["Api-Key", "Api-Key le_nope_nope", "Api-Key a b", "Api-Key " + "x" * 500])
def test_bad_keys_get_401_never_500(header):
    client = APIClient()
    response = client.get("/api/v1/verticals/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401


def test_anonymous_api_request_gets_401():
    assert APIClient().get("/api/v1/verticals/").status_code == 401


def test_me_endpoint_shows_the_key_owner(api_client, user):
    body = api_client.get("/api/v1/me/").json()
    assert body["email"] == user.email


def test_account_page_creates_key_shown_once_and_revokes_it(client, user):
    client.force_login(user)
    response = client.post(reverse("api-key-create"), {"name": "My CRM"}, follow=True)
    secret = response.context["new_key"]["secret"]
    assert secret.encode() in response.content
    # Shown once: the next view of the page no longer carries it.
    again = client.get(reverse("account"))
    assert secret.encode() not in again.content
    key = ApiKey.objects.get(user=user)
    assert APIClient().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Api-Key {secret}").status_code == 200
    client.post(reverse("api-key-revoke", args=[key.pk]))
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert APIClient().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Api-Key {secret}").status_code == 401


def test_cannot_revoke_another_users_key(client, user):
    from tests.factories import UserFactory

    other_key = api_key_create(user=UserFactory(), name="theirs").api_key
    client.force_login(user)
    assert client.post(reverse("api-key-revoke", args=[other_key.pk])).status_code == 404
    other_key.refresh_from_db()
    assert other_key.revoked_at is None


def test_a_new_keys_secret_is_never_stored_server_side_and_its_cookie_is_opaque(client, user):
    client.force_login(user)
    response = client.post(reverse("api-key-create"), {"name": "My CRM"})
    cookie = response.cookies["le_new_key"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/account/"
    page = client.get(reverse("account"))
    secret = page.context["new_key"]["secret"]
    assert secret not in cookie.value  # encrypted, not just signed
    assert all(secret not in str(value) for value in client.session.values())
    assert page.cookies["le_new_key"].value == ""  # deleted once read
    assert "no-store" in page["Cache-Control"]


def test_a_tampered_or_foreign_new_key_cookie_shows_nothing(client, user):
    from tests.factories import UserFactory

    other = UserFactory()
    client.force_login(other)
    client.post(reverse("api-key-create"), {"name": "theirs"})
    token = client.cookies["le_new_key"].value
    client.force_login(user)
    client.cookies["le_new_key"] = token  # another user's (e.g. a shared browser)
    assert client.get(reverse("account")).context["new_key"] is None
    client.cookies["le_new_key"] = token[:-4] + "AAAA"
    assert client.get(reverse("account")).context["new_key"] is None
