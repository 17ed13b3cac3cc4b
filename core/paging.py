"""Keyset ("seek") paging for the pages: newest first, a cursor is the last row's key, so a page
costs the same however deep it is and rows never repeat or vanish while new ones arrive. A
missing or malformed cursor is the first page."""

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime

MAX_CURSOR = 200


@dataclass(frozen=True)
class Page:
    rows: list
    next_cursor: str  # empty on the last page


def cursor_encode(*parts) -> str:
    raw = "|".join(p.isoformat() if isinstance(p, datetime) else str(p) for p in parts)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _raw(cursor: str | None) -> str | None:
    if not cursor or len(cursor) > MAX_CURSOR:
        return None
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


def cursor_decode_time_id(cursor: str | None) -> tuple[datetime, int] | None:
    """(created_at, id) from a cursor, or None (first page)."""
    raw = _raw(cursor)
    if raw is None:
        return None
    when, _, pk = raw.partition("|")
    try:
        moment = parse_datetime(when)
        return (moment, int(pk)) if moment is not None and moment.tzinfo is not None else None
    except ValueError:
        return None


def cursor_decode_id(cursor: str | None) -> int | None:
    raw = _raw(cursor)
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def page_of(rows: list, size: int, key) -> Page:
    """`rows` fetched as size + 1 (the extra row says there is a next page); `key(row)` is the
    cursor's parts."""
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, cursor_encode(*key(rows[-1])) if more and rows else "")


def page_newest_first(qs: QuerySet, *, cursor: str | None, size: int) -> Page:
    """One page of `qs` on the (created_at, id) keyset, newest first (one query)."""
    after = cursor_decode_time_id(cursor)
    if after is not None:
        when, pk = after
        qs = qs.filter(Q(created_at__lt=when) | Q(created_at=when, pk__lt=pk))
    return page_of(list(qs.order_by("-created_at", "-id")[: size + 1]), size, lambda row: (row.created_at, row.pk))


def page_newest_id_first(qs: QuerySet, *, cursor: str | None, size: int) -> Page:
    """One page of `qs` on the id keyset, newest first (one query)."""
    after = cursor_decode_id(cursor)
    if after is not None:
        qs = qs.filter(pk__lt=after)
    return page_of(list(qs.order_by("-id")[: size + 1]), size, lambda row: (row.pk,))
