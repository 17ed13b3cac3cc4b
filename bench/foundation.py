"""The foundation suite: rate limiter, the verticals API in process, a Celery task round trip."""

import tempfile
import time
from pathlib import Path

from bench.common import header, print_table, row, throwaway_database


def bench_rate_limiter(n: int = 5000) -> dict:
    from core.ratelimit import Rate, hit

    rate = Rate(limit=10**9, window_seconds=60)
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        hit(scope="bench", identity="one", rate=rate)
        samples.append(time.perf_counter() - start)
    return row("rate limiter hit (Redis Lua, 1 client)", n, samples, 1e6, "µs")


def bench_api_verticals(n: int = 400) -> list[dict]:
    from rest_framework.test import APIClient

    from accounts.models import User
    from accounts.services import api_key_create

    user = User.objects.create_user(email="bench@example.com", password="x" * 20)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(user=user, name='bench').secret}")
    rows = []
    for path, label in (
        ("/api/v1/verticals/?page_size=100", "GET /api/v1/verticals/ (100 rows)"),
        ("/api/v1/verticals/solar/", "GET /api/v1/verticals/solar/"),
    ):
        client.get(path)  # warm up
        samples = []
        for _ in range(n):
            start = time.perf_counter()
            response = client.get(path)
            samples.append(time.perf_counter() - start)
            assert response.status_code == 200, response.status_code
        rows.append(row(label + " in process", n, samples))
    return rows


def bench_task_round_trip(database_name: str, n: int = 300) -> dict:
    from tests import pipeline_tasks
    from tests.workers import WorkerProcess

    worker = WorkerProcess(database_name, Path(tempfile.mkdtemp()), concurrency=2).start()
    try:
        samples = []
        for i in range(n):
            start = time.perf_counter()
            pipeline_tasks.flaky.apply_async(kwargs={"key": f"bench-{i}", "failures": 0}).get(timeout=30)
            samples.append(time.perf_counter() - start)
    finally:
        worker.stop()
    return row("Celery task round trip (Redis broker, real worker)", n, samples)


def run() -> None:
    with throwaway_database() as database_name:
        rows = [bench_rate_limiter(), *bench_api_verticals(), bench_task_round_trip(database_name)]
    print(header("foundation"))
    print_table(rows)
