"""The live socket: clients subscribe to verticals and get their private notices.

Client → server: {"type": "subscribe", "verticals": ["solar", ...]}, {"type": "unsubscribe", ...},
{"type": "ping"}. Server → client: every message carries "correlation_id".
"""

import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from marketplace import correlation
from marketplace.groups import user_group, vertical_group
from marketplace.metrics import WEBSOCKETS

logger = logging.getLogger(__name__)
MAX_SUBSCRIPTIONS = 100


@database_sync_to_async
def _subscribable_vertical_slugs(slugs: list[str], user) -> list[str]:
    """Active verticals this user may watch: an exclusive vertical admits only its buyers."""
    from django.db.models import Count, Q

    from verticals.choices import VerticalStatus
    from verticals.models import Vertical

    verticals = (Vertical.objects.filter(slug__in=slugs, status=VerticalStatus.ACTIVE)
                 .annotate(listed=Count("exclusive_buyers"),
                           admitted=Count("exclusive_buyers", filter=Q(exclusive_buyers=user.pk))))
    return [v.slug for v in verticals if v.listed == 0 or v.admitted or user.is_staff]


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
        WEBSOCKETS.inc()
        self.counted = True
        await self.send_json({"type": "hello", "user_id": self.user_id, "correlation_id": self.connection_id})

    async def disconnect(self, code):
        if not hasattr(self, "user_id"):
            return
        if getattr(self, "counted", False):
            WEBSOCKETS.dec()
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
            await self.send_json({"type": "error", "error": f"verticals must be a list of at most {MAX_SUBSCRIPTIONS} slugs",
                                  "correlation_id": cid})
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
        await self.send_json({"type": "subscribed", "verticals": sorted(self.subscriptions), "unknown": unknown,
                              "correlation_id": cid})

    async def broadcast_message(self, event):
        """A group message (type "broadcast.message") forwarded as it is, with its correlation id."""
        await self.send_json({**event["payload"], "correlation_id": event.get("correlation_id")})
