"""Pages: the notification list (mark one or all read), the preferences, and the one-click
unsubscribe from an email (no login: the link is signed). Thin: services write, selectors read."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from notifications import selectors, services
from notifications.choices import NotificationEvent
from notifications.forms import PreferencesForm
from notifications.models import Notification


@require_GET
@login_required
def notification_list(request):
    page = selectors.notification_page_for(user=request.user, cursor=(request.GET.get("cursor") or "")[:200])
    return render(
        request,
        "notifications/list.html",
        {
            "rows": page.rows,
            "first_page": not request.GET.get("cursor"),
            "next_url": f"?cursor={page.next_cursor}" if page.next_cursor else "",
        },
    )


def _safe_next(request, url: str) -> str:
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=False):
        return url
    return ""


@require_POST
@login_required
def notification_read(request, notification_id: int):
    """Mark one read; then follow it (`open`) or go back to the list."""
    try:
        row = services.notification_mark_read(user=request.user, notification_id=notification_id)
    except Notification.DoesNotExist:
        raise Http404("No such notification.") from None
    if request.POST.get("open") and (target := _safe_next(request, row.url)):
        return redirect(target)
    return redirect("notifications:list")


@require_POST
@login_required
def notification_read_all(request):
    count = services.notification_mark_all_read(user=request.user)
    messages.success(request, f"Marked {count} notification{'s' if count != 1 else ''} read.")
    return redirect("notifications:list")


@require_http_methods(["GET", "POST"])
@login_required
def notification_preferences(request):
    choices = selectors.preferences_for(user=request.user)
    initial = {"low_balance_threshold": selectors.low_balance_threshold_for(user=request.user)}
    form = PreferencesForm(request.POST or None, choices=choices, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.preferences_update(
            user=request.user,
            choices=form.channels(),
            low_balance_threshold=form.cleaned_data["low_balance_threshold"],
            threshold=True,
        )
        messages.success(request, "Notification preferences saved.")
        return redirect("notifications:preferences")
    return render(request, "notifications/preferences.html", {"form": form}, status=400 if form.errors else 200)


@csrf_exempt  # RFC 8058: mail clients POST the one-click unsubscribe with no session; the token is the proof
@require_http_methods(["GET", "POST"])
def notification_unsubscribe(request, token: str):
    """GET: a page confirming what the link unsubscribes from; POST: unsubscribe (one click)."""
    found = services.unsubscribe_token_read(token)
    if found is None:
        return render(request, "notifications/unsubscribe_invalid.html", status=400)
    user_id, event = found
    context = {"event_label": NotificationEvent(event).label, "token": token}
    if request.method == "POST":
        if not services.notification_unsubscribe(user_id=user_id, event=event):
            return render(request, "notifications/unsubscribe_invalid.html", status=404)
        return render(request, "notifications/unsubscribe_done.html", context)
    return render(request, "notifications/unsubscribe.html", context)
