"""Tasks used only by the pipeline tests; the test worker imports them with `-I`.

Their state lives in the suite's Redis database so the test process can watch a worker.
"""

import os
import time

from config.celery import app
from core.pipeline import PipelineTask, TransientError
from core.redis import get_redis


def _r():
    return get_redis()


@app.task(name="tests.flaky", base=PipelineTask, ignore_result=False)
def flaky(*, key: str, failures: int) -> int:
    """Fails `failures` times with a transient error, then succeeds; returns the attempt."""
    attempt = _r().incr(f"attempts:{key}")
    if attempt <= failures:
        raise TransientError(f"flaky failure {attempt}")
    return attempt


@app.task(name="tests.broken_until_fixed", base=PipelineTask, ignore_result=False)
def broken_until_fixed(*, key: str) -> str:
    _r().incr(f"attempts:{key}")
    if _r().get(f"broken:{key}"):
        raise TransientError("the upstream is down")
    _r().set(f"done:{key}", 1)
    return "fixed"


@app.task(name="tests.permanent", base=PipelineTask, ignore_result=False)
def permanent(*, key: str) -> None:
    _r().incr(f"attempts:{key}")
    raise ValueError("this input can never succeed")  # not transient: dead-lettered at once


@app.task(name="tests.effect_once", base=PipelineTask, ignore_result=False)
def effect_once(*, key: str) -> dict:
    """Commits its effect under an idempotency key, then waits to be released (or killed)."""
    from core.services import idempotent

    r = _r()
    r.incr(f"attempts:{key}")
    r.set(f"pid:{key}", os.getpid())
    result, ran_now = idempotent(scope="tests.effect", key=key, operation=lambda: {"pid": os.getpid()})
    r.rpush(f"runs:{key}", "effect" if ran_now else "replayed")
    deadline = time.monotonic() + 60
    while not r.get(f"release:{key}") and time.monotonic() < deadline:
        time.sleep(0.05)
    return {"result": result, "ran_now": ran_now}


@app.task(name="tests.log_correlation", base=PipelineTask, ignore_result=False)
def log_correlation(*, key: str) -> str | None:
    from core import correlation

    _r().set(f"cid:{key}", correlation.get() or "")
    return correlation.get()


@app.task(name="tests.db_session", base=PipelineTask, bind=True, ignore_result=False)
def db_session(self) -> dict:
    """The PostgreSQL session (backend pid) this task ran its query in, and its attempt."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    return {"pid": pid, "retries": self.request.retries or 0, "worker_pid": os.getpid()}
