"""The task policy, proven with a real worker process over the Redis broker."""

import os
import signal

import pytest

from core.choices import DeadLetterStatus
from core.models import DeadLetter, IdempotencyKey
from core.redis import get_redis
from core.services import dead_letter_discard, dead_letter_replay
from tests import pipeline_tasks
from tests.conftest import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def _key(request) -> str:
    return request.node.name


def test_task_that_fails_twice_then_succeeds_is_retried_and_not_dead_lettered(celery_worker, request):
    key = _key(request)
    result = pipeline_tasks.flaky.apply_async(kwargs={"key": key, "failures": 2})
    assert result.get(timeout=60) == 3
    assert int(get_redis().get(f"attempts:{key}")) == 3
    assert not DeadLetter.objects.filter(task_name="tests.flaky").exists()


def test_task_that_keeps_failing_is_dead_lettered_then_replayed_after_the_fix(celery_worker, request):
    key = _key(request)
    r = get_redis()
    r.set(f"broken:{key}", 1)
    pipeline_tasks.broken_until_fixed.apply_async(kwargs={"key": key})

    letter = wait_for(
        lambda: DeadLetter.objects.filter(task_name="tests.broken_until_fixed", kwargs__key=key).first(),
        timeout=60,
        message="the dead letter",
    )
    assert int(r.get(f"attempts:{key}")) == 4  # the first run and 3 retries
    assert letter.attempts == 4
    assert letter.status == DeadLetterStatus.PENDING
    assert letter.queue == "default" and letter.dead_letter_queue == "default.dead"
    assert letter.exception_type == "core.pipeline.TransientError"
    assert "the upstream is down" in letter.error and "TransientError" in letter.traceback
    assert letter.first_failed_at < letter.last_failed_at
    assert letter.kwargs == {"key": key}

    r.delete(f"broken:{key}")  # the cause is fixed
    dead_letter_replay(dead_letter_id=letter.pk)
    wait_for(lambda: r.get(f"done:{key}"), timeout=30, message="the replayed task to succeed")
    letter.refresh_from_db()
    assert letter.status == DeadLetterStatus.REPLAYED and letter.replayed_task_id


def test_replayed_task_that_fails_again_updates_the_same_dead_letter(celery_worker, request):
    key = _key(request)
    pipeline_tasks.permanent.apply_async(kwargs={"key": key})
    letter = wait_for(
        lambda: DeadLetter.objects.filter(task_name="tests.permanent", kwargs__key=key).first(),
        timeout=30,
        message="the dead letter",
    )
    assert letter.attempts == 1  # a permanent error is not retried
    dead_letter_replay(dead_letter_id=letter.pk)
    wait_for(
        lambda: DeadLetter.objects.filter(pk=letter.pk, status=DeadLetterStatus.PENDING, attempts=2).exists(),
        timeout=30,
        message="the letter to be pending again",
    )
    assert DeadLetter.objects.filter(task_name="tests.permanent", kwargs__key=key).count() == 1
    dead_letter_discard(dead_letter_id=letter.pk)
    assert DeadLetter.objects.get(pk=letter.pk).status == DeadLetterStatus.DISCARDED
    with pytest.raises(ValueError):
        dead_letter_replay(dead_letter_id=letter.pk)


def test_worker_process_killed_mid_task_runs_it_again_and_the_effect_happens_once(celery_worker, request):
    key = _key(request)
    r = get_redis()
    result = pipeline_tasks.effect_once.apply_async(kwargs={"key": key})
    wait_for(lambda: r.lrange(f"runs:{key}", 0, -1) == [b"effect"], timeout=30, message="the first run's effect")
    first_pid = int(r.get(f"pid:{key}"))

    os.kill(first_pid, signal.SIGKILL)  # the pool process dies before acknowledging

    wait_for(lambda: int(r.get(f"attempts:{key}") or 0) >= 2, timeout=60, message="the task to run again")
    wait_for(lambda: len(r.lrange(f"runs:{key}", 0, -1)) == 2, timeout=30, message="the second run")
    r.set(f"release:{key}", 1)
    outcome = result.get(timeout=30)

    assert int(r.get(f"pid:{key}")) != first_pid
    assert r.lrange(f"runs:{key}", 0, -1) == [b"effect", b"replayed"]
    assert outcome == {"result": {"pid": first_pid}, "ran_now": False}
    assert IdempotencyKey.objects.filter(scope="tests.effect", key=key).count() == 1


def _sessions_of(results) -> set[int]:
    return {r["pid"] for r in results}


def test_worker_processes_keep_their_database_sessions_between_tasks(celery_worker):
    """Celery's Django fix-up closed every connection before and after each task: a new
    PostgreSQL session per task. Now each pool process keeps one (CELERY_DB_REUSE_MAX)."""
    results = [pipeline_tasks.db_session.apply_async().get(timeout=60) for _ in range(12)]
    by_process: dict[int, set[int]] = {}
    for r in results:
        by_process.setdefault(r["worker_pid"], set()).add(r["pid"])
    # One session per process; two at most if its periodic recycle (every CELERY_DB_REUSE_MAX tasks
    # or WORKER_CONN_MAX_AGE seconds, counted over the whole suite) falls inside these 12 tasks.
    assert all(len(sessions) <= 2 for sessions in by_process.values()), by_process
    assert len(_sessions_of(results)) <= 2 * celery_worker.concurrency < len(results)


def test_a_kept_session_that_died_is_replaced_before_the_next_task_uses_it(celery_worker):
    """Health checks: a worker's kept session killed between tasks (a failover, an idle timeout)
    costs the next task nothing, not even a retry: the connection is checked and replaced."""
    from django.db import connection

    sessions = _sessions_of(pipeline_tasks.db_session.apply_async().get(timeout=60) for _ in range(6))
    with connection.cursor() as cursor:
        for pid in sessions:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    wait_for(lambda: not _backends_alive(sessions), timeout=30, message="the worker's sessions to be terminated")
    results = [pipeline_tasks.db_session.apply_async().get(timeout=60) for _ in range(6)]
    assert all(r["retries"] == 0 for r in results), results
    assert not _sessions_of(results) & sessions


def _backends_alive(pids) -> bool:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", [list(pids)])
        return cursor.fetchone()[0] > 0
