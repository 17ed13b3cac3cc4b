"""Structured JSON log lines carrying the correlation id."""

import json
import logging
from datetime import UTC, datetime

from marketplace import correlation

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "correlation_id"}


class CorrelationIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "correlation_id", None):
            # django.request logs after the middleware returned: the request still knows its id.
            request = getattr(record, "request", None)
            record.correlation_id = correlation.get() or getattr(request, "correlation_id", None)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "correlation_id": getattr(record, "correlation_id", None) or correlation.get(),
            "process": record.process,
        }
        for key, value in vars(record).items():
            if key == "request" and hasattr(value, "method"):
                # Not repr(request): its query string may carry a form token.
                payload["request"] = f"{value.method} {getattr(value, 'path', '')}"
                continue
            if key not in _STANDARD and not key.startswith("_"):
                payload[key] = value if isinstance(value, (str, int, float, bool, type(None))) else repr(value)
        if record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False)
