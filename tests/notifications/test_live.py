"""A notification is pushed live on the user's socket (real channels-redis layer) once it commits."""

import asyncio

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connection, transaction
from django.test import Client

from config.asgi import application
from notifications import services
from notifications.choices import NotificationEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://testserver")


def _session_headers(user) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    return [ORIGIN, (b"cookie", cookie.encode())]


def test_notification_is_pushed_to_the_users_socket_after_commit_only():
    user, other = UserFactory(), UserFactory()
    headers, other_headers = _session_headers(user), _session_headers(other)

    async def run():
        mine = WebsocketCommunicator(application, "/ws/live/", headers=headers)
        theirs = WebsocketCommunicator(application, "/ws/live/", headers=other_headers)
        assert (await mine.connect())[0] and (await theirs.connect())[0]
        assert (await mine.receive_json_from(timeout=5))["type"] == "hello"
        assert (await theirs.receive_json_from(timeout=5))["type"] == "hello"

        def rolled_back():
            try:
                with pytest.raises(RuntimeError), transaction.atomic():
                    services.notify(user_id=user.pk, event=NotificationEvent.WON, title="never", key="gone")
                    raise RuntimeError
            finally:
                connection.close()  # this executor thread's own connection

        def committed():
            try:
                with transaction.atomic():
                    return services.notify(
                        user_id=user.pk,
                        event=NotificationEvent.WON,
                        title="You won auction 3",
                        url="/my/wins/",
                        key="w3",
                    )
            finally:
                connection.close()

        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, rolled_back)
        row = await loop.run_in_executor(None, committed)
        message = await mine.receive_json_from(timeout=5)
        assert message["type"] == "notification.new"
        assert message["id"] == row.pk and message["title"] == "You won auction 3" and message["url"] == "/my/wins/"
        assert message["event"] == "won"
        assert await mine.receive_nothing(timeout=0.3)  # the rolled-back one never went out
        assert await theirs.receive_nothing(timeout=0.3)  # nor to anyone else
        await mine.disconnect()
        await theirs.disconnect()

    asyncio.run(run())
