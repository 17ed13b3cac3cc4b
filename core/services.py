"""Writes for the pipeline's records: the one idempotency protocol, and dead letters (record,
replay, discard)."""

import logging
from collections.abc import Callable
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from config.celery import app
from config.queues import queue_for
from core import correlation
from core.choices import DeadLetterStatus
from core.metrics import DEAD_LETTERS
from core.models import DeadLetter, IdempotencyKey
from core.task_headers import DEAD_LETTER_HEADER

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------- idempotency


class IdempotencyKeyReused(Exception):
    """The key was used before for a different request (its fingerprint differs)."""


class _Forget(Exception):
    def __init__(self, result: dict):
        self.result = result


def idempotent(
    *,
    scope: str,
    key: str,
    operation: Callable[[], dict],
    fingerprint: str = "",
    remember: Callable[[dict], bool] | None = None,
) -> tuple[dict, bool]:
    """Run `operation` once per (scope, key): returns (result, ran_now). The one idempotency
    protocol (money operations, buy-now, bounties, the lead API).

    The key row and the operation's writes commit in one transaction, so a crash in the middle
    leaves neither, and a second run (or a concurrent one, which waits on the key's row) returns
    the stored result. With `fingerprint` (a digest of the request), replaying the key with
    another request raises IdempotencyKeyReused. When `remember(result)` is false the result is
    returned but not stored: the key stays free and the operation's writes roll back (answers
    that are not definite: bad input, a limit).
    """
    try:
        with transaction.atomic():
            existing = IdempotencyKey.objects.filter(scope=scope, key=key).first()
            if existing is not None:
                return _stored(existing.result, fingerprint), False
            try:
                with transaction.atomic():
                    record = IdempotencyKey.objects.create(scope=scope, key=key)
                    result = operation() or {}
                    if remember is not None and not remember(result):
                        raise _Forget(result)
                    record.result = {**result, "fingerprint": fingerprint} if fingerprint else result
                    record.save(update_fields=["result"])
                    return result, True
            except IntegrityError:
                if not IdempotencyKey.objects.filter(scope=scope, key=key).exists():
                    raise  # the operation's own integrity error, not a concurrent run of the same key
    except _Forget as forgotten:
        return forgotten.result, True
    return _stored(IdempotencyKey.objects.get(scope=scope, key=key).result, fingerprint), False


def _stored(result: dict, fingerprint: str) -> dict:
    if not fingerprint:
        return result
    if result.get("fingerprint") != fingerprint:
        raise IdempotencyKeyReused("This Idempotency-Key was used with a different request body.")
    return {name: value for name, value in result.items() if name != "fingerprint"}


# ---------------------------------------------------------------- dead letters


def dead_letter_record(
    *,
    task_name: str,
    task_id: str,
    args: list,
    kwargs: dict,
    exc: BaseException,
    traceback: str,
    attempts: int,
    first_failed_at: datetime | None = None,
    dead_letter_id: int | str | None = None,
) -> DeadLetter:
    """Record a task's final failure. A replayed task that fails again updates its letter."""
    now = timezone.now()
    fields = {
        "task_id": task_id,
        "args": args,
        "kwargs": kwargs,
        "exception_type": f"{type(exc).__module__}.{type(exc).__qualname__}",
        "error": str(exc)[:2000] or type(exc).__name__,
        "traceback": traceback[-20000:],
        "last_failed_at": now,
        "status": DeadLetterStatus.PENDING,
        "resolved_at": None,
        "correlation_id": correlation.get() or "",
    }
    with transaction.atomic():
        if dead_letter_id:
            letter = DeadLetter.objects.select_for_update().filter(pk=dead_letter_id).first()
            if letter is not None:
                for name, value in fields.items():
                    setattr(letter, name, value)
                letter.attempts += attempts
                letter.save()
                logger.warning("task dead-lettered again", extra={"task_name": task_name, "dead_letter_id": letter.pk})
                return letter
        letter = DeadLetter.objects.create(
            task_name=task_name,
            queue=queue_for(task_name),
            attempts=attempts,
            first_failed_at=first_failed_at or now,
            **fields,
        )
    DEAD_LETTERS.labels(task=task_name).inc()
    logger.error(
        "task dead-lettered",
        extra={"task_name": task_name, "task_id": task_id, "dead_letter_id": letter.pk, "attempts": attempts},
    )
    return letter


@transaction.atomic
def dead_letter_replay(*, dead_letter_id: int) -> DeadLetter:
    """Send a pending dead letter's task again (fresh retries), once the cause is fixed."""
    letter = DeadLetter.objects.select_for_update().get(pk=dead_letter_id)
    if letter.status != DeadLetterStatus.PENDING:
        raise ValueError(f"Dead letter {letter.pk} is {letter.status}, not pending.")
    new_task_id = correlation.new_id()
    letter.status = DeadLetterStatus.REPLAYED
    letter.resolved_at = timezone.now()
    letter.replayed_task_id = new_task_id
    letter.save(update_fields=["status", "resolved_at", "replayed_task_id"])
    name, args, kwargs, queue, letter_id = (
        letter.task_name,
        letter.args,
        letter.kwargs,
        queue_for(letter.task_name),
        letter.pk,
    )
    cid = letter.correlation_id or correlation.get()

    def _send():
        token = correlation.set(cid)
        try:
            app.send_task(
                name,
                args=args,
                kwargs=kwargs,
                queue=queue,
                task_id=new_task_id,
                headers={DEAD_LETTER_HEADER: letter_id},
            )
        finally:
            correlation.reset(token)

    transaction.on_commit(_send)
    logger.info("dead letter replayed", extra={"dead_letter_id": letter_id, "task_name": name})
    return letter


@transaction.atomic
def dead_letter_discard(*, dead_letter_id: int) -> DeadLetter:
    letter = DeadLetter.objects.select_for_update().get(pk=dead_letter_id)
    if letter.status != DeadLetterStatus.PENDING:
        raise ValueError(f"Dead letter {letter.pk} is {letter.status}, not pending.")
    letter.status = DeadLetterStatus.DISCARDED
    letter.resolved_at = timezone.now()
    letter.save(update_fields=["status", "resolved_at"])
    logger.info("dead letter discarded", extra={"dead_letter_id": letter.pk})
    return letter
