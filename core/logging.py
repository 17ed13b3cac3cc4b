"""Structured JSON log lines carrying the correlation id (python-json-logger)."""

import logging
from datetime import UTC, datetime

from pythonjsonlogger.json import JsonFormatter as _JsonLines

from core import correlation


class CorrelationIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "correlation_id", None):
            # django.request logs after the middleware returned: the request still knows its id.
            request = getattr(record, "request", None)
            record.correlation_id = correlation.get() or getattr(request, "correlation_id", None)
        return True


class JsonFormatter(_JsonLines):
    """One JSON object per line: ts (UTC, milliseconds), level, logger, message, correlation_id,
    process, then the record's extra fields (values JSON cannot hold as their repr; a request as
    "METHOD path", never its repr: its query string may carry a form token)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("json_default", repr)
        kwargs.setdefault("json_ensure_ascii", False)
        super().__init__("%(levelname)s %(name)s %(message)s %(correlation_id)s %(process)d", *args, **kwargs)

    def add_fields(self, log_data, record: logging.LogRecord, message_dict) -> None:
        log_data["ts"] = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        super().add_fields(log_data, record, message_dict)
        log_data["correlation_id"] = log_data.get("correlation_id") or correlation.get()
        request = log_data.get("request")
        if request is not None and hasattr(request, "method"):
            log_data["request"] = f"{request.method} {getattr(request, 'path', '')}"
