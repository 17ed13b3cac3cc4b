"""The live socket over the real channels-redis layer."""

import asyncio

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client, override_settings

from accounts.services import api_key_create
from config.asgi import application
from core import correlation
from core.broadcast import group_send_now
from core.groups import user_group, vertical_group
from tests.factories import UserFactory, VerticalFactory

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://testserver")


def _session_headers(user) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    return [ORIGIN, (b"cookie", cookie.encode())]


def _connect(headers):
    return WebsocketCommunicator(application, "/ws/live/", headers=headers)


def test_anonymous_socket_is_refused():
    async def run():
        communicator = _connect([ORIGIN])
        connected, code = await communicator.connect()
        assert not connected and code == 4401

    asyncio.run(run())


def test_session_user_subscribes_to_verticals_and_receives_their_broadcasts():
    user = UserFactory(is_buyer=True)
    VerticalFactory(slug="solar")
    headers = _session_headers(user)

    async def run():
        communicator = _connect(headers)
        connected, _ = await communicator.connect()
        assert connected
        hello = await communicator.receive_json_from(timeout=5)
        assert hello["type"] == "hello" and hello["user_id"] == user.pk

        await communicator.send_json_to(
            {"type": "subscribe", "verticals": ["solar", "no-such"], "correlation_id": "sub-1"}
        )
        reply = await communicator.receive_json_from(timeout=5)
        assert reply == {
            "type": "subscribed",
            "verticals": ["solar"],
            "unknown": ["no-such"],
            "correlation_id": "sub-1",
        }

        def send():
            token = correlation.set("cid-broadcast-7")
            try:
                group_send_now(group=vertical_group("solar"), payload={"type": "lead.listed", "lead_id": 1})
            finally:
                correlation.reset(token)

        await asyncio.get_running_loop().run_in_executor(None, send)
        message = await communicator.receive_json_from(timeout=5)
        assert message == {"type": "lead.listed", "lead_id": 1, "correlation_id": "cid-broadcast-7"}

        await communicator.send_json_to({"type": "unsubscribe", "verticals": ["solar"]})
        assert (await communicator.receive_json_from(timeout=5))["verticals"] == []
        await communicator.disconnect()

    asyncio.run(run())


def test_api_key_socket_gets_private_user_messages_and_heartbeats():
    user = UserFactory(is_buyer=True)
    secret = api_key_create(user=user, name="ws").secret

    async def run():
        communicator = _connect([ORIGIN, (b"authorization", f"Api-Key {secret}".encode())])
        connected, _ = await communicator.connect()
        assert connected
        await communicator.receive_json_from(timeout=5)  # hello
        await communicator.send_json_to({"type": "ping"})
        pong = await communicator.receive_json_from(timeout=5)
        assert pong["type"] == "pong" and pong["correlation_id"]
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: group_send_now(group=user_group(user.pk), payload={"type": "outbid", "auction_id": 3})
        )
        assert (await communicator.receive_json_from(timeout=5))["type"] == "outbid"
        await communicator.disconnect()

    asyncio.run(run())


@pytest.mark.parametrize(
    "message",
    [{"type": "subscribe", "verticals": "solar"}, {"type": "dance"}, {"type": "subscribe", "verticals": ["x"] * 101}],
)
def test_bad_messages_get_an_error_not_a_crash(message):
    user = UserFactory()
    headers = _session_headers(user)

    async def run():
        communicator = _connect(headers)
        await communicator.connect()
        await communicator.receive_json_from(timeout=5)
        await communicator.send_json_to(message)
        reply = await communicator.receive_json_from(timeout=5)
        assert reply["type"] == "error"
        await communicator.send_json_to({"type": "ping"})  # still alive
        assert (await communicator.receive_json_from(timeout=5))["type"] == "pong"
        await communicator.disconnect()

    asyncio.run(run())


def test_exclusive_and_inactive_verticals_are_not_subscribable_by_outsiders():
    from verticals.choices import VerticalStatus

    outsider, listed = UserFactory(is_buyer=True), UserFactory(is_buyer=True)
    VerticalFactory(slug="open-vertical")
    exclusive = VerticalFactory(slug="private-vertical")
    exclusive.exclusive_buyers.add(listed)
    VerticalFactory(slug="old-vertical", status=VerticalStatus.DEPRECATED)

    async def subscribe(headers):
        communicator = _connect(headers)
        await communicator.connect()
        await communicator.receive_json_from(timeout=5)
        await communicator.send_json_to(
            {"type": "subscribe", "verticals": ["open-vertical", "private-vertical", "old-vertical"]}
        )
        reply = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return reply

    assert asyncio.run(subscribe(_session_headers(outsider)))["verticals"] == ["open-vertical"]
    assert asyncio.run(subscribe(_session_headers(listed)))["verticals"] == ["open-vertical", "private-vertical"]


def test_a_vertical_made_exclusive_stops_being_served_from_the_public_cache_within_its_ttl():
    from verticals import selectors as vertical_selectors
    from verticals.selectors import vertical_public_slugs, vertical_public_slugs_cached

    vertical = VerticalFactory(slug="turns-exclusive")
    assert "turns-exclusive" in vertical_public_slugs()
    vertical.exclusive_buyers.add(UserFactory(is_buyer=True))
    assert "turns-exclusive" in vertical_public_slugs_cached()  # still fresh: served from memory
    fetched_at, slugs = vertical_selectors._PUBLIC_SLUGS
    vertical_selectors._PUBLIC_SLUGS = (fetched_at - vertical_selectors.PUBLIC_SLUGS_TTL - 1, slugs)
    assert vertical_public_slugs_cached() is None
    assert "turns-exclusive" not in vertical_public_slugs()


def test_the_socket_works_on_channels_redis_pubsub_layer_without_sinks():
    """The live bench compares channels-redis's RedisPubSubChannelLayer (no register_sink): the
    consumer then takes broadcasts through Channels' ordinary dispatch."""
    user = UserFactory(is_buyer=True)
    VerticalFactory(slug="solar")
    secret = api_key_create(user=user, name="ws").secret
    layers = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {**settings.CHANNEL_LAYERS["default"]["CONFIG"], "prefix": "consumertest"},
        }
    }

    async def run():
        communicator = _connect([ORIGIN, (b"authorization", f"Api-Key {secret}".encode())])
        assert (await communicator.connect())[0]
        await communicator.receive_json_from(timeout=5)  # hello
        await communicator.send_json_to({"type": "subscribe", "verticals": ["solar"]})
        assert (await communicator.receive_json_from(timeout=5))["verticals"] == ["solar"]
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(
            None, lambda: group_send_now(group=vertical_group("solar"), payload={"type": "lead.listed", "lead_id": 2})
        )
        assert (await communicator.receive_json_from(timeout=5))["lead_id"] == 2
        await loop.run_in_executor(
            None, lambda: group_send_now(group=user_group(user.pk), payload={"type": "outbid", "auction_id": 3})
        )
        assert (await communicator.receive_json_from(timeout=5))["type"] == "outbid"
        await communicator.disconnect()

    with override_settings(CHANNEL_LAYERS=layers):
        asyncio.run(run())
