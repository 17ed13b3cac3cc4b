"""Shared helpers for the benchmark suites: percentiles, table rows, the throwaway database."""

import contextlib
import os
import platform
import signal
import subprocess
import time


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def row(
    name: str, n: int, samples: list[float], unit_scale: float = 1000.0, unit: str = "ms", per_s: float | None = None
) -> dict:
    """One table row; `per_s` defaults to n / sum(samples) (a sequential, single-client rate)."""
    total = sum(samples)
    if per_s is None:
        per_s = n / total if total else float("inf")
    return {
        "benchmark": name,
        "n": n,
        "per_s": per_s,
        "p50": pct(samples, 0.50) * unit_scale,
        "p95": pct(samples, 0.95) * unit_scale,
        "p99": pct(samples, 0.99) * unit_scale,
        "unit": unit,
    }


def header(title: str) -> str:
    return (
        f"Lead Engine benchmarks ({title}) — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} — "
        f"{platform.node()} ({os.cpu_count()} cores, Python {platform.python_version()})"
    )


def print_table(rows: list[dict], width: int = 62) -> None:
    print(f"{'benchmark':<{width}} {'n':>6} {'per s':>9} {'p50':>9} {'p95':>9} {'p99':>9}")
    for r in rows:
        per_s = f"{r['per_s']:>9.0f}" if r.get("per_s") is not None else f"{'—':>9}"
        print(
            f"{r['benchmark']:<{width}} {r['n']:>6} {per_s} {r['p50']:>7.2f}{r['unit']:>2} "
            f"{r['p95']:>7.2f}{r['unit']:>2} {r['p99']:>7.2f}{r['unit']:>2}"
        )


@contextlib.contextmanager
def throwaway_database():
    """Flush the test Redis databases, create the bench database (migrated, verticals seeded), drop it after."""
    import redis
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    from verticals.seed_data import VERTICALS
    from verticals.services import vertical_seed_tree

    for url in (settings.REDIS_URL, settings.CELERY_BROKER_URL, settings.CELERY_RESULT_BACKEND):
        redis.Redis.from_url(url).flushdb()
    settings.RATE_LIMIT_ENABLED = False  # measure the endpoint, not the limiter
    old = setup_databases(verbosity=0, interactive=False, aliases={"default"})
    try:
        vertical_seed_tree(tree=VERTICALS)
        yield connection.settings_dict["NAME"]
    finally:
        teardown_databases(old, verbosity=0)


def stop_process_group(process: subprocess.Popen | None, log=None) -> None:
    """SIGTERM a server started with start_new_session=True and its children (SIGKILL after 20 s),
    then close its log file."""
    if process is not None and process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    if log is not None:
        log.close()
