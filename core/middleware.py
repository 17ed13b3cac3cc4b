"""Request-wide middleware: correlation ids and read-your-writes pinning."""

import hashlib
import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.shortcuts import render

from config import db_router
from core import correlation
from core.api.errors import is_api_path, json_error

logger = logging.getLogger(__name__)

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class RejectNulBytesMiddleware:
    """A NUL byte in the path or a query parameter is never meaningful here and PostgreSQL
    refuses it in text: answer 400 up front instead of failing deep inside a query."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        bad = [key for key, values in request.GET.lists() if "\x00" in key or any("\x00" in v for v in values)]
        if "\x00" in request.path or bad:
            message = "NUL characters are not allowed in the URL."
            if is_api_path(request.path):
                return json_error(
                    status=400,
                    code="nul_character",
                    message=message,
                    param=(bad[0].replace("\x00", "") or None) if bad else None,
                )
            return render(request, "400.html", {"message": message}, status=400)
        return self.get_response(request)


class ApiErrorMiddleware:
    """Under /api/ every error is the JSON error envelope, whatever produced it: an unknown path
    (Django's 404), a body Django refused before DRF saw it, an uncaught exception (the 500 page),
    a debug page. DRF's own errors are already enveloped (core/api/exceptions.py).

    Sits inside CorrelationIdMiddleware, so the envelope carries the request id."""

    KEPT_HEADERS = ("Retry-After", "WWW-Authenticate", "Allow")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code < 400 or not is_api_path(request.path_info) or self._is_json(response):
            return response
        fields = {}
        if response.status_code == 404:
            fields = {"code": "not_found", "message": f"No API endpoint at {request.path_info[:200]}; see /api/docs/."}
        replacement = json_error(status=response.status_code, **fields)
        for name in self.KEPT_HEADERS:
            if response.has_header(name):
                replacement[name] = response[name]
        return replacement

    @staticmethod
    def _is_json(response) -> bool:
        return response.get("Content-Type", "").split(";")[0].strip() == "application/json"


class CorrelationIdMiddleware:
    """Takes X-Request-ID (or makes one), exposes it as request.correlation_id, echoes it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        cid = correlation.clean(request.headers.get(correlation.HEADER))
        token = correlation.set(cid)
        request.correlation_id = cid
        try:
            response = self.get_response(request)
            response[correlation.HEADER] = cid
            return response
        finally:
            correlation.reset(token)


def client_pin_key(request, session_key: str | None) -> str | None:
    """Who 'the client' is for read-your-writes: its API key, else its session."""
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Api-Key "):
        raw = auth.removeprefix("Api-Key ").strip()
    elif session_key:
        raw = "s:" + session_key
    else:
        return None
    return "dbpin:" + hashlib.sha256(raw.encode()).hexdigest()[:32]


# pin key -> monotonic time the pin this process recorded in the cache ends
_PINS_RECORDED: dict[str, float] = {}


def pins_forget() -> None:
    """Forget the pins this process recorded (tests: a pin that expired)."""
    _PINS_RECORDED.clear()


class ReadYourWritesMiddleware:
    """Pins a client's reads to the primary for DATABASE_PIN_SECONDS after it writes.

    A client writing steadily (an integrator posting leads) would renew its pin in Redis on every
    request: this process remembers until when it recorded each pin and renews it only once less
    than half of it is left, and a read from a client it pinned itself needs no lookup. Without
    read replicas (DATABASE_READ_REPLICAS empty) there is nothing to pin: no Redis call at all."""

    MAX_REMEMBERED = 10_000

    def __init__(self, get_response):
        self.get_response = get_response
        self._recorded = _PINS_RECORDED

    def _pinned_here(self, key: str, *, margin: float) -> bool:
        return self._recorded.get(key, 0.0) - time.monotonic() > margin

    def _record(self, key: str) -> None:
        seconds = settings.DATABASE_PIN_SECONDS
        if self._pinned_here(key, margin=seconds / 2):
            return
        try:
            cache.set(key, 1, timeout=seconds)
        except Exception:  # noqa: BLE001 - cache down: the pin is a hint, the primary stays correct
            logger.warning("read-your-writes cache unavailable; pin not recorded")
            return
        if len(self._recorded) >= self.MAX_REMEMBERED:
            self._recorded.clear()
        self._recorded[key] = time.monotonic() + seconds

    def __call__(self, request):
        db_router.reset_context()
        if not settings.DATABASE_READ_REPLICAS:
            # Every read goes to the primary already: no pin to look up or record.
            try:
                return self.get_response(request)
            finally:
                db_router.reset_context()
        start_key = client_pin_key(request, request.COOKIES.get(settings.SESSION_COOKIE_NAME))
        if request.method in UNSAFE_METHODS or start_key and self._pinned_here(start_key, margin=0.0):
            db_router.pin_to_primary()
        elif start_key:
            try:
                if cache.get(start_key):
                    db_router.pin_to_primary()
            except Exception:  # noqa: BLE001 - cache down: reading the primary is always correct
                logger.warning("read-your-writes cache unavailable; pinning to primary")
                db_router.pin_to_primary()
        try:
            response = self.get_response(request)
            if db_router.wrote_in_context():
                session = getattr(request, "session", None)
                end_key = client_pin_key(request, session.session_key if session is not None else None)
                for key in {k for k in (start_key, end_key) if k}:
                    self._record(key)
            return response
        finally:
            db_router.reset_context()
