"""The seller's integrations page: ad-platform connections (URL, secret, mapping), their last
events with status and errors, and replay. Thin: leads.adplatforms does the work."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from core.errors import NotFoundError
from leads.adplatforms import connections, processing, selectors
from leads.choices import AdPlatform
from leads.forms import MAPPING_PREFIX, AdConnectionForm
from leads.views.intake import seller_required

EVENTS_SHOWN = 50


def _hook_url(request, connection) -> str:
    name = "hook-google" if connection.platform == AdPlatform.GOOGLE else "hook-meta"
    return request.build_absolute_uri(reverse(name, args=[connection.token]))


def _access(request, connection_id: int):
    try:
        return connections.access_ad_connection(seller=request.user, connection_id=connection_id)
    except NotFoundError:
        raise Http404("No such connection.") from None


@never_cache
@seller_required
def integrations(request):
    form = AdConnectionForm(request.POST or None, targets=[], field_names=[])
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = connections.ad_connection_create(
                seller=request.user,
                platform=data["platform"],
                vertical=data["vertical"],
                name=data["name"],
                form_ids=form.form_id_list(),
                consent_text=data["consent_text"],
                app_secret=data["app_secret"],
                page_access_token=data["page_access_token"],
            )
        except connections.ConnectionInvalid as exc:
            form.add_service_errors(exc.errors)
        else:
            messages.success(
                request, "Connection created: paste its URL and secret into the platform, then check the mapping."
            )
            return redirect("seller-integration", connection_id=created.pk)
    rows = list(selectors.ad_connection_list(seller=request.user))
    for row in rows:
        row.hook_url = _hook_url(request, row)
    return render(
        request,
        "leads/integrations.html",
        {"connections": rows, "form": form},
        status=400 if form.errors else 200,
    )


@never_cache
@seller_required
def integration_detail(request, connection_id: int):
    connection = _access(request, connection_id)
    targets = connections.ad_connection_targets(vertical=connection.vertical)
    field_names = selectors.ad_connection_field_names(connection=connection)
    initial = {
        "name": connection.name,
        "form_ids": "\n".join(connection.form_ids),
        "consent_text": connection.consent_text,
        "active": connection.active,
    } | {MAPPING_PREFIX + key: value for key, value in connection.mapping.items()}
    form = AdConnectionForm(
        request.POST or None, initial=initial, targets=targets, field_names=field_names, editing=True
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            connections.ad_connection_update(
                connection=connection,
                name=data["name"],
                form_ids=form.form_id_list(),
                mapping=form.mapping(),
                consent_text=data["consent_text"],
                active=data["active"],
                app_secret=data["app_secret"],
                page_access_token=data["page_access_token"],
            )
        except connections.ConnectionInvalid as exc:
            form.add_service_errors(
                {(MAPPING_PREFIX + k if k not in form.fields else k): v for k, v in exc.errors.items()}
            )
        else:
            messages.success(request, "Saved. Replay failed events to process them with the new mapping.")
            return redirect("seller-integration", connection_id=connection.pk)
    events = list(selectors.ad_event_list(connection=connection)[:EVENTS_SHOWN])
    return render(
        request,
        "leads/integration_detail.html",
        {
            "connection": connection,
            "hook_url": _hook_url(request, connection),
            "secrets": connections.connection_secrets(connection=connection),
            "form": form,
            "field_names": field_names,
            "events": events,
        },
        status=400 if form.errors else 200,
    )


@seller_required
@require_POST
def integration_rotate(request, connection_id: int):
    connection = _access(request, connection_id)
    connections.ad_connection_rotate_secret(connection=connection)
    messages.success(request, "New secret made: the old one no longer works. Paste the new one into the platform now.")
    return redirect("seller-integration", connection_id=connection.pk)


@seller_required
@require_POST
def integration_event_replay(request, event_id: int):
    try:
        event = processing.ad_event_replay(seller=request.user, event_id=event_id)
    except NotFoundError:
        raise Http404("No such event.") from None
    except ValueError as exc:
        messages.error(request, str(exc))
        return redirect("seller-integrations")
    messages.success(request, "Replayed: the event is processed again with the connection as it is now.")
    return redirect("seller-integration", connection_id=event.connection_id)
