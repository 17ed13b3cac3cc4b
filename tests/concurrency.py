"""Real-thread races against PostgreSQL for the concurrency tests."""

import threading

from django.db import connection


def run_threads(count: int, target, *, timeout: float = 120) -> list:
    """Run target(i) in `count` threads released together by a barrier.

    Returns what each returned or the exception it raised (tests inspect every outcome).
    Each thread uses, and closes, its own database connection.
    """
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(i: int):
        try:
            barrier.wait(timeout=30)
            results[i] = target(i)
        except Exception as exc:  # noqa: BLE001 - the test inspects every outcome
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(t.is_alive() for t in threads), "a thread is stuck (deadlock?)"
    return results
