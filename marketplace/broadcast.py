"""Send to Channels groups after the transaction commits, carrying the correlation id."""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from marketplace import correlation


def group_send_now(*, group: str, payload: dict) -> None:
    layer = get_channel_layer()
    async_to_sync(layer.group_send)(group, {"type": "broadcast.message", "payload": payload,
                                            "correlation_id": correlation.get()})


def group_send_on_commit(*, group: str, payload: dict) -> None:
    cid = correlation.get()

    def _send():
        token = correlation.set(cid)
        try:
            group_send_now(group=group, payload=payload)
        finally:
            correlation.reset(token)

    transaction.on_commit(_send)
