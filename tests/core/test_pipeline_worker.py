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
