"""Pages for a buyer's dispositions: the bulk edit posted from My purchases, the CSV upload, the
CRM webhook's settings and recent calls, and the webhook endpoint itself (signed, no session).
Thin: escrow.services.dispositions checks access and writes."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from auctions.choices import DispositionChannel, DispositionStatus
from core.api.errors import envelope
from escrow.selectors import dispositions as disposition_selectors
from escrow.services import dispositions


def _error_lines(result) -> list[str]:
    return [f"#{e.purchase_id or '?'}: " + " ".join(e.errors.values()) for e in result.errors]


@require_POST
@login_required
def disposition_bulk(request):
    """Set one disposition on the purchases ticked on My purchases."""
    sale_ids = request.POST.getlist("sale")[: dispositions.MAX_ROWS]
    if not sale_ids:
        messages.error(request, "Tick at least one purchase.")
        return redirect("escrow:purchase-list")
    result = dispositions.purchase_dispositions_bulk_set(
        user=request.user,
        sale_ids=sale_ids,
        status=request.POST.get("status", ""),
        revenue=request.POST.get("revenue"),
        reason=request.POST.get("reason"),
        channel=DispositionChannel.PAGE,
    )
    if result.applied or result.unchanged:
        messages.success(request, f"Disposition set on {result.applied + result.unchanged} purchase(s).")
    errors = {tuple(e.errors.items()) for e in result.errors}
    for items in sorted(errors):
        messages.error(request, " ".join(message for _, message in items))
    back = request.POST.get("cursor", "")[:200]
    return redirect(reverse("escrow:purchase-list") + (f"?cursor={back}" if back else ""))


@require_http_methods(["GET", "POST"])
@login_required
def disposition_import(request):
    """Upload a CSV of dispositions: valid rows applied, the others listed with their line."""
    result, refused = None, ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            refused = "Choose a CSV file."
        elif upload.size > dispositions.MAX_CSV_BYTES:
            refused = f"The file is larger than {dispositions.MAX_CSV_BYTES // 1024} KiB: split it."
        else:
            try:
                result = dispositions.purchase_dispositions_import_csv(user=request.user, data=upload.read())
            except dispositions.CsvRefused as exc:
                refused = str(exc)
    return render(
        request,
        "escrow/disposition_import.html",
        {
            "result": result,
            "refused": refused,
            "statuses": DispositionStatus.choices,
            "max_rows": dispositions.MAX_ROWS,
        },
        status=400 if refused else 200,
    )


@require_http_methods(["GET", "POST"])
@login_required
def disposition_webhook(request):
    """The CRM webhook: its URL, the secret (shown once after creating or rotating), recent calls."""
    secret = ""
    if request.method == "POST":
        webhook = dispositions.disposition_webhook_rotate(buyer=request.user)
        secret = dispositions.disposition_webhook_secret(webhook=webhook)
    webhook, events = disposition_selectors.disposition_webhook_for_buyer(buyer=request.user)
    url = request.build_absolute_uri(reverse("disposition-hook", args=[webhook.token])) if webhook else ""
    response = render(
        request,
        "escrow/disposition_webhook.html",
        {"webhook": webhook, "events": events, "secret": secret, "url": url, "header": dispositions.SIGNATURE_HEADER},
    )
    response["Cache-Control"] = "private, no-store"
    return response


@csrf_exempt
@require_POST
def disposition_hook(request, token: str):
    """The inbound webhook (escrow.services.dispositions.disposition_webhook_receive): JSON in,
    the error envelope on every refusal."""
    length = request.META.get("CONTENT_LENGTH") or "0"
    if length.isdigit() and int(length) > dispositions.MAX_BODY_BYTES:
        # Not read at all; an empty body of the right size stands in for the event's record.
        body = b"\0" * (dispositions.MAX_BODY_BYTES + 1)
    else:
        body = request.read(dispositions.MAX_BODY_BYTES + 1)
    answer = dispositions.disposition_webhook_receive(
        token=token, body=body, signature=request.headers.get(dispositions.SIGNATURE_HEADER, "")
    )
    if answer.status == 200:
        return JsonResponse({"applied": answer.applied, "unchanged": answer.unchanged})
    return JsonResponse(
        envelope(status=answer.status, code=answer.code, message=answer.message, errors=answer.errors),
        status=answer.status,
        json_dumps_params={"ensure_ascii": False},
    )
