"""The fan-out channel layer against real Redis: two layer instances stand for two server processes."""

import asyncio

import pytest
import redis
from django.conf import settings

from core.live_layer import LiveChannelLayer
from core.metrics import LIVE_DROPPED

pytestmark = pytest.mark.django_db


def _layer(url: str | None = None, **config) -> LiveChannelLayer:
    return LiveChannelLayer(
        hosts=[{"address": url or settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]["address"]}],
        prefix="livetest",
        **config,
    )


def _run(coro):
    return asyncio.run(asyncio.wait_for(coro, timeout=20))


async def _settle():
    await asyncio.sleep(0.05)


async def _receive(layer, channel, timeout=2.0):
    return await asyncio.wait_for(layer.receive(channel), timeout)


async def _nothing(layer, channel, timeout=0.3) -> bool:
    try:
        await asyncio.wait_for(layer.receive(channel), timeout)
    except TimeoutError:
        return True
    return False


def test_one_group_send_reaches_every_member_in_every_process_once():
    async def run():
        a, b = _layer(), _layer()
        members = [await a.new_channel(), await a.new_channel(), await b.new_channel()]
        outsider = await b.new_channel()
        for channel in members:
            await (a if channel.split("!")[0].endswith(a._layer().client_id) else b).group_add(
                "vertical.solar", channel
            )
        await _settle()
        await a.group_send("vertical.solar", {"type": "broadcast.message", "text": "{}", "n": 1})
        got = [await _receive(a, members[0]), await _receive(a, members[1]), await _receive(b, members[2])]
        assert [m["n"] for m in got] == [1, 1, 1]
        assert await _nothing(a, members[0]) and await _nothing(b, outsider)
        await a.flush()
        await b.flush()

    _run(run())


def test_send_to_a_specific_channel_of_another_process():
    async def run():
        a, b = _layer(), _layer()
        channel = await b.new_channel()
        await _settle()
        await a.send(channel, {"type": "healthz.ping", "x": [1, "two"]})
        assert await _receive(b, channel) == {"type": "healthz.ping", "x": [1, "two"]}
        await a.flush()
        await b.flush()

    _run(run())


def test_discarding_the_last_member_unsubscribes_the_process():
    async def run():
        layer = _layer()
        channel = await layer.new_channel()
        await layer.group_add("vertical.roofing", channel)
        client = redis.Redis.from_url(settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]["address"])
        key = layer.group_key("vertical.roofing")
        assert client.pubsub_numsub(key) == [(key.encode(), 1)]
        await layer.group_discard("vertical.roofing", channel)
        assert client.pubsub_numsub(key) == [(key.encode(), 0)]
        await layer.group_send("vertical.roofing", {"type": "x"})
        assert await _nothing(layer, channel)
        await layer.flush()

    _run(run())


def test_a_consumer_that_stops_receiving_leaves_its_groups():
    async def run():
        layer = _layer()
        channel = await layer.new_channel()
        await layer.group_add("vertical.hvac", channel)
        waiter = asyncio.ensure_future(layer.receive(channel))
        await _settle()
        waiter.cancel()  # what Channels does when a consumer stops
        with pytest.raises(asyncio.CancelledError):
            await waiter
        await _settle()
        loop_layer = layer._layer()
        assert "vertical.hvac" not in loop_layer.members and channel not in loop_layer.queues
        await layer.flush()

    _run(run())


def test_a_socket_that_falls_behind_keeps_the_newest_messages():
    async def run():
        layer = _layer(capacity=3)
        channel = await layer.new_channel()
        await layer.group_add("vertical.solar", channel)
        before = LIVE_DROPPED._value.get()
        for n in range(5):
            await layer.group_send("vertical.solar", {"type": "x", "n": n})
        await asyncio.sleep(0.3)
        assert [(await _receive(layer, channel))["n"] for _ in range(3)] == [2, 3, 4]
        assert LIVE_DROPPED._value.get() - before == 2
        await layer.flush()

    _run(run())


def test_deployments_on_one_redis_are_kept_apart_by_database_number():
    base = settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]["address"].rsplit("/", 1)[0]

    async def run():
        mine, theirs = _layer(f"{base}/13"), _layer(f"{base}/14")
        channel = await mine.new_channel()
        await mine.group_add("vertical.solar", channel)
        await theirs.group_send("vertical.solar", {"type": "x"})
        assert await _nothing(mine, channel)
        await mine.flush()
        await theirs.flush()

    _run(run())


def test_synchronous_senders_publish_without_an_event_loop():
    layer = _layer()

    async def run():
        channel = await layer.new_channel()
        await layer.group_add("user.7", channel)
        await asyncio.get_running_loop().run_in_executor(None, lambda: layer.group_send_sync("user.7", {"type": "won"}))
        assert (await _receive(layer, channel))["type"] == "won"
        await layer.flush()

    _run(run())


def test_group_add_refuses_channels_of_other_processes():
    async def run():
        a, b = _layer(), _layer()
        foreign = await b.new_channel()
        with pytest.raises(RuntimeError):
            await a.group_add("vertical.solar", foreign)
        await a.flush()
        await b.flush()

    _run(run())


def test_sinks_are_called_in_place_and_a_waiting_one_holds_up_no_other():
    async def run():
        layer = _layer()
        slow, fast, queued = await layer.new_channel(), await layer.new_channel(), await layer.new_channel()
        gate, got = asyncio.Event(), {"slow": [], "fast": []}

        async def slow_sink(message):
            await gate.wait()  # a socket whose buffer is full
            got["slow"].append(message["n"])

        async def fast_sink(message):
            got["fast"].append(message["n"])

        await layer.register_sink(slow, "broadcast.message", slow_sink)
        await layer.register_sink(fast, "broadcast.message", fast_sink)
        for channel in (slow, fast, queued):
            await layer.group_add("vertical.solar", channel)
        for n in range(3):
            await layer.group_send("vertical.solar", {"type": "broadcast.message", "n": n})
        await asyncio.sleep(0.3)
        assert got == {"slow": [], "fast": [0, 1, 2]}
        assert [(await _receive(layer, queued))["n"] for _ in range(3)] == [0, 1, 2]  # no sink: its queue
        gate.set()
        await asyncio.sleep(0.05)
        assert got["slow"] == [0, 1, 2]  # in order once the socket drains
        await layer.unregister_sink(fast)
        await layer.group_send("vertical.solar", {"type": "broadcast.message", "n": 3})
        assert (await _receive(layer, fast))["n"] == 3  # back to the consumer's queue
        await layer.flush()

    _run(run())


def test_leaving_a_group_forgets_it_entirely():
    async def run():
        layer = _layer()
        channel = await layer.new_channel()
        for user_id in range(50):
            await layer.group_add(f"user.{user_id}", channel)
            await layer.group_discard(f"user.{user_id}", channel)
        loop_layer = layer._layer()
        assert loop_layer.members == {} and loop_layer.keys == {}
        assert loop_layer.subscribed == {layer.inbox_key(loop_layer.client_id)}
        await layer.flush()

    _run(run())


# -- several Redis hosts: every group and every process inbox lives on one of them


def _first_url() -> str:
    return settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]["address"]


def _sharded(second: str) -> LiveChannelLayer:
    return LiveChannelLayer(hosts=[_first_url(), second], prefix="livetest")


def _group_on(layer: LiveChannelLayer, shard: int) -> str:
    return next(f"vertical.v{n}" for n in range(1000) if layer.shard_for(f"vertical.v{n}") == shard)


def _pubsub_channels(url: str, pattern: str) -> set[str]:
    return {name.decode() for name in redis.Redis.from_url(url).pubsub_channels(pattern)}


def test_groups_are_spread_over_the_hosts_and_reach_members_in_every_process(second_redis):
    urls = [_first_url(), second_redis]

    async def run():
        a, b = _sharded(second_redis), _sharded(second_redis)
        groups = [_group_on(a, 0), _group_on(a, 1)]
        members = {group: [await a.new_channel(), await b.new_channel()] for group in groups}
        for group, (in_a, in_b) in members.items():
            await a.group_add(group, in_a)
            await b.group_add(group, in_b)
        # Each group's pub/sub channel is on its own host only.
        for shard, group in enumerate(groups):
            key = a.group_key(group)
            assert key in _pubsub_channels(urls[shard], "livetest:*")
            assert key not in _pubsub_channels(urls[1 - shard], "livetest:*")
        # An outside listener on the second host sees the second group's event: it travelled there.
        spy = redis.asyncio.Redis.from_url(second_redis).pubsub(ignore_subscribe_messages=True)
        await spy.subscribe(a.group_key(groups[1]))
        await _settle()

        for n, group in enumerate(groups):
            await a.group_send(group, {"type": "broadcast.message", "n": n})
        for n, (in_a, in_b) in enumerate(members.values()):
            assert (await _receive(a, in_a))["n"] == n
            assert (await _receive(b, in_b))["n"] == n
        seen = None
        for _ in range(20):  # get_message answers None for the (ignored) subscribe confirmation
            seen = seen or await spy.get_message(timeout=0.1)
        assert seen is not None and seen["channel"].decode() == a.group_key(groups[1])
        await spy.aclose()

        # From synchronous code (views, tasks) too, each group through its host.
        loop = asyncio.get_running_loop()
        for n, group in enumerate(groups):
            await loop.run_in_executor(None, lambda g=group, n=n: b.group_send_sync(g, {"type": "won", "n": 10 + n}))
        for n, (in_a, in_b) in enumerate(members.values()):
            assert (await _receive(a, in_a))["n"] == 10 + n and (await _receive(b, in_b))["n"] == 10 + n
        await a.flush()
        await b.flush()

    _run(run())


def test_send_to_a_specific_channel_reaches_processes_whose_inbox_is_on_either_host(second_redis):
    urls = [_first_url(), second_redis]

    async def run():
        sender = _sharded(second_redis)
        # Processes until both hosts hold an inbox (a process's host follows its random id).
        receivers: dict[int, tuple[LiveChannelLayer, str]] = {}
        spare: list[LiveChannelLayer] = []
        while len(receivers) < 2:
            layer = _sharded(second_redis)
            channel = await layer.new_channel()
            shard = layer.shard_for(layer._layer().client_id)
            if shard in receivers:
                spare.append(layer)
            else:
                receivers[shard] = (layer, channel)
        for shard, (layer, channel) in receivers.items():
            inbox = layer.inbox_key(layer._layer().client_id)
            assert inbox in _pubsub_channels(urls[shard], "livetest:*")
            assert inbox not in _pubsub_channels(urls[1 - shard], "livetest:*")
            await sender.send(channel, {"type": "healthz.ping", "shard": shard})
            assert await _receive(layer, channel) == {"type": "healthz.ping", "shard": shard}
        for layer in [sender, *spare, *(layer for layer, _ in receivers.values())]:
            await layer.flush()

    _run(run())


def test_a_process_connects_only_to_the_hosts_it_needs(second_redis):
    async def run():
        layer = _sharded(second_redis)
        loop_layer = layer._layer()
        inbox_shard = layer.shard_for(loop_layer.client_id)
        await layer.new_channel()
        assert [shard.reader is not None for shard in loop_layer.shards] == [i == inbox_shard for i in range(2)]
        await layer.flush()

    _run(run())
