"""The buyer's delivery pages: destinations (create, edit, rotate the signing secret, test-send,
a CRM mapping's preview on the sample lead) and a purchase's delivery log with redeliver. Thin:
integrations.services write, integrations.selectors read."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from integrations import payload, selectors
from integrations.forms import DestinationForm
from integrations.models import Delivery, Destination
from integrations.services import deliveries, destinations
from integrations.tasks import delivery_queue


def _destination(request, pk: int) -> Destination:
    try:
        return selectors.destination_get_for_owner(owner=request.user, destination_id=pk)
    except Destination.DoesNotExist:
        raise Http404("No such destination.") from None


def _values(form: DestinationForm) -> dict:
    data = dict(form.cleaned_data)
    data.pop("kind", None)
    data.pop("name", None)
    data.pop("authorization", None)
    if not data.get("mapping"):
        data.pop("mapping", None)
    return data


@login_required
def destination_list(request):
    form = DestinationForm(request.POST or None, owner=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            destination, secret = destinations.destination_create(
                owner=request.user,
                kind=form.cleaned_data["kind"],
                name=form.cleaned_data["name"],
                authorization=form.cleaned_data["authorization"],
                **_values(form),
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            if secret:
                request.session["integrations_secret"] = {"id": destination.pk, "secret": secret}
            return redirect("integrations:destination-detail", destination.pk)
    rows = selectors.destination_list_for_owner(owner=request.user)
    return render(request, "integrations/destinations.html", {"rows": rows, "form": form})


@login_required
def destination_detail(request, pk: int):
    destination = _destination(request, pk)
    initial = {
        "name": destination.name,
        "kind": destination.kind,
        "scope": destination.scope,
        "vertical": destination.vertical.slug if destination.vertical else None,
        "rule": destination.rule_id,
        "url": destination.url,
        "email": destination.email,
        "crm_preset": destination.crm_preset,
        "mapping": destination.mapping,
    }
    form = DestinationForm(request.POST or None, owner=request.user, editing=True, initial=initial)
    if request.method == "POST" and form.is_valid():
        values = _values(form)
        values["name"] = form.cleaned_data["name"]
        try:
            destinations.destination_update(
                destination=destination, authorization=form.cleaned_data["authorization"] or None, **values
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, "Destination saved.")
            return redirect("integrations:destination-detail", destination.pk)
    shown = request.session.pop("integrations_secret", None)
    secret = shown["secret"] if shown and shown.get("id") == destination.pk else ""
    preview = ""
    if destination.kind == Destination.Kind.CRM and destination.mapping:
        body, content_type = payload.crm_body(destination=destination, context=payload.sample_context())
        preview = body.decode()
        if content_type == "application/json":
            preview = json.dumps(json.loads(preview), indent=2)
    return render(
        request,
        "integrations/destination_detail.html",
        {
            "destination": destination,
            "form": form,
            "secret": secret,
            "preview": preview,
            "deliveries": selectors.delivery_list_for_destination(destination=destination, limit=20),
        },
    )


@login_required
@require_POST
def destination_rotate(request, pk: int):
    secret = destinations.destination_secret_rotate(destination=_destination(request, pk))
    request.session["integrations_secret"] = {"id": pk, "secret": secret}
    return redirect("integrations:destination-detail", pk)


@login_required
@require_POST
def destination_test_send(request, pk: int):
    delivery = deliveries.delivery_test_send(destination=_destination(request, pk))
    delivery_queue(delivery_id=delivery.pk)
    messages.success(request, "Test send of the sample lead queued; its outcome shows below.")
    return redirect("integrations:destination-detail", pk)


@login_required
@require_POST
def destination_archive(request, pk: int):
    destinations.destination_archive(destination=_destination(request, pk))
    messages.success(request, "Destination removed; nothing more is sent to it.")
    return redirect("integrations:destination-list")


@login_required
def purchase_deliveries(request, sale_id: int):
    rows = selectors.delivery_list_for_purchase(owner=request.user, sale_id=sale_id)
    return render(request, "integrations/purchase_deliveries.html", {"sale_id": sale_id, "rows": rows})


@login_required
@require_POST
def delivery_redeliver(request, pk: int):
    try:
        delivery = selectors.delivery_get_for_owner(owner=request.user, delivery_id=pk)
    except Delivery.DoesNotExist:
        raise Http404("No such delivery.") from None
    again = deliveries.delivery_redeliver(delivery=delivery)
    delivery_queue(delivery_id=again.pk)
    messages.success(request, "Sent again as a new delivery.")
    if delivery.sale_id:
        return redirect("integrations:purchase-deliveries", delivery.sale_id)
    return redirect("integrations:destination-detail", delivery.destination_id)
