"""End to end over two ASGI server processes: channels-redis carries an event from one to the other.

A buyer's bid is posted to server A; a watcher connected to server B's socket receives the
auction.price broadcast that A sent on commit.
"""

import json
import urllib.request

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client

from accounts.services import api_key_create
from tests.asgi_server import AsgiServer
from tests.auctions.factories import funded_buyer, make_auction
from tests.conftest import wait_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def two_servers(tmp_path):
    servers = [AsgiServer(connection.settings_dict["NAME"], tmp_path / f"web-{i}.log") for i in range(2)]
    yield servers
    for server in servers:
        server.stop()


def test_a_bid_posted_to_one_server_reaches_a_socket_on_the_other(two_servers):
    from websockets.sync.client import connect

    server_a, server_b = two_servers
    auction = make_auction()
    slug = auction.lead.vertical.slug
    watcher = UserFactory(is_buyer=True)
    browser = Client()
    browser.force_login(watcher)
    cookie = f"{django_settings.SESSION_COOKIE_NAME}={browser.cookies[django_settings.SESSION_COOKIE_NAME].value}"
    buyer = funded_buyer()
    secret = api_key_create(user=buyer, name="fanout").secret

    with connect(
        f"ws://127.0.0.1:{server_b.port}/ws/live/",
        open_timeout=10,
        additional_headers={"Cookie": cookie, "Origin": f"http://127.0.0.1:{server_b.port}"},
    ) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "hello"
        ws.send(json.dumps({"type": "subscribe", "verticals": [slug]}))
        assert json.loads(ws.recv(timeout=10))["verticals"] == [slug]

        request = urllib.request.Request(
            f"http://127.0.0.1:{server_a.port}/api/v1/auctions/{auction.pk}/bids/",
            method="POST",
            data=json.dumps({"max_amount": "25.00"}).encode(),
            headers={
                "Authorization": f"Api-Key {secret}",
                "Content-Type": "application/json",
                "X-Request-ID": "fanout-cid-1",
            },
        )
        with urllib.request.urlopen(request, timeout=20) as response:
            assert response.status == 201

        def price_event():
            message = json.loads(ws.recv(timeout=10))
            return message if message.get("type") == "auction.price" else None

        event = wait_for(price_event, timeout=20, message="auction.price on the other server")
    assert event["auction_id"] == auction.pk
    assert event["correlation_id"] == "fanout-cid-1"
    assert event["reserve_met"] is True  # the server's rule (auctions.pricing.reserve_met), not the page's
