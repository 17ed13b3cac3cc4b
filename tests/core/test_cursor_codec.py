"""One cursor codec (core.paging) for the pages, the lead table and the API: a cursor is signed
for the kind of list that issued it, and anything else reads as no cursor (the caller then shows
the first page, or answers 400 naming `cursor`)."""

from datetime import UTC, datetime

from core.paging import cursor_decode_id, cursor_decode_time_id, cursor_dumps, cursor_encode, cursor_loads


def test_a_cursor_reads_back_only_in_the_kind_of_list_that_issued_it():
    token = cursor_dumps({"o": 0, "r": False, "p": "2026-12-06T05:00:00+00:00"}, kind="api")
    assert cursor_loads(token, kind="api") == {"o": 0, "r": False, "p": "2026-12-06T05:00:00+00:00"}
    assert cursor_loads(token, kind="leads") is None
    assert cursor_loads(token[:-3] + "abc", kind="api") is None
    assert cursor_loads("x" * 1001, kind="api") is None
    assert cursor_loads("", kind="api") is None and cursor_loads(None, kind="api") is None


def test_page_cursors_carry_the_last_rows_key():
    moment = datetime(2026, 12, 6, 5, 0, tzinfo=UTC)
    assert cursor_decode_time_id(cursor_encode(moment, 41)) == (moment, 41)
    assert cursor_decode_id(cursor_encode(41)) == 41
    # A signed cursor of the wrong shape is the first page, never an error.
    assert cursor_decode_time_id(cursor_encode(41)) is None
    assert cursor_decode_id(cursor_encode(moment, 41)) is None
    assert cursor_decode_time_id(cursor_dumps(["not a moment", 1], kind="page")) is None
    assert cursor_decode_time_id(cursor_dumps(["2026-12-06T05:00:00", 1], kind="page")) is None  # naive
