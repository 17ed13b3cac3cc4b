"""The inbound lead form webhooks (not part of /api/v1/: the platforms call them). Thin:
leads.adplatforms.hooks authenticates, stores and answers; errors use the API's JSON envelope."""

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from core.api import errors as api_errors
from core.ratelimit import client_ip
from leads.adplatforms import hooks


def _answer(answer: hooks.HookAnswer) -> JsonResponse:
    if answer.ok:
        return JsonResponse({"status": answer.code, "message": answer.message, "event": str(answer.event.ref)})
    return api_errors.json_error(status=answer.status, code=answer.code, message=answer.message)


def _body(request) -> tuple[bytes, int]:
    """The raw body, unread when its declared length is over the limit (only the size is kept)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > settings.LEADS_AD_HOOK_MAX_BYTES:
        return b"", declared
    body = request.read(settings.LEADS_AD_HOOK_MAX_BYTES + 1)
    return body, len(body)


@csrf_exempt
@never_cache
@require_http_methods(["POST"])
def google_hook(request, token: str):
    body, size = _body(request)
    return _answer(hooks.ad_hook_google(token=token, body=body, body_bytes=size, remote_ip=client_ip(request)))


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def meta_hook(request, token: str):
    if request.method == "GET":
        answer = hooks.ad_hook_meta_verify(
            token=token,
            mode=request.GET.get("hub.mode", ""),
            verify_token=request.GET.get("hub.verify_token", ""),
            challenge=request.GET.get("hub.challenge", ""),
            remote_ip=client_ip(request),
        )
        if answer.ok:
            return HttpResponse(answer.message, content_type="text/plain")
        return _answer(answer)
    body, size = _body(request)
    return _answer(
        hooks.ad_hook_meta(
            token=token,
            body=body,
            body_bytes=size,
            signature=request.META.get("HTTP_X_HUB_SIGNATURE_256", ""),
            remote_ip=client_ip(request),
        )
    )
