"""A per-vertical concurrency limit for pipeline stages (a Redis counting semaphore).

    with vertical_slot(stage="leads.score", vertical_id=7, limit=4):
        ...   # at most 4 tasks of this stage work on vertical 7 at once

A slot is a member of a sorted set scored by its expiry, so a holder that died (SIGKILL)
frees its slot when the lease runs out instead of blocking the vertical forever.
When no slot is free, `VerticalBusy` (a TransientError) makes the task retry later.
"""

import threading
import time
import uuid
from contextlib import contextmanager

from core.pipeline import TransientError
from core.redis import get_redis

_ACQUIRE = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
if redis.call('ZCARD', key) < tonumber(ARGV[2]) then
  redis.call('ZADD', key, now + tonumber(ARGV[3]), ARGV[4])
  redis.call('PEXPIRE', key, tonumber(ARGV[3]))
  return 1
end
return 0
"""


class VerticalBusy(TransientError):
    """Every slot of this vertical's stage is taken."""


_local_lock = threading.Lock()
_local_slots: dict[str, dict[str, float]] = {}


def _key(stage: str, vertical_id: int | str) -> str:
    return f"vslot:{stage}:{vertical_id}"


def slot_acquire(*, stage: str, vertical_id: int | str, limit: int, lease_seconds: int = 300) -> str | None:
    """Take a slot; returns its token, or None when `limit` holders are active."""
    token = uuid.uuid4().hex
    key = _key(stage, vertical_id)
    now_ms = int(time.time() * 1000)
    client = get_redis()
    if client is None:
        with _local_lock:
            holders = {t: exp for t, exp in _local_slots.get(key, {}).items() if exp > now_ms}
            if len(holders) >= limit:
                _local_slots[key] = holders
                return None
            holders[token] = now_ms + lease_seconds * 1000
            _local_slots[key] = holders
            return token
    return token if client.eval(_ACQUIRE, 1, key, now_ms, limit, lease_seconds * 1000, token) else None


def slot_release(*, stage: str, vertical_id: int | str, token: str) -> None:
    key = _key(stage, vertical_id)
    client = get_redis()
    if client is None:
        with _local_lock:
            _local_slots.get(key, {}).pop(token, None)
        return
    client.zrem(key, token)


def slots_in_use(*, stage: str, vertical_id: int | str) -> int:
    key = _key(stage, vertical_id)
    now_ms = int(time.time() * 1000)
    client = get_redis()
    if client is None:
        with _local_lock:
            return sum(1 for exp in _local_slots.get(key, {}).values() if exp > now_ms)
    return client.zcount(key, now_ms, "+inf")


@contextmanager
def vertical_slot(*, stage: str, vertical_id: int | str, limit: int, lease_seconds: int = 300):
    token = slot_acquire(stage=stage, vertical_id=vertical_id, limit=limit, lease_seconds=lease_seconds)
    if token is None:
        raise VerticalBusy(f"{stage} is at its limit of {limit} for vertical {vertical_id}")
    try:
        yield token
    finally:
        slot_release(stage=stage, vertical_id=vertical_id, token=token)
