"""Request-wide middleware: correlation ids and read-your-writes pinning."""

import hashlib
import logging

from django.conf import settings
from django.core.cache import cache
from django.http import JsonResponse

from config import db_router
from marketplace import correlation

logger = logging.getLogger(__name__)

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class RejectNulBytesMiddleware:
    """A NUL byte in the path or a query parameter is never meaningful here and PostgreSQL
    refuses it in text: answer 400 up front instead of failing deep inside a query."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or any("\x00" in key or any("\x00" in v for v in values)
                                         for key, values in request.GET.lists()):
            body = {"detail": "NUL characters are not allowed in the URL."}
            return JsonResponse(body, status=400)
        return self.get_response(request)


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


class ReadYourWritesMiddleware:
    """Pins a client's reads to the primary for DATABASE_PIN_SECONDS after it writes."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        db_router.reset_context()
        start_key = client_pin_key(request, request.COOKIES.get(settings.SESSION_COOKIE_NAME))
        if request.method in UNSAFE_METHODS:
            db_router.pin_to_primary()
        elif start_key:
            try:
                if cache.get(start_key):
                    db_router.pin_to_primary()
            except Exception:  # cache down: reading the primary is always correct
                logger.warning("read-your-writes cache unavailable; pinning to primary")
                db_router.pin_to_primary()
        try:
            response = self.get_response(request)
            if db_router.wrote_in_context():
                session = getattr(request, "session", None)
                end_key = client_pin_key(request, session.session_key if session is not None else None)
                for key in {k for k in (start_key, end_key) if k}:
                    try:
                        cache.set(key, 1, timeout=settings.DATABASE_PIN_SECONDS)
                    except Exception:
                        logger.warning("read-your-writes cache unavailable; pin not recorded")
            return response
        finally:
            db_router.reset_context()
