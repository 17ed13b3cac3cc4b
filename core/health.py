"""Readiness checks for /healthz: database(s), cache, broker, channel layer, and the checks other
apps register (the chain node, reported but not required: chain/apps.py)."""

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.cache import cache
from django.db import connections


def _timed(check):
    start = time.perf_counter()
    try:
        detail = check()
        return {"ok": True, "ms": round((time.perf_counter() - start) * 1000, 1), **(detail or {})}
    except Exception as exc:  # noqa: BLE001 - a health check reports, it does not raise
        return {"ok": False, "ms": round((time.perf_counter() - start) * 1000, 1), "error": type(exc).__name__}


def _database(alias):
    def check():
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()

    return check


def _cache():
    key = f"healthz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=5)
    if cache.get(key) != "1":
        raise RuntimeError("cache read-back failed")
    cache.delete(key)


def _broker():
    from kombu import Connection

    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"mode": "in-process"}
    with Connection(settings.CELERY_BROKER_URL, connect_timeout=2) as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        return {"transport": conn.transport_cls}


def _channel_layer():
    from channels.layers import get_channel_layer

    layer = get_channel_layer()

    async def roundtrip():
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "healthz.ping"})
        message = await asyncio.wait_for(layer.receive(channel), timeout=2)
        if message.get("type") != "healthz.ping":
            raise RuntimeError("channel layer read-back failed")

    async_to_sync(roundtrip)()
    return {"backend": type(layer).__name__}


@dataclass(frozen=True)
class _Registered:
    check: Callable[[], dict | None]  # details, or raises
    required: bool  # False: reported, but readiness does not depend on it
    enabled: Callable[[], bool]


# Checks other apps add in their AppConfig.ready (an app above this one, such as chain, is never
# imported from here).
REGISTERED: dict[str, _Registered] = {}


def health_check_register(*, name: str, check, required: bool, enabled=lambda: True) -> None:
    REGISTERED[name] = _Registered(check=check, required=required, enabled=enabled)


def health_report() -> dict:
    checks = {f"database:{alias}": _timed(_database(alias)) for alias in settings.DATABASES}
    checks["cache"] = _timed(_cache)
    checks["broker"] = _timed(_broker)
    checks["channel_layer"] = _timed(_channel_layer)
    optional = set()
    for name, registered in REGISTERED.items():
        if registered.enabled():
            checks[name] = _timed(registered.check)
            if not registered.required:
                checks[name]["required"] = False
                optional.add(name)
    ok = all(c["ok"] for name, c in checks.items() if name not in optional)
    return {"ok": ok, "profile": getattr(settings, "PROFILE", "?"), "checks": checks}
