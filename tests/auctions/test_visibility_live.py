"""One visibility rule on the live socket (issue #10 §3): the group join of an exclusive vertical
admits its listed buyers and staff only (not even the lead's seller: the group carries every
seller's leads), so the previews and price changes broadcast to it reach nobody else. Over the
real channels-redis layer with WebsocketCommunicator."""

import asyncio
from decimal import Decimal as D

import pytest

from auctions.choices import BidSource
from auctions.services.auctions import bid_place
from tests.auctions.factories import funded_buyer, make_auction, make_vertical
from tests.factories import UserFactory
from tests.marketplace.test_consumers import _connect, _session_headers

pytestmark = pytest.mark.django_db(transaction=True)


async def _subscribed(headers, slugs: list[str]):
    communicator = _connect(headers)
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from(timeout=5))["type"] == "hello"
    await communicator.send_json_to({"type": "subscribe", "verticals": slugs})
    reply = await communicator.receive_json_from(timeout=5)
    assert reply["type"] == "subscribed"
    return communicator, reply


def test_only_listed_buyers_and_staff_join_an_exclusive_verticals_group_and_get_its_broadcasts():
    private, public = make_vertical(slug="vip-mortgage"), make_vertical(slug="open-roofing")
    insider, outsider = funded_buyer(), funded_buyer()
    seller = UserFactory(is_seller=True, is_buyer=True)
    staff = UserFactory(is_staff=True)
    private.exclusive_buyers.add(insider)
    slugs = ["vip-mortgage", "open-roofing"]
    headers = {
        name: _session_headers(user)
        for name, user in (("insider", insider), ("outsider", outsider), ("seller", seller), ("staff", staff))
    }

    async def run():
        sockets, replies = {}, {}
        for name, h in headers.items():
            sockets[name], replies[name] = await _subscribed(h, slugs)
        assert replies["insider"]["verticals"] == replies["staff"]["verticals"] == sorted(slugs)
        for name in ("outsider", "seller"):
            assert replies[name]["verticals"] == ["open-roofing"] and replies[name]["unknown"] == ["vip-mortgage"]

        loop = asyncio.get_running_loop()
        # A new auction in each vertical: its non-PII preview is broadcast on commit.
        hidden = await loop.run_in_executor(None, lambda: make_auction(vertical=private, seller=seller))
        shown = await loop.run_in_executor(None, lambda: make_auction(vertical=public))
        for name in ("insider", "staff"):
            got = [await sockets[name].receive_json_from(timeout=5) for _ in range(2)]
            assert {(m["type"], m["auction_id"]) for m in got} == {
                ("lead.listed", hidden.pk),
                ("lead.listed", shown.pk),
            }
        for name in ("outsider", "seller"):
            message = await sockets[name].receive_json_from(timeout=5)
            assert (message["type"], message["auction_id"]) == ("lead.listed", shown.pk)

        # A price change in the hidden auction reaches the group's members only.
        await loop.run_in_executor(
            None, lambda: bid_place(auction_id=hidden.pk, buyer=insider, max_amount=D("25"), source=BidSource.WEB)
        )
        price = await sockets["staff"].receive_json_from(timeout=5)
        assert (price["type"], price["auction_id"]) == ("auction.price", hidden.pk)
        for name in ("outsider", "seller"):
            assert await sockets[name].receive_nothing(timeout=0.5)
        for communicator in sockets.values():
            await communicator.disconnect()

    asyncio.run(run())
