"""`make bench`: measure the foundation's hot paths against the real services and print figures.

Runs on the test profile in a throwaway database (`bench_leadengine`), never on your data.
Record the printed table in docs/benchmarks.md with the date and the machine.
"""

import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("TEST_DATABASE_NAME", "bench_leadengine")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _row(name: str, n: int, samples: list[float], unit_scale: float = 1000.0, unit: str = "ms") -> dict:
    total = sum(samples)
    return {"benchmark": name, "n": n, "per_s": n / total if total else float("inf"),
            "p50": _pct(samples, 0.50) * unit_scale, "p95": _pct(samples, 0.95) * unit_scale,
            "p99": _pct(samples, 0.99) * unit_scale, "unit": unit}


def bench_rate_limiter(n: int = 5000) -> dict:
    from marketplace.ratelimit import Rate, hit

    rate = Rate(limit=10**9, window_seconds=60)
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        hit(scope="bench", identity="one", rate=rate)
        samples.append(time.perf_counter() - start)
    return _row("rate limiter hit (Redis Lua, 1 client)", n, samples, 1e6, "µs")


def bench_api_verticals(n: int = 400) -> list[dict]:
    from rest_framework.test import APIClient

    from marketplace.models import User
    from marketplace.services import api_key_create

    user = User.objects.create_user(email="bench@example.com", password="x" * 20)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(user=user, name='bench').secret}")
    rows = []
    for path, label in (("/api/v1/verticals/?page_size=100", "GET /api/v1/verticals/ (100 rows)"),
                        ("/api/v1/verticals/solar/", "GET /api/v1/verticals/solar/")):
        client.get(path)  # warm up
        samples = []
        for _ in range(n):
            start = time.perf_counter()
            response = client.get(path)
            samples.append(time.perf_counter() - start)
            assert response.status_code == 200, response.status_code
        rows.append(_row(label + " in process", n, samples))
    return rows


def bench_task_round_trip(n: int = 300) -> dict:
    from django.db import connection

    from tests import pipeline_tasks
    from tests.workers import WorkerProcess

    worker = WorkerProcess(connection.settings_dict["NAME"], Path(tempfile.mkdtemp()), concurrency=2).start()
    try:
        samples = []
        for i in range(n):
            start = time.perf_counter()
            pipeline_tasks.flaky.apply_async(kwargs={"key": f"bench-{i}", "failures": 0}).get(timeout=30)
            samples.append(time.perf_counter() - start)
    finally:
        worker.stop()
    return _row("Celery task round trip (Redis broker, real worker)", n, samples)


def main() -> None:
    import redis

    from verticals.seed_data import VERTICALS
    from verticals.services import vertical_seed_tree

    for url in (settings.REDIS_URL, settings.CELERY_BROKER_URL, settings.CELERY_RESULT_BACKEND):
        redis.Redis.from_url(url).flushdb()
    settings.RATE_LIMIT_ENABLED = False  # measure the endpoint, not the limiter
    old = setup_databases(verbosity=0, interactive=False, aliases={"default"})
    try:
        vertical_seed_tree(tree=VERTICALS)
        rows = [bench_rate_limiter(), *bench_api_verticals(), bench_task_round_trip()]
    finally:
        teardown_databases(old, verbosity=0)
    print(f"Lead Engine benchmarks — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} — "
          f"{platform.node()} ({os.cpu_count()} cores, Python {platform.python_version()})")
    print(f"{'benchmark':<62} {'n':>6} {'per s':>9} {'p50':>9} {'p95':>9} {'p99':>9}")
    for row in rows:
        print(f"{row['benchmark']:<62} {row['n']:>6} {row['per_s']:>9.0f} {row['p50']:>7.2f}{row['unit']:>2} "
              f"{row['p95']:>7.2f}{row['unit']:>2} {row['p99']:>7.2f}{row['unit']:>2}")


if __name__ == "__main__":
    main()
