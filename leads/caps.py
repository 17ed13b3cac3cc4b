"""Per-seller, per-vertical daily ingestion caps, enforced atomically in Redis.

A day is a UTC calendar day. Two keys per (seller, vertical, day):
- a counter of committed leads, seeded from the database the first time it is touched each
  day (so a flushed Redis does not reset a seller's day), incremented when a lead commits;
- a sorted set of pending reservations (token → lease expiry) for leads whose transaction
  has not committed yet.
One Lua script admits a lead only while committed + live pending < cap. A reservation whose
transaction rolls back (an outer transaction, a worker killed mid-chunk) is never committed:
its lease runs out and the slot returns by itself, instead of being lost for the day.
The embedded profile (no Redis) keeps a plain in-process counter.
"""

import time as clock
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from core.localcache import LocalCache
from core.redis import get_redis
from leads.choices import LeadStatus, RejectionReason
from leads.models import Lead, SellerCap

DAY_TTL = 2 * 24 * 3600
# Each seller's cap overrides ({vertical id or None: cap}), memoised per process; emptied in every
# process within a second when a SellerCap is saved or deleted (leads.apps).
SELLER_CAPS = LocalCache("leads.seller_caps")

_RESERVE = """
local counter, pending = KEYS[1], KEYS[2]
local now, cap = tonumber(ARGV[1]), tonumber(ARGV[2])
local committed = redis.call('GET', counter)
if not committed then return -2 end
redis.call('ZREMRANGEBYSCORE', pending, '-inf', now)
local used = tonumber(committed) + redis.call('ZCARD', pending)
if used >= cap then return -1 end
redis.call('ZADD', pending, now + tonumber(ARGV[4]), ARGV[3])
redis.call('PEXPIRE', pending, tonumber(ARGV[5]))
return used + 1
"""

_COMMIT = """
redis.call('ZREM', KEYS[2], ARGV[1])
local n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return n
"""


# A batch (leads.bulk): admit up to len(tokens) reservations at once, as many as the cap allows.
_RESERVE_MANY = """
local counter, pending = KEYS[1], KEYS[2]
local now, cap, lease = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', pending, '-inf', now)
local used = tonumber(redis.call('GET', counter) or '0') + redis.call('ZCARD', pending)
local admitted = 0
for i = 5, #ARGV do
  if used + admitted >= cap then break end
  redis.call('ZADD', pending, now + lease, ARGV[i])
  admitted = admitted + 1
end
if admitted > 0 then redis.call('PEXPIRE', pending, tonumber(ARGV[4])) end
return admitted
"""

_COMMIT_MANY = """
for i = 2, #ARGV do redis.call('ZREM', KEYS[2], ARGV[i]) end
local n = redis.call('INCRBY', KEYS[1], #ARGV - 1)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
return n
"""


class CapExceeded(Exception):
    def __init__(self, cap: int, resets_at: datetime):
        super().__init__(f"daily cap of {cap} reached")
        self.cap = cap
        self.resets_at = resets_at


@dataclass(frozen=True)
class CapSlot:
    key: str
    token: str = ""  # a pending reservation in Redis; "" for the embedded counter


def day_bounds(now: datetime) -> tuple[datetime, datetime]:
    day = now.astimezone(UTC).date()
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def _overrides(seller_id: int) -> dict:
    return dict(SellerCap.objects.filter(seller_id=seller_id).values_list("vertical_id", "daily_cap"))


def cap_for(*, seller, vertical) -> int:
    overrides = SELLER_CAPS.get(seller.pk, lambda: _overrides(seller.pk))
    if vertical.pk in overrides:
        return overrides[vertical.pk]
    if None in overrides:
        return overrides[None]
    return vertical.daily_cap_per_seller


def _accepted_today(*, seller, vertical, start: datetime, end: datetime) -> int:
    """Leads that took a slot today: every stored lead but the duplicates (they never reserve one).

    A lead later rejected for low quality keeps its slot, exactly as the live counter does.
    """
    return (
        Lead.objects.filter(seller=seller, vertical=vertical, created_at__gte=start, created_at__lt=end)
        .exclude(status=LeadStatus.REJECTED, rejection_reason=RejectionReason.DUPLICATE)
        .count()
    )


def _lease_ms() -> int:
    return int(getattr(settings, "LEAD_CAP_LEASE_SECONDS", 300)) * 1000


def _seed(*, key: str, seller, vertical, start: datetime, end: datetime) -> None:
    if cache.get(key) is None:
        # add() is atomic: of concurrent seeders one wins; the others' counts are dropped.
        cache.add(key, _accepted_today(seller=seller, vertical=vertical, start=start, end=end), timeout=DAY_TTL)


def cap_reserve(*, seller, vertical, now: datetime) -> CapSlot:
    """Take one of today's slots or raise CapExceeded; the slot is kept once the transaction
    commits (cap_commit runs on commit) and comes back by itself if it never does."""
    start, end = day_bounds(now)
    key = f"leadcap:{seller.pk}:{vertical.pk}:{start:%Y%m%d}"
    cap = cap_for(seller=seller, vertical=vertical)
    client = get_redis()
    if client is None:
        return _reserve_local(key=key, cap=cap, seller=seller, vertical=vertical, start=start, end=end)
    token = uuid.uuid4().hex
    for _ in range(3):
        admitted = client.eval(
            _RESERVE,
            2,
            cache.make_key(key),
            cache.make_key(key + ":pending"),
            int(clock.time() * 1000),
            cap,
            token,
            _lease_ms(),
            DAY_TTL * 1000,
        )
        if admitted != -2:
            break
        # The day's counter is not there yet (first lead of the day, a flushed Redis): seed it.
        _seed(key=key, seller=seller, vertical=vertical, start=start, end=end)
    else:
        raise RuntimeError(f"could not count the daily cap in the cache ({key})")
    if admitted < 0:
        raise CapExceeded(cap, end)
    slot = CapSlot(key, token)
    transaction.on_commit(lambda: cap_commit(slot))
    return slot


def cap_commit(slot: CapSlot) -> None:
    """The lead committed: its reservation becomes part of the day's counter."""
    client = get_redis()
    if client is None or not slot.token:
        return
    client.eval(_COMMIT, 2, cache.make_key(slot.key), cache.make_key(slot.key + ":pending"), slot.token, DAY_TTL)


def _reserve_local(*, key, cap, seller, vertical, start, end) -> CapSlot:
    used = None
    for _ in range(3):
        _seed(key=key, seller=seller, vertical=vertical, start=start, end=end)
        try:
            used = cache.incr(key)
            break
        except ValueError:  # the key vanished between add and incr (flushed, evicted): seed again
            continue
    if used is None:
        raise RuntimeError(f"could not count the daily cap in the cache ({key})")
    if used > cap:
        cap_release(CapSlot(key))
        raise CapExceeded(cap, end)
    return CapSlot(key)


def seller_caps_invalidate(**kwargs) -> None:
    """Receiver of post_save/post_delete of SellerCap (leads.apps)."""
    SELLER_CAPS.invalidate()


def cap_release(slot: CapSlot) -> None:
    """Give a slot back at once (the lead was not stored)."""
    client = get_redis()
    if slot.token and client is not None:
        client.zrem(cache.make_key(slot.key + ":pending"), slot.token)
        return
    try:
        cache.decr(slot.key)
    except ValueError:  # the counter expired meanwhile: nothing to give back
        pass


@dataclass(frozen=True)
class CapGrant:
    """What cap_reserve_many admitted: `slots` (at most the count asked), the cap and its reset."""

    slots: list[CapSlot]
    cap: int
    resets_at: datetime


def cap_reserve_many(*, seller, vertical, now: datetime, count: int) -> CapGrant:
    """Take up to `count` of today's slots at once (fewer once the cap is reached).

    Unlike cap_reserve nothing is registered on commit: the caller commits the slots it used
    with cap_commit_many on commit and gives the others back at once with cap_release_many;
    slots of a transaction that never commits come back when their lease runs out."""
    start, end = day_bounds(now)
    key = f"leadcap:{seller.pk}:{vertical.pk}:{start:%Y%m%d}"
    cap = cap_for(seller=seller, vertical=vertical)
    if count <= 0:
        return CapGrant([], cap, end)
    client = get_redis()
    if client is None:
        slots = []
        for _ in range(count):
            try:
                slots.append(_reserve_local(key=key, cap=cap, seller=seller, vertical=vertical, start=start, end=end))
            except CapExceeded:
                break
        return CapGrant(slots, cap, end)
    _seed(key=key, seller=seller, vertical=vertical, start=start, end=end)
    base = uuid.uuid4().hex
    tokens = [f"{base}.{i}" for i in range(count)]
    admitted = client.eval(
        _RESERVE_MANY,
        2,
        cache.make_key(key),
        cache.make_key(key + ":pending"),
        int(clock.time() * 1000),
        cap,
        _lease_ms(),
        DAY_TTL * 1000,
        *tokens,
    )
    return CapGrant([CapSlot(key, token) for token in tokens[:admitted]], cap, end)


def cap_commit_many(slots: list[CapSlot]) -> None:
    """Leads committed: their reservations join the day's counter (one call per counter)."""
    client = get_redis()
    if client is None:
        return
    by_key: dict[str, list[str]] = {}
    for slot in slots:
        if slot.token:
            by_key.setdefault(slot.key, []).append(slot.token)
    for key, tokens in by_key.items():
        client.eval(_COMMIT_MANY, 2, cache.make_key(key), cache.make_key(key + ":pending"), DAY_TTL, *tokens)


def cap_release_many(slots: list[CapSlot]) -> None:
    """Give slots back at once (their leads were not stored)."""
    client = get_redis()
    by_key: dict[str, list[str]] = {}
    for slot in slots:
        if slot.token and client is not None:
            by_key.setdefault(slot.key, []).append(slot.token)
        else:
            cap_release(slot)
    for key, tokens in by_key.items():
        client.zrem(cache.make_key(key + ":pending"), *tokens)


def cap_used(*, seller, vertical, now: datetime) -> int:
    """Committed plus pending reservations for the day."""
    start, _ = day_bounds(now)
    key = f"leadcap:{seller.pk}:{vertical.pk}:{start:%Y%m%d}"
    committed = int(cache.get(key) or 0)
    client = get_redis()
    if client is None:
        return committed
    return committed + client.zcount(cache.make_key(key + ":pending"), int(clock.time() * 1000), "+inf")
