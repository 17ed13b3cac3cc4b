"""Send to Channels groups after the transaction commits, carrying the correlation id.

The client-facing JSON is serialized here, once per event, and travels as text: every socket in
the group sends the same string (see core.live_layer for the fan-out).
"""

import json

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from core import correlation


def live_message(*, payload: dict) -> dict:
    """The group message for `payload`: what a LiveConsumer forwards to its socket."""
    cid = correlation.get()
    return {
        "type": "broadcast.message",
        "correlation_id": cid,
        "text": json.dumps({**payload, "correlation_id": cid}, separators=(",", ":")),
    }


def group_send_now(*, group: str, payload: dict) -> None:
    layer = get_channel_layer()
    message = live_message(payload=payload)
    # The live layer publishes without an event loop per call. Asked of the class: channels-redis's
    # pub/sub layer answers unknown attributes from its per-loop part, which needs a running loop.
    if hasattr(type(layer), "group_send_sync"):
        layer.group_send_sync(group, message)
    else:
        async_to_sync(layer.group_send)(group, message)


def group_send_on_commit(*, group: str, payload: dict) -> None:
    cid = correlation.get()

    def _send():
        token = correlation.set(cid)
        try:
            group_send_now(group=group, payload=payload)
        finally:
            correlation.reset(token)

    transaction.on_commit(_send)
