"""Why the API keeps its own limiter (core/ratelimit.py) while pages use django-ratelimit, measured:

1. cost per decision against the same Redis: the sliding window's Lua script vs django-ratelimit's
   fixed-window counter (django-redis INCR), one client, in the same run;
2. what each admits across a window's edge: a client asks 20 times a second against a 100-per-60-s
   limit for 3 minutes of simulated time (the clock is stepped, nothing sleeps), starting 5 s before
   one of django-ratelimit's window edges; the figure is the most requests admitted in any 60 s. The API's limit is a contract integrators build against: "100 per 60 s" should mean
   that, not up to twice it.
"""

import time
from types import SimpleNamespace
from unittest import mock

from bench.common import header, print_table, row

LIMIT, WINDOW = 100, 60


def _django_ratelimit_usage(request, *, group: str, identity: str, rate: str):
    from django_ratelimit.core import get_usage

    return get_usage(request, group=group, key=lambda g, r: identity, rate=rate, increment=True)


def bench_cost(n: int = 5000) -> list[dict]:
    from django.test import RequestFactory

    from core.ratelimit import Rate, hit

    request = RequestFactory().get("/api/v1/leads/")
    rows = []
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        hit(scope="bench-cost", identity="one", rate=Rate(limit=10**9, window_seconds=WINDOW))
        samples.append(time.perf_counter() - start)
    rows.append(row("sliding window (API): Lua on Redis, per decision", n, samples, 1e6, "µs"))
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        _django_ratelimit_usage(request, group="bench-cost", identity="one", rate=f"{10**9}/{WINDOW}s")
        samples.append(time.perf_counter() - start)
    rows.append(row("fixed window (pages): django-ratelimit on django-redis, per decision", n, samples, 1e6, "µs"))
    return rows


def _max_in_any_window(admitted_ms: list[int]) -> int:
    best, lo = 0, 0
    for hi, moment in enumerate(admitted_ms):
        while admitted_ms[lo] <= moment - WINDOW * 1000:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def bench_edge(seconds: int = 180, tries_per_second: int = 20) -> dict:
    """Most requests admitted in any 60 s, each limiter, under the same stepped clock."""
    from django.test import RequestFactory
    from django_ratelimit.core import _get_window

    from core.ratelimit import Rate, hit

    request = RequestFactory().get("/api/v1/leads/")
    base = int(time.time()) + 10_000  # a clock of its own: no key collides with real ones
    with mock.patch("django_ratelimit.core.time", SimpleNamespace(time=lambda: base)):
        edge = _get_window("one", WINDOW)  # django-ratelimit staggers its windows per key
    start_ms = (edge - 5) * 1000
    sliding, fixed = [], []
    for step in range(seconds * tries_per_second):
        now_ms = start_ms + step * (1000 // tries_per_second)
        if hit(scope="bench-edge", identity="one", rate=Rate(LIMIT, WINDOW), now_ms=now_ms).allowed:
            sliding.append(now_ms)
        clock = SimpleNamespace(time=lambda now_ms=now_ms: now_ms / 1000)
        with mock.patch("django_ratelimit.core.time", clock):
            usage = _django_ratelimit_usage(request, group="bench-edge", identity="one", rate=f"{LIMIT}/{WINDOW}s")
        if not usage["should_limit"]:
            fixed.append(now_ms)
    return {"sliding": _max_in_any_window(sliding), "fixed": _max_in_any_window(fixed)}


def run() -> None:
    import redis
    from django.conf import settings

    for url in (settings.REDIS_URL, settings.CACHES["default"]["LOCATION"]):
        redis.Redis.from_url(url).flushdb()
    rows = bench_cost()
    edge = bench_edge()
    print(header("rate limiters"))
    print_table(rows, width=70)
    ratio = rows[1]["p50"] / rows[0]["p50"] if rows[0]["p50"] else float("nan")
    print(f"p50 django-ratelimit / sliding window: {ratio:.2f}")
    print(
        f"most admitted in any {WINDOW} s under a {LIMIT}/{WINDOW} s limit, 20 tries/s for 3 simulated minutes: "
        f"sliding window {edge['sliding']}, django-ratelimit {edge['fixed']}"
    )
