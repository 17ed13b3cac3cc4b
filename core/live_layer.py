"""A Channels layer built for fan-out: one Redis subscription per server process and group.

channels-redis's default layer stores group membership in Redis and, on group_send, serializes
and queues the message once per member channel; each server process then pops its messages one
by one. That costs O(members) Redis work and serialization per event, which caps one event to
10,000 sockets at seconds. This layer keeps the Channels API (new_channel, send, receive,
group_add, group_discard, group_send, flush) and changes the plumbing:

- group_send publishes the message once (msgpack) to the group's Redis pub/sub channel;
- each process subscribes once per group it has local members in, decodes each message once and
  hands the same dict to every local member's queue (handlers must not mutate messages);
- send() to a specific channel publishes to its process's inbox channel, so a message reaches
  the right process wherever it was sent from (the health check's round trip goes through Redis);
- a consumer may register a *sink* for one message type (LiveConsumer does, for broadcasts): the
  reader then calls it in place instead of queueing the message and waking the consumer's task.
  Channels' dispatch loop costs tens of microseconds per message and socket (a task, a wait, a
  thread hop to close database connections); at 5,000 sockets a process that is a quarter of a
  second per event. A sink that must wait (a socket whose buffer is full) continues in its own
  task, so one slow client never holds up the others.

Delivery is at most once, like any broadcast: a process that is not subscribed (restarting, or
Redis down) misses the message. The live pages therefore re-read state when their socket
reconnects, and nothing that must not be lost (money, bids) travels through this layer. A
consumer that falls `capacity` messages behind loses its oldest queued message, counted in
`leadengine_live_dropped_total`.

Several hosts share the load: every configured Redis carries the pub/sub channels of some groups
and of some processes' inboxes, chosen by channels-redis's own consistent hash of the group name
(or the process id), the one its layers use. A process opens one pub/sub connection per host it
needs (lazily) and one reader per host; publishing goes to the one host of the group. Changing
the list of hosts moves groups between hosts, so every process of a deployment must be given
the same list (restart them together). Pub/sub is global to a Redis server, not per database:
channel names carry the prefix and the database number of their host, so two deployments (or two
test suites) on one Redis stay apart when either differs.
"""

import asyncio
import logging
import types
import uuid

import msgpack
import redis
from channels.exceptions import ChannelFull  # noqa: F401  (part of the layer contract)
from channels.layers import BaseChannelLayer
from channels_redis.utils import _consistent_hash, create_pool, decode_hosts
from redis import asyncio as aioredis

from core.metrics import LIVE_DROPPED

logger = logging.getLogger(__name__)


def _pack(message: dict) -> bytes:
    return msgpack.packb(message, use_bin_type=True)


def _unpack(data: bytes):
    return msgpack.unpackb(data, raw=False)


class LiveChannelLayer(BaseChannelLayer):
    extensions = ["groups", "flush"]

    def __init__(
        self,
        hosts=None,
        prefix: str = "asgi",
        capacity: int = 100,
        expiry: int = 60,
        channel_capacity=None,
        group_expiry: int = 86400,
        **kwargs,
    ):
        super().__init__(expiry=expiry, capacity=capacity, channel_capacity=channel_capacity)
        self.hosts = decode_hosts(hosts)
        self.prefixes = [f"{prefix}:{_db(host)}" for host in self.hosts]  # one per host
        self._loops: dict[asyncio.AbstractEventLoop, _LoopLayer] = {}
        self._sync_clients: dict[int, redis.Redis] = {}

    # -- names: every Redis channel lives on one host (`shard_for` its name)

    def shard_for(self, name: str) -> int:
        """The host (index into hosts) of a group, a process inbox or a general channel."""
        return _consistent_hash(name, len(self.hosts))

    def group_key(self, group: str) -> str:
        return f"{self.prefixes[self.shard_for(group)]}:g:{group}"

    def inbox_key(self, client_id: str) -> str:
        return f"{self.prefixes[self.shard_for(client_id)]}:p:{client_id}"

    def general_key(self, channel: str) -> str:
        return f"{self.prefixes[self.shard_for(channel)]}:c:{channel}"

    def route_for_channel(self, channel: str) -> tuple[int, str, bytes | None]:
        """The host and Redis channel a message for `channel` is published to, and whether it needs
        wrapping (a specific channel travels inside its process's inbox)."""
        if "!" in channel:
            client_id = channel.split("!", 1)[0].rsplit(".", 1)[-1]
            return self.shard_for(client_id), self.inbox_key(client_id), channel.encode()
        return self.shard_for(channel), self.general_key(channel), None

    # -- the per-event-loop part (asyncio objects belong to one loop)

    def _layer(self) -> "_LoopLayer":
        loop = asyncio.get_running_loop()
        layer = self._loops.get(loop)
        if layer is None:
            layer = self._loops[loop] = _LoopLayer(self)
            self._close_with(loop)
        return layer

    def _close_with(self, loop) -> None:
        """Close this loop's Redis connections when the loop closes (async_to_sync makes a loop per call)."""
        original = loop.close

        def close(this, *args, **kwargs):
            layer = self._loops.pop(loop, None)
            if layer is not None and not loop.is_running():
                loop.run_until_complete(layer.close())
            this.close = original
            return original(*args, **kwargs)

        loop.close = types.MethodType(close, loop)

    async def new_channel(self, prefix: str = "specific") -> str:
        return await self._layer().new_channel(prefix)

    async def send(self, channel: str, message: dict) -> None:
        assert self.require_valid_channel_name(channel)
        await self._layer().publish(*self._envelope(channel, message))

    async def receive(self, channel: str) -> dict:
        assert self.require_valid_channel_name(channel)
        return await self._layer().receive(channel)

    async def group_add(self, group: str, channel: str) -> None:
        assert self.require_valid_group_name(group) and self.require_valid_channel_name(channel)
        await self._layer().group_add(group, channel)

    async def group_discard(self, group: str, channel: str) -> None:
        assert self.require_valid_group_name(group) and self.require_valid_channel_name(channel)
        await self._layer().group_discard(group, channel)

    async def group_send(self, group: str, message: dict) -> None:
        assert self.require_valid_group_name(group)
        await self._layer().publish(self.shard_for(group), self.group_key(group), _pack(message))

    async def register_sink(self, channel: str, message_type: str, sink) -> None:
        """Deliver `message_type` messages for local `channel` by calling `await sink(message)`
        in the reader, not through receive(). Returns at once; removed with the channel."""
        self._layer().sinks[channel] = (message_type, sink)

    async def unregister_sink(self, channel: str) -> None:
        self._layer().sinks.pop(channel, None)

    async def flush(self) -> None:
        layer = self._loops.pop(asyncio.get_running_loop(), None)
        if layer is not None:
            await layer.close()

    # -- from synchronous code (views, tasks): no event loop per message

    def group_send_sync(self, group: str, message: dict) -> None:
        assert self.require_valid_group_name(group)
        self._sync(self.shard_for(group)).publish(self.group_key(group), _pack(message))

    def _sync(self, shard: int) -> redis.Redis:
        client = self._sync_clients.get(shard)
        if client is None:
            host = dict(self.hosts[shard])
            address = host.pop("address", None)
            host.pop("max_connections", None)
            client = redis.Redis.from_url(address, **host) if address else redis.Redis(**host)
            self._sync_clients[shard] = client
        return client

    def _envelope(self, channel: str, message: dict) -> tuple[int, str, bytes]:
        shard, key, wrapped = self.route_for_channel(channel)
        return shard, key, _pack([wrapped.decode(), message] if wrapped else message)


def _db(host: dict) -> int:
    address = host.get("address", "")
    return int(redis.connection.parse_url(address).get("db", 0) if address else host.get("db", 0))


async def _finish(coro, awaited) -> None:
    """Continue a coroutine that was started by hand and suspended on `awaited` (what a Task
    would do): wait for what it waits on, resume it, repeat until it returns."""
    try:
        while True:
            if awaited is None:  # a bare yield (asyncio.sleep(0))
                await asyncio.sleep(0)
            else:
                awaited._asyncio_future_blocking = False
                try:
                    await awaited
                except BaseException:  # the coroutine sees the outcome itself when resumed
                    if asyncio.current_task().cancelling():
                        raise
            try:
                awaited = coro.send(None)
            except StopIteration:
                return
    except Exception as exc:  # noqa: BLE001 - a failed sink is the socket gone; its consumer cleans up
        logger.debug("live layer: sink failed: %r", exc)
    finally:
        coro.close()


class _Shard:
    """One Redis host as one event loop sees it: a client to publish with, and one pub/sub
    connection with its reader (both connect on first use, so a host this process never
    needs costs no connection)."""

    def __init__(self, owner: "_LoopLayer", index: int):
        self.owner = owner
        self.prefix = owner.parent.prefixes[index]
        self.general = f"{self.prefix}:c:"
        self.redis = aioredis.Redis(connection_pool=create_pool(owner.parent.hosts[index]))
        self.pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        self.subscribed: set[str] = set()
        self.lock = asyncio.Lock()
        self.reader: asyncio.Task | None = None

    async def subscribe(self, key: str) -> None:
        if key in self.subscribed:  # the common case (every receive): no lock, no await
            return
        async with self.lock:
            if key not in self.subscribed:
                await self.pubsub.subscribe(key)
                self.subscribed.add(key)
                if self.reader is None:
                    self.reader = asyncio.ensure_future(self._read())

    async def unsubscribe(self, key: str) -> None:
        async with self.lock:
            if key in self.subscribed:
                self.subscribed.discard(key)
                await self.pubsub.unsubscribe(key)

    async def _read(self) -> None:
        while True:
            try:
                message = await self.pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis went away: redis-py reconnects and resubscribes on the next read
                logger.warning("live layer: pub/sub read failed; retrying", exc_info=True)
                await asyncio.sleep(0.5)
                continue
            if message is None or message.get("type") != "message":
                continue
            key = message["channel"]
            try:
                self.owner.dispatch(self, key.decode() if isinstance(key, bytes) else key, message["data"])
            except Exception:
                logger.exception("live layer: undeliverable message on %s", key)

    async def close(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
            try:
                await self.reader
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - the reader is being torn down; whatever it raised is moot
                pass
        try:
            await self.pubsub.aclose()
        finally:
            await self.redis.aclose(close_connection_pool=True)


class _LoopLayer:
    """State for one event loop: local channel queues, local group members, one pub/sub
    connection and reader per Redis host."""

    def __init__(self, parent: LiveChannelLayer):
        self.parent = parent
        self.client_id = uuid.uuid4().hex
        self.queues: dict[str, asyncio.Queue] = {}
        self.members: dict[str, set[str]] = {}  # group -> local channels
        self.memberships: dict[str, set[str]] = {}  # channel -> groups (to clean up after a crash)
        self.shards = [_Shard(self, index) for index in range(len(parent.hosts))]
        self.inbox = parent.inbox_key(self.client_id)
        self.inbox_shard = self.shards[parent.shard_for(self.client_id)]
        self.keys: dict[str, str] = {}  # Redis channel -> group name
        self.sinks: dict[str, tuple[str, object]] = {}  # channel -> (message type, async callable)
        self.waiting: set[asyncio.Task] = set()  # sinks that had to wait for their socket

    @property
    def subscribed(self) -> set[str]:
        """Every Redis channel this loop listens to, on any host."""
        return set().union(*(shard.subscribed for shard in self.shards))

    async def publish(self, shard: int, key: str, data: bytes) -> None:
        await self.shards[shard].redis.publish(key, data)

    def _group_shard(self, group: str) -> _Shard:
        return self.shards[self.parent.shard_for(group)]

    def _queue(self, channel: str) -> asyncio.Queue:
        queue = self.queues.get(channel)
        if queue is None:
            queue = self.queues[channel] = asyncio.Queue()
        return queue

    async def new_channel(self, prefix: str) -> str:
        await self.inbox_shard.subscribe(self.inbox)
        channel = f"{prefix}.{self.client_id}!{uuid.uuid4().hex}"
        self._queue(channel)
        return channel

    async def receive(self, channel: str) -> dict:
        if "!" in channel:
            await self.inbox_shard.subscribe(self.inbox)
        else:
            await self.shards[self.parent.shard_for(channel)].subscribe(self.parent.general_key(channel))
        queue = self._queue(channel)
        try:
            return await queue.get()
        except asyncio.CancelledError:
            # Channels cancels a consumer's receive when the consumer stops: forget the channel.
            self._forget(channel)
            raise

    def _forget(self, channel: str) -> None:
        self.queues.pop(channel, None)
        self.sinks.pop(channel, None)
        for group in self.memberships.pop(channel, set()):
            members = self.members.get(group)
            if members is not None:
                members.discard(channel)
                if not members:
                    del self.members[group]
                    self.keys.pop(self.parent.group_key(group), None)
                    asyncio.ensure_future(self._group_shard(group).unsubscribe(self.parent.group_key(group)))

    async def group_add(self, group: str, channel: str) -> None:
        if "!" not in channel or not channel.split("!", 1)[0].endswith(self.client_id):
            raise RuntimeError(
                "LiveChannelLayer.group_add takes channels of this process only "
                "(self.channel_layer.group_add(group, self.channel_name) in a consumer)."
            )
        self._queue(channel)
        self.members.setdefault(group, set()).add(channel)
        self.memberships.setdefault(channel, set()).add(group)
        key = self.parent.group_key(group)
        self.keys[key] = group
        await self._group_shard(group).subscribe(key)

    async def group_discard(self, group: str, channel: str) -> None:
        members = self.members.get(group)
        if not members or channel not in members:
            return
        members.discard(channel)
        self.memberships.get(channel, set()).discard(group)
        if not members:
            del self.members[group]
            self.keys.pop(self.parent.group_key(group), None)  # one entry per user ever seen would add up
            await self._group_shard(group).unsubscribe(self.parent.group_key(group))

    def _deliver(self, channel: str, message: dict) -> None:
        queue = self.queues.get(channel)
        if queue is None:
            return
        if queue.qsize() >= self.parent.get_capacity(channel):
            queue.get_nowait()  # a consumer this far behind keeps the newest messages
            LIVE_DROPPED.inc()
        queue.put_nowait(message)

    def _sink_call(self, sink, message: dict) -> None:
        """Run `sink(message)` now, up to its first wait; if it has to wait, finish it in a task."""
        coro = sink(message)
        try:
            awaited = coro.send(None)
        except StopIteration:
            return
        except Exception as exc:  # noqa: BLE001 - the socket went away meanwhile: its consumer cleans up
            logger.debug("live layer: sink failed: %r", exc)
            return
        task = asyncio.ensure_future(_finish(coro, awaited))
        self.waiting.add(task)
        task.add_done_callback(self.waiting.discard)

    def dispatch(self, shard: _Shard, key: str, data: bytes) -> None:
        message = _unpack(data)
        group = self.keys.get(key)
        if group is not None:
            kind = message.get("type")
            for channel in tuple(self.members.get(group, ())):
                sink = self.sinks.get(channel)
                if sink is not None and sink[0] == kind:
                    self._sink_call(sink[1], message)
                else:
                    self._deliver(channel, message)
        elif key == self.inbox:
            channel, message = message
            self._deliver(channel, message)
        elif key.startswith(shard.general):  # a general channel: the name after the prefix
            self._deliver(key.removeprefix(shard.general), message)
        # else: a group this process just left (the message crossed its UNSUBSCRIBE)

    async def close(self) -> None:
        for task in tuple(self.waiting):
            task.cancel()
        for shard in self.shards:
            await shard.close()
