"""The live socket: clients subscribe to verticals and get their private notices.

Client → server: {"type": "subscribe", "verticals": ["solar", ...]}, {"type": "unsubscribe", ...},
{"type": "ping"}. Server → client: every message carries "correlation_id".
"""

import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from core import correlation
from core.groups import user_group, vertical_group
from core.metrics import WEBSOCKETS
from verticals.selectors import vertical_public_slugs, vertical_public_slugs_cached, vertical_slugs_watchable

logger = logging.getLogger(__name__)
MAX_SUBSCRIPTIONS = 100


@database_sync_to_async
def _checked_vertical_slugs(slugs: list[str], user) -> list[str]:
    """Active verticals this user may watch: the one rule (verticals.selectors.vertical_watchable_q;
    an exclusive vertical admits only its listed buyers, and staff)."""
    return vertical_slugs_watchable(slugs=slugs, user=user)


async def _subscribable_vertical_slugs(slugs: list[str], user) -> list[str]:
    """The common case — public verticals — from a short-lived in-process set; the rest (exclusive,
    inactive, unknown) from the database."""
    public = vertical_public_slugs_cached()
    if public is None:
        public = await database_sync_to_async(vertical_public_slugs)()
    rest = [slug for slug in slugs if slug not in public]
    return [slug for slug in slugs if slug in public] + (await _checked_vertical_slugs(rest, user) if rest else [])


class LiveConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.user_id = user.pk
        self.subscriptions: set[str] = set()
        self.connection_id = correlation.new_id()
        await self.channel_layer.group_add(user_group(self.user_id), self.channel_name)
        await self.accept()
        register_sink = getattr(self.channel_layer, "register_sink", None)
        if register_sink is not None:  # broadcasts go straight to the socket (core/live_layer.py)
            await register_sink(self.channel_name, "broadcast.message", self._forward)
        WEBSOCKETS.inc()
        self.counted = True
        await self.send_json({"type": "hello", "user_id": self.user_id, "correlation_id": self.connection_id})

    async def disconnect(self, code):
        if not hasattr(self, "user_id"):
            return
        if getattr(self, "counted", False):
            WEBSOCKETS.dec()
        unregister_sink = getattr(self.channel_layer, "unregister_sink", None)
        if unregister_sink is not None:
            await unregister_sink(self.channel_name)
        await self.channel_layer.group_discard(user_group(self.user_id), self.channel_name)
        for slug in list(self.subscriptions):
            await self.channel_layer.group_discard(vertical_group(slug), self.channel_name)

    async def receive_json(self, content, **kwargs):
        cid = correlation.clean(content.get("correlation_id") if isinstance(content, dict) else None)
        token = correlation.set(cid)
        try:
            kind = content.get("type") if isinstance(content, dict) else None
            if kind == "ping":
                await self.send_json({"type": "pong", "correlation_id": cid})
            elif kind in ("subscribe", "unsubscribe"):
                await self._change_subscriptions(kind, content.get("verticals"), cid)
            else:
                await self.send_json({"type": "error", "error": "unknown message type", "correlation_id": cid})
        finally:
            correlation.reset(token)

    async def _change_subscriptions(self, kind: str, slugs, cid: str):
        if not isinstance(slugs, list) or not all(isinstance(s, str) for s in slugs) or len(slugs) > MAX_SUBSCRIPTIONS:
            await self.send_json(
                {
                    "type": "error",
                    "error": f"verticals must be a list of at most {MAX_SUBSCRIPTIONS} slugs",
                    "correlation_id": cid,
                }
            )
            return
        if kind == "subscribe":
            known = await _subscribable_vertical_slugs(slugs, self.scope["user"])
            if len(self.subscriptions | set(known)) > MAX_SUBSCRIPTIONS:
                await self.send_json({"type": "error", "error": "too many subscriptions", "correlation_id": cid})
                return
            for slug in known:
                await self.channel_layer.group_add(vertical_group(slug), self.channel_name)
            self.subscriptions |= set(known)
            unknown = sorted(set(slugs) - set(known))
        else:
            for slug in slugs:
                if slug in self.subscriptions:
                    await self.channel_layer.group_discard(vertical_group(slug), self.channel_name)
            self.subscriptions -= set(slugs)
            unknown = []
        logger.info("subscriptions changed", extra={"user_id": self.user_id, "count": len(self.subscriptions)})
        await self.send_json(
            {"type": "subscribed", "verticals": sorted(self.subscriptions), "unknown": unknown, "correlation_id": cid}
        )

    async def dispatch(self, message):
        # Channels hops to the shared sync thread before every handler to close stale database
        # connections (aclose_old_connections). A broadcast touches no database, and that hop,
        # serialized through one thread, cost ~0.5 ms per socket: one event to 1,000 sockets took
        # 230 ms. Broadcasts skip it; everything else keeps it.
        if message.get("type") == "broadcast.message":
            await self.broadcast_message(message)
        else:
            await super().dispatch(message)

    async def _forward(self, event):
        """The layer's sink: the same as broadcast_message, called in place by the layer."""
        await self.base_send({"type": "websocket.send", "text": event["text"]})

    async def broadcast_message(self, event):
        """A group message (type "broadcast.message"): its JSON text was serialized once by the
        sender (core.broadcast), so a thousand sockets cost no thousand json.dumps."""
        await self.send(text_data=event["text"])
