"""Per-seller, per-vertical daily ingestion caps, counted atomically in the cache (Redis INCR).

A day is a UTC calendar day. The counter is seeded from the database the first time it is
touched each day, so a flushed Redis does not reset a seller's day.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone as dt_timezone

from django.core.cache import cache

DAY_TTL = 2 * 24 * 3600


class CapExceeded(Exception):
    def __init__(self, cap: int, resets_at: datetime):
        super().__init__(f"daily cap of {cap} reached")
        self.cap = cap
        self.resets_at = resets_at


@dataclass(frozen=True)
class CapSlot:
    key: str


def day_bounds(now: datetime) -> tuple[datetime, datetime]:
    day = now.astimezone(dt_timezone.utc).date()
    start = datetime.combine(day, time.min, tzinfo=dt_timezone.utc)
    return start, start + timedelta(days=1)


def cap_for(*, seller, vertical) -> int:
    from leads.models import SellerCap

    overrides = {c.vertical_id: c.daily_cap for c in SellerCap.objects.filter(seller=seller)}
    if vertical.pk in overrides:
        return overrides[vertical.pk]
    if None in overrides:
        return overrides[None]
    return vertical.daily_cap_per_seller


def _accepted_today(*, seller, vertical, start: datetime, end: datetime) -> int:
    """Leads that took a slot today: every stored lead but the duplicates (they never reserve one).

    A lead later rejected for low quality keeps its slot, exactly as the live counter does.
    """
    from leads.choices import LeadStatus, RejectionReason
    from leads.models import Lead

    return (Lead.objects.filter(seller=seller, vertical=vertical, created_at__gte=start, created_at__lt=end)
            .exclude(status=LeadStatus.REJECTED, rejection_reason=RejectionReason.DUPLICATE).count())


def cap_reserve(*, seller, vertical, now: datetime) -> CapSlot:
    """Take one of today's slots or raise CapExceeded. Release it if the lead is not stored."""
    start, end = day_bounds(now)
    key = f"leadcap:{seller.pk}:{vertical.pk}:{start:%Y%m%d}"
    used = None
    for _ in range(3):
        if cache.get(key) is None:
            # add() is atomic: of concurrent seeders one wins; the others' counts are dropped.
            cache.add(key, _accepted_today(seller=seller, vertical=vertical, start=start, end=end), timeout=DAY_TTL)
        try:
            used = cache.incr(key)
            break
        except ValueError:  # the key vanished between add and incr (flushed, evicted): seed again
            continue
    if used is None:
        raise RuntimeError(f"could not count the daily cap in the cache ({key})")
    cap = cap_for(seller=seller, vertical=vertical)
    if used > cap:
        cap_release(CapSlot(key))
        raise CapExceeded(cap, end)
    return CapSlot(key)


def cap_release(slot: CapSlot) -> None:
    try:
        cache.decr(slot.key)
    except ValueError:  # the counter expired meanwhile: nothing to give back
        pass


def cap_used(*, seller, vertical, now: datetime) -> int:
    start, _ = day_bounds(now)
    return int(cache.get(f"leadcap:{seller.pk}:{vertical.pk}:{start:%Y%m%d}") or 0)
