"""Platform pages every deployment has: /favicon.ico, /healthz and /metrics."""

import hmac

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from core import metrics
from core.health import health_report
from core.ratelimit import rate_limit


@require_GET
def favicon(request):
    """Browsers ask for /favicon.ico on pages that do not link one (admin, the API docs)."""
    return redirect(static("favicon.svg"), permanent=True)


@never_cache
@require_GET
@rate_limit("healthz", key="ip")  # it touches every service: not a free amplifier for anyone
def healthz(request):
    report = health_report()
    return JsonResponse(report, status=200 if report["ok"] else 503)


def _metrics_allowed(request) -> bool:
    if settings.METRICS_PUBLIC:
        return True
    if request.user.is_authenticated and request.user.is_staff:
        return True
    token = settings.METRICS_TOKEN
    presented = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return bool(token) and hmac.compare_digest(presented.encode(), token.encode())


@never_cache
@require_GET
def metrics_view(request):
    if not _metrics_allowed(request):
        return HttpResponse("Metrics need a bearer token.", status=401, headers={"WWW-Authenticate": "Bearer"})
    return HttpResponse(metrics.exposition(), content_type=CONTENT_TYPE_LATEST)
