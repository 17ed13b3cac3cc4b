"""/api/v1/notifications/: the list (cursor paging, unread filter), marking read, preferences."""

from decimal import Decimal

import pytest

from notifications import services
from notifications.choices import Channels, NotificationEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

E = NotificationEvent
LIST = "/api/v1/notifications/"
PREFS = "/api/v1/notifications/preferences/"


def _notify(user, key, **kwargs):
    return services.notify(user_id=user.pk, event=kwargs.pop("event", E.WON), title=f"Note {key}", key=key, **kwargs)


def _error_params(response) -> set:
    return {e["param"] for e in response.json()["error"]["errors"]}


def test_list_is_newest_first_and_only_mine(api_client, user):
    first = _notify(user, "a", url="/my/wins/")
    second = _notify(user, "b")
    _notify(UserFactory(), "theirs")
    response = api_client.get(LIST)
    assert response.status_code == 200
    body = response.json()
    assert [r["id"] for r in body["results"]] == [second.pk, first.pk]
    assert body["results"][1] == {
        "id": first.pk,
        "event": "won",
        "title": "Note a",
        "body": "",
        "url": "/my/wins/",
        "created_at": body["results"][1]["created_at"],
        "read_at": None,
    }


def test_list_pages_with_a_cursor(api_client, user):
    for n in range(7):
        _notify(user, f"k{n}")
    page = api_client.get(LIST, {"page_size": 3}).json()
    seen = [r["id"] for r in page["results"]]
    while page["next"]:
        page = api_client.get(page["next"]).json()
        seen += [r["id"] for r in page["results"]]
    assert len(seen) == 7 and len(set(seen)) == 7 and seen == sorted(seen, reverse=True)


def test_list_filters_unread(api_client, user):
    read = _notify(user, "a")
    unread = _notify(user, "b")
    services.notification_mark_read(user=user, notification_id=read.pk)
    assert [r["id"] for r in api_client.get(LIST, {"unread": "true"}).json()["results"]] == [unread.pk]
    assert [r["id"] for r in api_client.get(LIST, {"unread": "false"}).json()["results"]] == [read.pk]


@pytest.mark.parametrize("params", [{"unread": "yes"}, {"page_size": "0"}, {"cursor": "forged"}])
def test_bad_list_parameters_are_a_400_naming_them(api_client, params):
    response = api_client.get(LIST, params)
    assert response.status_code == 400
    assert _error_params(response) == set(params)


def test_list_query_count_is_pinned(api_client, user, django_assert_max_num_queries):
    for n in range(30):
        _notify(user, f"k{n}")
    api_client.get(LIST)  # warm the key cache
    with django_assert_max_num_queries(2):  # the page, and the API key's last use at most
        response = api_client.get(LIST)
    assert len(response.json()["results"]) == 30


def test_mark_one_read(api_client, user):
    row = _notify(user, "a")
    response = api_client.post(f"{LIST}{row.pk}/read/")
    assert response.status_code == 200 and response.json()["read_at"] is not None
    again = api_client.post(f"{LIST}{row.pk}/read/")
    assert again.json()["read_at"] == response.json()["read_at"]


def test_mark_someone_elses_is_a_404_envelope(api_client):
    row = _notify(UserFactory(), "a")
    response = api_client.post(f"{LIST}{row.pk}/read/")
    assert response.status_code == 404 and response.json()["error"]["type"] == "not_found"


def test_mark_all_read(api_client, user):
    _notify(user, "a")
    _notify(user, "b")
    assert api_client.post(f"{LIST}read-all/").json() == {"marked": 2}
    assert api_client.get(LIST, {"unread": "true"}).json()["results"] == []


def test_preferences_get_lists_every_event_with_defaults(api_client):
    body = api_client.get(PREFS).json()
    assert [e["event"] for e in body["events"]] == list(E.values)
    outbid = next(e for e in body["events"] if e["event"] == "outbid")
    assert outbid == {"event": "outbid", "label": "Outbid", "in_app": True, "email": False}
    assert body["low_balance_threshold"] is None


def test_preferences_put_sets_listed_events_and_the_threshold(api_client, user):
    response = api_client.put(
        PREFS,
        {"events": [{"event": "won", "in_app": False, "email": True}], "low_balance_threshold": "20.5"},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert next(e for e in body["events"] if e["event"] == "won")["in_app"] is False
    assert body["low_balance_threshold"] == "20.500000"
    assert services.channels_for(user_id=user.pk, event=E.WON) == Channels(in_app=False, email=True)
    # The threshold omitted: unchanged; null: cleared.
    api_client.put(PREFS, {"events": []}, format="json")
    assert services.low_balance_threshold(user_id=user.pk) == Decimal("20.5")
    api_client.put(PREFS, {"events": [], "low_balance_threshold": None}, format="json")
    assert services.low_balance_threshold(user_id=user.pk) is None


@pytest.mark.parametrize(
    ("body", "params"),
    [
        ({"events": [{"event": "nope", "in_app": True, "email": True}]}, {"events.0.event"}),
        ({"events": [{"event": "won", "in_app": "yes", "email": True}]}, {"events.0.in_app"}),
        ({"events": [{"event": "won"}]}, {"events.0.in_app", "events.0.email"}),
        ({"events": [], "low_balance_threshold": "-1"}, {"low_balance_threshold"}),
        ({"low_balance_threshold": "1"}, {"events"}),
        ({"events": "won"}, {"events"}),
    ],
)
def test_bad_preferences_are_a_400_naming_the_fields(api_client, body, params):
    response = api_client.put(PREFS, body, format="json")
    assert response.status_code == 400
    assert _error_params(response) == params


def test_anonymous_is_a_401(client):
    assert client.get(LIST).status_code == 401
