"""The correlation id that follows a lead from HTTP through tasks, sockets and the chain."""

import re
import uuid
from contextvars import ContextVar

_current: ContextVar[str | None] = ContextVar("correlation_id", default=None)
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

HEADER = "X-Request-ID"
CELERY_HEADER = "le_correlation_id"


def new_id() -> str:
    return uuid.uuid4().hex


def clean(candidate: str | None) -> str:
    """An incoming id if it is safe to log and echo, otherwise a fresh one."""
    if candidate and _VALID.match(candidate):
        return candidate
    return new_id()


def get() -> str | None:
    return _current.get()


def set(value: str | None):  # noqa: A001 - mirrors ContextVar.set
    return _current.set(value)


def reset(token) -> None:
    _current.reset(token)
