"""Keyset ("seek") paging for the pages: newest first, a cursor is the last row's key, so a page
costs the same however deep it is and rows never repeat or vanish while new ones arrive. A
missing or malformed cursor is the first page. The cursor codec here is the only one: the lead
table (leads.selectors) and the API's cursor pagination (core/api/pagination.py) use it too."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core import signing
from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime

MAX_CURSOR = 1000


@dataclass(frozen=True)
class Page:
    rows: list
    next_cursor: str  # empty on the last page


def cursor_dumps(data: Any, *, kind: str) -> str:
    """The one cursor codec, for the pages, the lead table and the API's cursor pagination: `data`
    (JSON) compressed and signed, so a cursor is always one this site issued for this kind of list
    and nobody has to guard against a hand-made one."""
    return signing.dumps(data, salt=f"leadengine.cursor.{kind}", compress=True)


def cursor_loads(token: str | None, *, kind: str) -> Any | None:
    """What `cursor_dumps` encoded, or None for a missing, oversized, altered or foreign cursor."""
    if not token or len(token) > MAX_CURSOR:
        return None
    try:
        return signing.loads(token, salt=f"leadengine.cursor.{kind}")
    except (signing.BadSignature, ValueError, TypeError, UnicodeError):
        return None


def cursor_encode(*parts) -> str:
    """A page cursor from the last row's key (datetimes as ISO 8601)."""
    return cursor_dumps([p.isoformat() if isinstance(p, datetime) else p for p in parts], kind="page")


def cursor_decode_time_id(cursor: str | None) -> tuple[datetime, int] | None:
    """(created_at, id) from a cursor, or None (first page)."""
    parts = cursor_loads(cursor, kind="page")
    if not isinstance(parts, list) or len(parts) != 2 or not isinstance(parts[0], str) or type(parts[1]) is not int:
        return None
    try:
        moment = parse_datetime(parts[0])
    except ValueError:
        return None
    return (moment, parts[1]) if moment is not None and moment.tzinfo is not None else None


def cursor_decode_id(cursor: str | None) -> int | None:
    parts = cursor_loads(cursor, kind="page")
    if not isinstance(parts, list) or len(parts) != 1 or type(parts[0]) is not int:
        return None
    return parts[0]


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
