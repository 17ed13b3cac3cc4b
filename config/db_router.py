"""Primary/replica routing with read-your-writes pinning.

Writes always go to the primary. A read goes to a replica only when it is safe to be a
little stale:
- not inside a transaction on the primary (services decide money and bids inside one);
- not while the current context is pinned: a client that wrote within the last
  DATABASE_PIN_SECONDS (see ReadYourWritesMiddleware), a Celery task, or `primary()` blocks.
Pin state lives in contextvars, so it is per request/task even under ASGI and in consumers.
"""

import random
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import connections

PRIMARY = "default"
# Models that every request reads to authenticate: never stale, or a fresh log-in or a new
# API key would look invalid on a lagging replica.
ALWAYS_PRIMARY = {"sessions.session", "accounts.user", "accounts.apikey"}

_pinned: ContextVar[bool] = ContextVar("db_pinned", default=False)
_wrote: ContextVar[bool] = ContextVar("db_wrote", default=False)


def pin_to_primary():
    """Pin this context to the primary; returns a token for `unpin`."""
    return _pinned.set(True)


def unpin(token) -> None:
    _pinned.reset(token)


def wrote_in_context() -> bool:
    return _wrote.get()


def reset_context() -> None:
    _pinned.set(False)
    _wrote.set(False)


@contextmanager
def primary():
    """Read from the primary inside the block (for reads that decide something)."""
    token = _pinned.set(True)
    try:
        yield
    finally:
        _pinned.reset(token)


@contextmanager
def bookkeeping():
    """Writes inside the block do not pin the context (last-used stamps and the like)."""
    pinned, wrote = _pinned.set(_pinned.get()), _wrote.set(_wrote.get())
    try:
        yield
    finally:
        _pinned.reset(pinned)
        _wrote.reset(wrote)


def replica_alias() -> str:
    """The alias a stale-tolerant read would use right now."""
    replicas = settings.DATABASE_READ_REPLICAS
    if not replicas or _pinned.get() or connections[PRIMARY].in_atomic_block:
        return PRIMARY
    return replicas[0] if len(replicas) == 1 else random.choice(replicas)


class PrimaryReplicaRouter:
    def db_for_read(self, model, **hints):
        if model._meta.label_lower in ALWAYS_PRIMARY:
            return PRIMARY
        return replica_alias()

    def db_for_write(self, model, **hints):
        # Everything after a write in this context reads what it wrote.
        _wrote.set(True)
        _pinned.set(True)
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == PRIMARY
