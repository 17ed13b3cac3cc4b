"""Readiness checks for /healthz: database(s), cache, broker, channel layer (and the chain node,
reported but not required)."""

import asyncio
import time
import uuid

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


def _chain():
    from chain.client import chain_status

    status = chain_status()
    if not status["chain_id_ok"]:
        raise RuntimeError("unexpected chain id")
    return {"chain_id": status["chain_id"], "block": status["block_number"]}


# Checks that are reported but do not fail readiness: settlement tasks retry while the chain
# node is away, and the marketplace must keep serving meanwhile.
OPTIONAL_CHECKS = {"chain"}


def health_report() -> dict:
    checks = {f"database:{alias}": _timed(_database(alias)) for alias in settings.DATABASES}
    checks["cache"] = _timed(_cache)
    checks["broker"] = _timed(_broker)
    checks["channel_layer"] = _timed(_channel_layer)
    if settings.CHAIN_RPC_URL and settings.CHAIN_HEALTHCHECK:
        checks["chain"] = {**_timed(_chain), "required": False}
    ok = all(c["ok"] for name, c in checks.items() if name not in OPTIONAL_CHECKS)
    return {"ok": ok, "profile": getattr(settings, "PROFILE", "?"), "checks": checks}
