"""The pipeline's task policy: retries with backoff and jitter, dead letters, correlation ids.

Every stage task uses ``base=PipelineTask``:
- ``acks_late`` + ``reject_on_worker_lost``: a worker that dies mid-task leaves the message
  to be delivered again, so tasks must be idempotent (ids in, idempotency keys on effects);
- transient errors (``TRANSIENT_ERRORS``) retry 3 times with exponential backoff and jitter;
- a task that exhausts its retries, or raises any other (permanent) error, is recorded as a
  DeadLetter for staff to replay or discard.
"""

import logging
import os
import time
import traceback as tb
from datetime import UTC, datetime

import kombu.exceptions
import redis.exceptions
from celery import Task, current_task
from celery.signals import (
    before_task_publish,
    task_postrun,
    task_prerun,
    worker_init,
    worker_process_shutdown,
    worker_shutdown,
)
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, connections

from config import db_router
from core import correlation, metrics
from core.services import dead_letter_record
from core.task_headers import DEAD_LETTER_HEADER, FIRST_FAILED_HEADER

logger = logging.getLogger(__name__)

_CARRIED_HEADERS = (correlation.CELERY_HEADER, FIRST_FAILED_HEADER, DEAD_LETTER_HEADER)


class TransientError(Exception):
    """Raise from a task for a failure worth retrying (a node, a lock, a timeout)."""


TRANSIENT_ERRORS = (
    TransientError,
    OperationalError,
    InterfaceError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    kombu.exceptions.OperationalError,
    ConnectionError,
    TimeoutError,
)


class PipelineTask(Task):
    # Stages hand work on through the database, never through return values: storing results
    # cost a Redis write per task, and sending one a SUBSCRIBE/UNSUBSCRIBE pair per request.
    ignore_result = True
    acks_late = True
    reject_on_worker_lost = True
    autoretry_for = TRANSIENT_ERRORS
    max_retries = settings.PIPELINE_MAX_RETRIES
    retry_backoff = settings.PIPELINE_RETRY_BACKOFF
    retry_backoff_max = 300
    retry_jitter = True

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        request = self.request
        first = request.get(FIRST_FAILED_HEADER)
        try:
            dead_letter_record(
                task_name=self.name,
                task_id=task_id,
                args=list(args or ()),
                kwargs=dict(kwargs or {}),
                exc=exc,
                traceback="".join(tb.format_exception(exc)) if einfo is None else str(einfo.traceback),
                attempts=(request.retries or 0) + 1,
                first_failed_at=datetime.fromisoformat(first) if first else None,
                dead_letter_id=request.get(DEAD_LETTER_HEADER),
            )
        except Exception:  # never lose the original failure because the DB is also down
            logger.exception("could not record dead letter", extra={"task_name": self.name, "task_id": task_id})
        super().on_failure(exc, task_id, args, kwargs, einfo)


@before_task_publish.connect
def _stamp_headers(sender=None, headers=None, **_kwargs):
    """Carry the correlation id into every task; keep our headers across retries."""
    if headers is None:
        return
    running = current_task
    if running and not running.request.called_directly and running.request.id == headers.get("id"):
        # A retry of the running task: carry its stamps, note when it first failed.
        for name in _CARRIED_HEADERS:
            value = running.request.get(name)
            if value is not None:
                headers.setdefault(name, value)
        headers.setdefault(FIRST_FAILED_HEADER, datetime.now(UTC).isoformat())
    cid = correlation.get()
    if cid:
        headers.setdefault(correlation.CELERY_HEADER, cid)


_tokens: dict[str, tuple] = {}


@worker_init.connect
def _keep_database_connections(**_kwargs):
    """A worker's processes keep their database connections between tasks (a new PostgreSQL
    session per task cost more than many tasks do): without a pool, connections live for
    WORKER_CONN_MAX_AGE; with one, each pool process keeps its pool (CELERY_DB_REUSE_MAX stops
    Celery's fix-up from closing it per task). Set before the pool processes fork: they inherit it."""
    for alias in connections:
        database = connections.settings[alias]
        if not database.get("OPTIONS", {}).get("pool"):
            database["CONN_MAX_AGE"] = settings.WORKER_CONN_MAX_AGE
        database["CONN_HEALTH_CHECKS"] = True


def _between_tasks(task) -> None:
    """What Django does between requests, in a worker between tasks: drop a connection that broke,
    outlived its age or was left in a transaction, and check a reused one before its next query.
    Not for an eager task: it runs inside its caller's transaction."""
    if task is not None and not getattr(task.request, "is_eager", False):
        close_old_connections()


@task_prerun.connect
def _enter_task(task_id=None, task=None, **_kwargs):
    _between_tasks(task)
    # In a worker the id comes from the message; an eager task inherits its caller's.
    cid = (task.request.get(correlation.CELERY_HEADER) if task is not None else None) or correlation.get()
    # Tasks act on what was just committed: they read the primary.
    _tokens[task_id] = (correlation.set(cid or correlation.new_id()), db_router.pin_to_primary(), time.perf_counter())


@task_postrun.connect
def _leave_task(task_id=None, task=None, state=None, **_kwargs):
    _between_tasks(task)
    tokens = _tokens.pop(task_id, None)
    if tokens is None:
        return
    cid_token, pin_token, started = tokens
    metrics.TASK_DURATION.labels(task=getattr(task, "name", "?"), outcome=(state or "UNKNOWN").lower()).observe(
        time.perf_counter() - started
    )
    try:
        correlation.reset(cid_token)
        db_router.unpin(pin_token)
    except ValueError:  # a token from another context: clear instead
        correlation.set(None)


@worker_process_shutdown.connect
def _pool_process_exited(**_kwargs):
    metrics.process_exited(os.getpid())
    # Say goodbye to PostgreSQL rather than drop the kept sessions: the server then ends them at
    # once (a database being dropped, e.g. the test suite's, sees no straggling session).
    connections.close_all()


@worker_shutdown.connect
def _worker_exited(**_kwargs):
    connections.close_all()
