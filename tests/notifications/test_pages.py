"""The pages: the list (mark one / all read), the header's badge, preferences, one-click unsubscribe."""

from decimal import Decimal

import pytest
from django.urls import reverse

from notifications import selectors, services
from notifications.choices import Channels, NotificationEvent
from notifications.models import NotificationPreference, NotificationSettings
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

E = NotificationEvent


def _notify(user, key, **kwargs):
    return services.notify(user_id=user.pk, event=kwargs.pop("event", E.WON), title=f"Note {key}", key=key, **kwargs)


@pytest.fixture
def logged_in(client):
    user = UserFactory(is_buyer=True)
    client.force_login(user)
    return client, user


def test_list_shows_own_notifications_and_the_badge_counts_unread(logged_in):
    client, user = logged_in
    _notify(user, "a", url="/my/wins/")
    _notify(user, "b")
    _notify(UserFactory(), "theirs")
    response = client.get(reverse("notifications:list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Note a" in html and "Note b" in html and "Note theirs" not in html
    assert 'data-testid="unread-count">2</span>' in html


def test_badge_is_hidden_with_nothing_unread(logged_in):
    client, _ = logged_in
    html = client.get(reverse("notifications:list")).content.decode()
    assert 'data-testid="unread-count" hidden>0</span>' in html


def test_list_pages_by_cursor(logged_in):
    client, user = logged_in
    for n in range(55):
        _notify(user, f"k{n}")
    first = client.get(reverse("notifications:list"))
    assert first.content.decode().count('data-testid="notification"') == 50
    next_url = first.context["next_url"]
    second = client.get(reverse("notifications:list") + next_url)
    assert second.content.decode().count('data-testid="notification"') == 5
    assert not second.context["next_url"]


def test_mark_one_read_and_open_follows_its_link(logged_in):
    client, user = logged_in
    row = _notify(user, "a", url="/my/wins/")
    response = client.post(reverse("notifications:read", args=[row.pk]), {"open": "1"})
    assert response.status_code == 302 and response["Location"] == "/my/wins/"
    assert selectors.unread_count(user_id=user.pk) == 0


def test_mark_read_never_redirects_off_site(logged_in):
    client, user = logged_in
    row = _notify(user, "a", url="https://evil.example/")
    response = client.post(reverse("notifications:read", args=[row.pk]), {"open": "1"})
    assert response["Location"] == reverse("notifications:list")


def test_someone_elses_notification_is_a_404(logged_in):
    client, _ = logged_in
    row = _notify(UserFactory(), "a")
    assert client.post(reverse("notifications:read", args=[row.pk])).status_code == 404


def test_mark_all_read(logged_in):
    client, user = logged_in
    _notify(user, "a")
    _notify(user, "b")
    response = client.post(reverse("notifications:read-all"), follow=True)
    assert response.status_code == 200 and "Marked 2 notifications read." in response.content.decode()
    assert selectors.unread_count(user_id=user.pk) == 0


def test_list_needs_login(client):
    response = client.get(reverse("notifications:list"))
    assert response.status_code == 302 and "/login" in response["Location"]


def test_preferences_page_shows_defaults_and_saves_choices_and_threshold(logged_in):
    client, user = logged_in
    page = client.get(reverse("notifications:preferences"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="won__email" checked' in html and 'name="outbid__email" data-testid' in html  # outbid: no email
    data = {f"{e}__in_app": "on" for e in E.values} | {"won__email": "on", "low_balance_threshold": "25.5"}
    response = client.post(reverse("notifications:preferences"), data)
    assert response.status_code == 302
    assert NotificationPreference.objects.get(user=user, event=E.WON).email is True
    assert NotificationPreference.objects.get(user=user, event=E.LEAD_SOLD).email is False
    assert NotificationSettings.objects.get(user=user).low_balance_threshold == Decimal("25.5")
    assert services.channels_for(user_id=user.pk, event=E.LEAD_SOLD) == Channels(in_app=True, email=False)


def test_preferences_bad_threshold_is_a_400_naming_the_field(logged_in):
    client, _ = logged_in
    response = client.post(reverse("notifications:preferences"), {"low_balance_threshold": "-3"})
    assert response.status_code == 400
    assert response.context["form"].errors.keys() == {"low_balance_threshold"}


def test_unsubscribe_link_works_without_login(client):
    user = UserFactory()
    token = services.unsubscribe_token(user_id=user.pk, event=E.WON)
    url = reverse("notifications:unsubscribe", args=[token])
    page = client.get(url)
    assert page.status_code == 200 and "auction won" in page.content.decode()
    assert services.channels_for(user_id=user.pk, event=E.WON).email  # a GET changes nothing
    done = client.post(url)  # what a mail client's one-click POST does (no CSRF token)
    assert done.status_code == 200 and 'data-testid="unsubscribed"' in done.content.decode()
    assert services.channels_for(user_id=user.pk, event=E.WON) == Channels(in_app=True, email=False)
    assert client.post(url).status_code == 200  # again: still fine


def test_unsubscribe_rfc8058_post_body_with_csrf_checks_on(client):
    from django.test import Client

    user = UserFactory()
    strict = Client(enforce_csrf_checks=True)
    url = reverse("notifications:unsubscribe", args=[services.unsubscribe_token(user_id=user.pk, event=E.LOST)])
    response = strict.post(url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert not services.channels_for(user_id=user.pk, event=E.LOST).email


@pytest.mark.parametrize("method", ["get", "post"])
def test_tampered_unsubscribe_link_is_a_400_page(client, method):
    user = UserFactory()
    token = services.unsubscribe_token(user_id=user.pk, event=E.WON)
    forged = token.replace(
        token.split(":")[0], services.unsubscribe_token(user_id=user.pk + 1, event=E.WON).split(":")[0]
    )
    for bad in (forged, "nonsense", "x" * 400):
        response = getattr(client, method)(reverse("notifications:unsubscribe", args=[bad]))
        assert response.status_code == 400
        assert "not valid" in response.content.decode()
    assert services.channels_for(user_id=user.pk, event=E.WON).email


def test_unsubscribe_for_a_deleted_user_is_a_404(client):
    user = UserFactory()
    url = reverse("notifications:unsubscribe", args=[services.unsubscribe_token(user_id=user.pk, event=E.WON)])
    user.delete()
    assert client.post(url).status_code == 404


def test_admin_lists_notifications_and_preferences(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    user = UserFactory()
    _notify(user, "a")
    services.preferences_update(user=user, choices={E.WON: Channels(in_app=True, email=False)})
    client.force_login(staff)
    for name in ("notification", "notificationpreference", "notificationsettings"):
        assert client.get(reverse(f"admin:notifications_{name}_changelist")).status_code == 200
    response = client.post(
        reverse("admin:notifications_notification_changelist"),
        {"action": "mark_read", "_selected_action": [str(n.pk) for n in user.notifications.all()]},
    )
    assert response.status_code == 302
    assert selectors.unread_count(user_id=user.pk) == 0
