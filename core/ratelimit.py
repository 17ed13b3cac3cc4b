"""Rate limits: the pages' and forms' (log-in, sign-up, hosted form, faucet) through
django-ratelimit, and the API's and /healthz's as a sliding window in Redis (an in-process twin
for the embedded profile).

Pages count with django-ratelimit (`check`): fixed windows in the default cache, which is all a
form that people submit by hand needs. The API keeps its own limiter because its limit is a
contract integrators build against (RATE_LIMITS["api"], 1000 requests per 60 s per key, with
Retry-After): a fixed window admits up to twice the limit across a window's edge, the sliding
window never more than the limit in any 60 s. A sorted set per key holds the timestamps of the
requests in the last window; a request is admitted while fewer than `limit` remain; check and
record happen atomically in one Lua script.
"""

import re
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.http import HttpResponse
from django.template.defaultfilters import pluralize
from django_ratelimit.core import get_usage

from core.api.errors import json_error
from core.metrics import RATE_LIMITED
from core.redis import get_redis

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*s?\s*$")

_LUA = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count < limit then
  redis.call('ZADD', key, now, ARGV[4])
  redis.call('PEXPIRE', key, window)
  return {1, limit - count - 1, 0}
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
local retry = window
if oldest[2] then retry = tonumber(oldest[2]) + window - now end
return {0, 0, retry}
"""


@dataclass(frozen=True)
class Rate:
    limit: int
    window_seconds: int

    @classmethod
    def parse(cls, text: str) -> "Rate":
        match = _RATE.match(text or "")
        if not match or int(match.group(1)) < 1 or int(match.group(2)) < 1:
            raise ValueError(f"Bad rate {text!r}; expected '<count>/<seconds>s', e.g. '1000/60s'.")
        return cls(int(match.group(1)), int(match.group(2)))


@dataclass(frozen=True)
class Decision:
    allowed: bool
    remaining: int
    retry_after: int  # whole seconds until a request would be admitted (0 when allowed)


class _LocalWindows:
    def __init__(self):
        self._lock = threading.Lock()
        self._hits: dict[str, deque] = {}

    def hit(self, key: str, now_ms: int, window_ms: int, limit: int) -> tuple[int, int, int]:
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now_ms - window_ms:
                hits.popleft()
            if len(hits) < limit:
                hits.append(now_ms)
                return 1, limit - len(hits), 0
            return 0, 0, hits[0] + window_ms - now_ms

    def clear(self):
        with self._lock:
            self._hits.clear()


_local = _LocalWindows()


def hit(*, scope: str, identity: str, rate: Rate, now_ms: int | None = None) -> Decision:
    """Count one request for (scope, identity) and say whether it is admitted.

    `now_ms` is injectable so tests can walk the window without sleeping.
    """
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    window_ms = rate.window_seconds * 1000
    key = f"rl:{scope}:{identity}"
    client = get_redis()
    if client is None:
        allowed, remaining, retry_ms = _local.hit(key, now_ms, window_ms, rate.limit)
    else:
        allowed, remaining, retry_ms = client.eval(
            _LUA, 1, key, now_ms, window_ms, rate.limit, f"{now_ms}-{uuid.uuid4().hex[:8]}"
        )
    if not allowed:
        RATE_LIMITED.labels(scope=scope).inc()
    return Decision(bool(allowed), int(remaining), max(1, -(-int(retry_ms) // 1000)) if not allowed else 0)


def client_ip(request) -> str:
    """The client's address, trusting X-Forwarded-For only for TRUSTED_PROXY_COUNT proxies."""
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        chain = [part.strip() for part in forwarded.split(",") if part.strip()]
        if len(chain) >= proxies:
            return chain[-proxies]
    return request.META.get("REMOTE_ADDR", "unknown")


def identity_for(request, key: str) -> str:
    """'user', 'api_key', 'ip' or 'user_or_ip'."""
    user = getattr(request, "user", None)
    authed = bool(user is not None and user.is_authenticated)
    if key == "api_key":
        auth = getattr(request, "auth", None)
        prefix = getattr(auth, "prefix", None)
        return f"key:{prefix}" if prefix else f"ip:{client_ip(request)}"
    if key == "user":
        return f"user:{user.pk}" if authed else f"ip:{client_ip(request)}"
    if key == "ip":
        return f"ip:{client_ip(request)}"
    if key == "user_or_ip":
        return f"user:{user.pk}" if authed else f"ip:{client_ip(request)}"
    raise ValueError(f"Unknown rate-limit key {key!r}")


def too_many_requests(decision: Decision) -> HttpResponse:
    """429 with Retry-After in the API's error envelope (machine endpoints: the API, /healthz)."""
    wait = decision.retry_after
    response = json_error(
        status=429, code="rate_limited", message=f"Too many requests. Try again in {wait} seconds.", retry_after=wait
    )
    response["Retry-After"] = str(wait)
    return response


def check(request, scope: str, *, key: str = "user_or_ip") -> Decision | None:
    """Count one request of `scope` (RATE_LIMITS[scope]) for this client with django-ratelimit:
    the refusing Decision when it is over the limit, None when it may go on (always None with
    RATE_LIMIT_ENABLED off). Pages use it to answer on the page itself: see limited()."""
    if not settings.RATE_LIMIT_ENABLED:
        return None
    rate = Rate.parse(settings.RATE_LIMITS[scope])
    usage = get_usage(
        request,
        group=scope,
        key=lambda group, request: identity_for(request, key),
        rate=f"{rate.limit}/{rate.window_seconds}s",
        increment=True,
    )
    if usage is None or not usage["should_limit"]:
        return None
    RATE_LIMITED.labels(scope=scope).inc()
    return Decision(allowed=False, remaining=0, retry_after=max(1, int(usage["time_left"])))


def wait_text(seconds: int) -> str:
    """How long to wait, for people: "42 seconds", "59 minutes", "3 hours" (rounded up)."""
    if seconds < 60:
        return f"{seconds} second{pluralize(seconds)}"
    minutes = -(-seconds // 60)
    if minutes < 120:
        return f"{minutes} minute{pluralize(minutes)}"
    hours = -(-minutes // 60)
    return f"{hours} hours"


def limited(response: HttpResponse, decision: Decision) -> HttpResponse:
    """A page that says on itself why the request was refused (the caller renders it with its
    message and wait_text): 429 with Retry-After, as the API answers."""
    response.status_code = 429
    response["Retry-After"] = str(decision.retry_after)
    return response


def rate_limit(scope: str, *, key: str = "user_or_ip", methods: tuple[str, ...] | None = None):
    """Decorate a machine endpoint (JSON, such as /healthz): over the limit of RATE_LIMITS[scope] it
    answers 429 with the API's error envelope. Pages do not use it: they answer on themselves, with
    a message and what was typed (check() and limited())."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if settings.RATE_LIMIT_ENABLED and (methods is None or request.method in methods):
                decision = hit(
                    scope=scope, identity=identity_for(request, key), rate=Rate.parse(settings.RATE_LIMITS[scope])
                )
                if not decision.allowed:
                    return too_many_requests(decision)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
