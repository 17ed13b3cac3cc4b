"""Process-local memo of rarely changing rows (API keys, vertical schemas), emptied everywhere on change.

A hot request path must not pay a database round trip for rows that change a few times a day.
Each process keeps its own dict; a change anywhere calls `invalidate()`, which empties this
process's dict at once and bumps a generation number in the shared cache (Redis in production).
Every other process compares that number at most every `recheck` seconds, so a change (a revoked
API key, an edited vertical field) is seen everywhere within `recheck` seconds, in the process that
made it immediately. Stored values must be treated as read-only: callers copy what they mutate.
"""

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from django.core.cache import cache
from django.db import transaction

_MISSING = object()
_ALL: "list[LocalCache]" = []


class LocalCache:
    def __init__(self, name: str, *, recheck: float = 1.0, max_entries: int = 10_000):
        self.name = name
        self.recheck = recheck
        self.max_entries = max_entries
        self._generation_key = f"localcache:{name}:generation"
        self._entries: dict[Hashable, Any] = {}
        self._generation: int | None = None
        self._checked_at = float("-inf")
        self._lock = threading.Lock()
        _ALL.append(self)

    def _current_generation(self) -> int:
        generation = cache.get(self._generation_key)
        if generation is None:
            cache.add(self._generation_key, 1, timeout=None)
            generation = cache.get(self._generation_key, 1)
        return generation

    def _fresh(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < self.recheck:
            return
        generation = self._current_generation()
        with self._lock:
            if generation != self._generation:
                self._entries = {}
                self._generation = generation
            self._checked_at = now

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        """The memoised value for `key`, else `load()` (stored unless it is None)."""
        self._fresh()
        value = self._entries.get(key, _MISSING)
        if value is not _MISSING:
            return value
        generation = self._generation
        value = load()
        if value is not None:
            with self._lock:
                if generation == self._generation:  # not emptied while loading
                    if len(self._entries) >= self.max_entries:
                        self._entries = {}
                    self._entries[key] = value
        return value

    def invalidate(self) -> None:
        """Empty this cache in every process: now here, within `recheck` seconds elsewhere, and
        again when the surrounding transaction commits (a reader may have cached the old row)."""
        self._bump()
        if transaction.get_connection().in_atomic_block:
            transaction.on_commit(self._bump)

    def _bump(self) -> None:
        with self._lock:
            self._entries = {}
            self._generation = None
            self._checked_at = float("-inf")
        try:
            cache.incr(self._generation_key)
        except ValueError:  # no generation yet (first use, or the cache was flushed)
            cache.add(self._generation_key, 2, timeout=None)

    def clear_local(self) -> None:
        """Forget this process's entries (tests: each test builds its own rows)."""
        with self._lock:
            self._entries = {}
            self._generation = None
            self._checked_at = float("-inf")


def clear_all_local() -> None:
    """Forget every LocalCache's entries in this process (tests: each test builds its own rows)."""
    for memo in _ALL:
        memo.clear_local()
