from django.conf import settings
from rest_framework.throttling import BaseThrottle

from core import ratelimit


class SlidingWindowThrottle(BaseThrottle):
    """Per API key (or user) for authenticated clients, per IP for anonymous ones.

    A view may set `throttle_scope`; its rate comes from RATE_LIMITS.
    """

    def allow_request(self, request, view):
        if not settings.RATE_LIMIT_ENABLED:
            return True
        authed = request.user is not None and request.user.is_authenticated
        scope = getattr(view, "throttle_scope", None) or ("api" if authed else "api_anon")
        if getattr(request, "auth", None) is not None and hasattr(request.auth, "prefix"):
            identity = ratelimit.identity_for(request, "api_key")
        else:
            identity = ratelimit.identity_for(request, "user_or_ip")
        self.decision = ratelimit.hit(
            scope=scope, identity=identity, rate=ratelimit.Rate.parse(settings.RATE_LIMITS[scope])
        )
        return self.decision.allowed

    def wait(self):
        return self.decision.retry_after
