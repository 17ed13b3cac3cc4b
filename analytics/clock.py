"""The embedded profile's analytics beat (`make run` has no celery beat): config/asgi.py hands it
to the embedded sweeper thread, which calls it every second; it refreshes the rollups as often
as the beat does in production."""

import time

from django.conf import settings

from analytics.rollups import rollups_refresh

_last = {"refresh": 0.0}


def analytics_tick() -> None:
    now = time.monotonic()
    if now - _last["refresh"] < settings.ANALYTICS_REFRESH_SECONDS:
        return
    _last["refresh"] = now
    rollups_refresh()
