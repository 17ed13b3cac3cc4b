"""The live pages over a real WebSocket: Chromium against web server processes (config.asgi:application,
test settings, the test database, the Redis channel layer), not the WSGI live_server.

Two servers per test: the *page* server serves the buyer's pages and their socket; the *API* server
takes the other bids over HTTP, so every update the page shows crossed from one process to the
other through Redis.
"""

import json
import re
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from playwright.sync_api import expect

from accounts.services import api_key_create
from tests.asgi_server import AsgiServer
from tests.auctions.factories import funded_buyer, make_auction, make_vertical
from tests.browser.conftest import DEFAULT_TIMEOUT_MS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A pushed update must beat the 5 s poll interval of static/js/live.js; in practice it takes a
# few milliseconds.
PUSH_TIMEOUT_MS = 4_000
# After a restart the page reconnects on its own backoff (1, 2, 4, 8 … s, at most 30 s).
RECOVERY_TIMEOUT_MS = 45_000
STATE_PATH = "/marketplace/state.json"


def off_the_loop(fn, /, **kwargs):
    """Run ORM code that broadcasts on commit in a plain thread: its async_to_sync refuses to run in
    this thread while Playwright's event loop is running here."""

    def call():
        try:
            return fn(**kwargs)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result()


class Servers:
    """Starts web server processes (the Procfile's) on the test database; stops what still runs at teardown."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.started: list[AsgiServer] = []

    def start(self, name: str, port: int | None = None) -> AsgiServer:
        server = AsgiServer(connection.settings_dict["NAME"], self.tmp_path / f"web-{name}.log", port=port)
        self.started.append(server)
        return server

    def stop_all(self) -> None:
        for server in self.started:
            if not server.log.closed:
                server.stop()


@pytest.fixture
def servers(tmp_path):
    servers = Servers(tmp_path)
    yield servers
    servers.stop_all()


@pytest.fixture
def page_server(servers) -> AsgiServer:
    return servers.start("page")


@pytest.fixture
def api_server(servers) -> AsgiServer:
    return servers.start("api")


@pytest.fixture
def context(browser, page_server):
    """Overrides the harness's context: relative URLs go to the page server, not the live server."""
    context = browser.new_context(base_url=page_server.url)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    context.set_default_navigation_timeout(DEFAULT_TIMEOUT_MS)
    yield context
    context.close()


def sign_in(context, user, server: AsgiServer) -> None:
    """A session made in the test process (the servers share its database), handed to the browser."""
    client = Client()
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    context.add_cookies([{"name": name, "value": client.cookies[name].value, "url": server.url}])


def post_bid(server: AsgiServer, *, secret: str, auction_id: int, max_amount: str) -> dict:
    request = urllib.request.Request(
        f"{server.url}/api/v1/auctions/{auction_id}/bids/",
        method="POST",
        data=json.dumps({"max_amount": max_amount}).encode(),
        headers={"Authorization": f"Api-Key {secret}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        assert response.status == 201
        return json.loads(response.read())


def watch(page) -> tuple[list[str], list[str]]:
    """(state polls the page sends, uncaught page errors), filled in as the page runs."""
    polls, errors = [], []
    page.on("request", lambda request: polls.append(request.url) if STATE_PATH in request.url else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return polls, errors


def mark_loaded(page) -> None:
    page.evaluate("window.__loadedOnce = true")


def reloaded(page) -> bool:
    """True if the page was reloaded (or left) since mark_loaded."""
    return not page.evaluate("window.__loadedOnce === true")


@pytest.fixture
def market():
    """An open solar auction; a buyer leading it at 10.00 (maximum 30) and a rival, each with an API key."""
    solar = make_vertical(slug="solar", name="Solar", auction_duration_seconds=600)
    auction = off_the_loop(make_auction, vertical=solar, state="CA", zip="94105", score=77)
    buyer, rival = funded_buyer(), funded_buyer()
    return {
        "auction": auction,
        "buyer": buyer,
        "rival": rival,
        "buyer_key": api_key_create(user=buyer, name="browser").secret,
        "rival_key": api_key_create(user=rival, name="rival").secret,
    }


def test_pages_go_live_on_the_socket_and_show_a_bid_posted_to_another_server(
    page, context, page_server, api_server, market
):
    auction = market["auction"]
    post_bid(api_server, secret=market["buyer_key"], auction_id=auction.pk, max_amount="30")
    sign_in(context, market["buyer"], page_server)
    polls, errors = watch(page)

    page.goto("/marketplace/?vertical=solar")
    indicator = page.get_by_test_id("live-indicator")
    expect(indicator).to_have_text("live")
    row = page.locator(f'[data-auction-id="{auction.pk}"]')
    expect(row.get_by_test_id("row-price")).to_have_text("10.00 USDC")

    # The rival bids below the buyer's maximum: the price moves, the row follows by push.
    post_bid(api_server, secret=market["rival_key"], auction_id=auction.pk, max_amount="20")
    expect(row.get_by_test_id("row-price")).to_have_text("20.50 USDC", timeout=PUSH_TIMEOUT_MS)

    row.get_by_test_id("room-link").click()
    expect(page).to_have_url(re.compile(rf"/auctions/{auction.pk}/$"))
    expect(indicator).to_have_text("live")
    expect(page.get_by_test_id("my-status")).to_contain_text("Leading")
    mark_loaded(page)

    # The rival outbids: price, the buyer's standing, the minimum-bid hint and a feed line arrive
    # without a reload, written as the server writes them.
    post_bid(api_server, secret=market["rival_key"], auction_id=auction.pk, max_amount="45")
    expect(page.get_by_test_id("auction-price")).to_contain_text("30.50 USDC", timeout=PUSH_TIMEOUT_MS)
    expect(page.get_by_test_id("my-status")).to_contain_text("Outbid", timeout=PUSH_TIMEOUT_MS)
    expect(page.get_by_test_id("minimum-bid")).to_contain_text("At least 31.00 USDC", timeout=PUSH_TIMEOUT_MS)
    expect(page.get_by_test_id("live-feed")).to_contain_text("price 30.50 USDC")
    expect(indicator).to_have_text("live")

    assert not reloaded(page)
    assert polls == [], "the pages polled although the socket was up"

    # The buyer outbids the rival from elsewhere (the API, as an autobid rule would): the push names
    # them the leader but not their new maximum, so the room fetches its standing once, and the
    # hint asks for more than that maximum.
    post_bid(api_server, secret=market["buyer_key"], auction_id=auction.pk, max_amount="60")
    expect(page.get_by_test_id("my-status")).to_contain_text("Leading", timeout=PUSH_TIMEOUT_MS)
    expect(page.get_by_test_id("minimum-bid")).to_contain_text("At least 60.000001 USDC", timeout=PUSH_TIMEOUT_MS)
    expect(page.get_by_test_id("my-status")).to_contain_text("Your maximum: 60.00 USDC")
    assert len(polls) == 1 and not reloaded(page)
    assert errors == []


def test_the_room_polls_while_its_server_is_down_and_goes_live_again_caught_up(
    page, context, servers, page_server, api_server, market
):
    auction = market["auction"]
    post_bid(api_server, secret=market["buyer_key"], auction_id=auction.pk, max_amount="30")
    sign_in(context, market["buyer"], page_server)
    polls, errors = watch(page)

    page.goto(f"/auctions/{auction.pk}/")
    indicator = page.get_by_test_id("live-indicator")
    price = page.get_by_test_id("auction-price")
    expect(indicator).to_have_text("live")
    expect(price).to_contain_text("10.00")
    mark_loaded(page)
    assert polls == []

    # The server behind the page goes away: the socket drops and the page falls back to polling
    # (its polls fail too while nothing listens on the port).
    with page.expect_request(lambda request: STATE_PATH in request.url):
        page_server.stop()
    expect(indicator).to_have_text("polling", timeout=PUSH_TIMEOUT_MS)

    # A change the page cannot hear about: no socket, and its polls are refused.
    post_bid(api_server, secret=market["rival_key"], auction_id=auction.pk, max_amount="45")
    expect(price).to_contain_text("10.00")

    # A server comes back on the same port: the page reconnects on its own, goes live and shows
    # what it missed.
    servers.start("page-again", port=page_server.port)
    expect(indicator).to_have_text("live", timeout=RECOVERY_TIMEOUT_MS)
    expect(price).to_contain_text("30.50")
    expect(page.get_by_test_id("my-status")).to_contain_text("Outbid")
    expect(page.get_by_test_id("live-feed")).to_contain_text("price 30.50 USDC")

    # Push flows again: with the poll endpoint blocked, the next change still arrives.
    page.route(f"**{STATE_PATH}*", lambda route: route.abort())
    post_bid(api_server, secret=market["buyer_key"], auction_id=auction.pk, max_amount="60")
    expect(price).to_contain_text("45.50", timeout=PUSH_TIMEOUT_MS)
    expect(page.get_by_test_id("my-status")).to_contain_text("Leading", timeout=PUSH_TIMEOUT_MS)
    expect(indicator).to_have_text("live")
    assert not reloaded(page)
    assert errors == []
