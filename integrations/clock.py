"""The embedded profile's delivery beat (`make run` has no celery beat): config/asgi.py hands it
to the embedded sweeper thread (auctions/clock.py). Tasks run in process there, so retries that
wait (countdowns are ignored when eager) are sent by this tick when due."""

import time

from integrations.services.deliveries import delivery_attempt, delivery_due_ids

_last = {"due": 0.0}


def delivery_tick() -> None:
    now = time.monotonic()
    if now - _last["due"] < 5.0:
        return
    _last["due"] = now
    for delivery_id in delivery_due_ids(limit=50):
        delivery_attempt(delivery_id=delivery_id)
