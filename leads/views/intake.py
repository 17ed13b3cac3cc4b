"""Page channels of lead intake: a seller's hosted form per vertical, and CSV imports.

Thin: lead_submit and leads.imports do the work. Consumer pages never echo anything but what
that consumer typed in this request, and are never cached.
"""

import csv
from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.core.validators import URLValidator
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from core import ratelimit
from core.ratelimit import client_ip
from leads import imports
from leads.choices import CsvImportStatus, LeadSource
from leads.forms import CsvMappingForm, CsvUploadForm, HostedLeadForm, hosted_form_consent_text
from leads.models import CsvImport, SellerFormToken
from leads.services import Outcome, SchemaCache, lead_submit, seller_form_token_get_or_create, seller_form_token_rotate
from leads.validation import LeadInvalid, check_lead_input
from verticals.choices import VerticalStatus
from verticals.models import Vertical

_url_validator = URLValidator(schemes=["http", "https"])
CHECK_ERRORS_PAGE_SIZE = 50  # rows of the mapping page's list of the file's validation errors


def _active_vertical(slug: str) -> Vertical:
    vertical = Vertical.objects.filter(slug=slug, status=VerticalStatus.ACTIVE).first()
    if vertical is None:
        raise Http404("No such form.")
    return vertical


def _form_seller(token: str):
    """The seller whose link this is; 404 for a missing, rotated or unknown token."""
    if not token or len(token) > 64:
        raise Http404("No such form.")
    found = SellerFormToken.objects.select_related("seller").filter(token=token).first()
    if found is None or not found.seller.is_active or not found.seller.is_seller:
        raise Http404("No such form.")
    return found.seller


def _page_url(request) -> str:
    """The form's address for the consent record, without the seller's token (buyers see this URL)."""
    url = request.build_absolute_uri(request.path)
    try:
        _url_validator(url)
    except ValidationError:  # an intranet host name: the URL is optional evidence, the lead still counts
        return ""
    return url


@never_cache
def hosted_form(request, slug: str):
    decision = ratelimit.check(request, "form", key="ip") if request.method == "POST" else None
    vertical = _active_vertical(slug)
    seller = _form_seller(request.GET.get("s", ""))
    schemas = SchemaCache()
    consent_text = hosted_form_consent_text(vertical=vertical, seller=seller)
    form = HostedLeadForm(request.POST if request.method == "POST" else None, schema=schemas.schema(vertical))
    context = {"vertical": vertical, "form": form, "consent_text": consent_text}
    if request.method != "POST":
        return render(request, "leads/hosted_form.html", context)
    if decision is not None:  # the form again, as typed, with the reason on top; nothing stored
        form.add_error(
            None,
            "Too many requests were sent from your network. Please try again in "
            f"{ratelimit.wait_text(decision.retry_after)}.",
        )
        return ratelimit.limited(render(request, "leads/hosted_form.html", context), decision)
    if form.is_spam:  # a bot filled the hidden field: look successful, store nothing
        return redirect("hosted-form-done", slug=vertical.slug)
    consent_given = form.is_valid()
    data = form.lead_data(
        consent={
            "text": consent_text,
            "timestamp": timezone.now().isoformat(),
            "ip": client_ip(request),
            "user_agent": request.META.get("HTTP_USER_AGENT", "")[:500],
            "page_url": _page_url(request),
        }
    )
    if not consent_given:
        try:  # no writes: only to show every error at once, not just the unticked box
            check_lead_input(data, schema=schemas.schema(vertical))
        except LeadInvalid as exc:
            form.add_lead_errors(exc.errors)
        return render(request, "leads/hosted_form.html", context, status=400)
    result = lead_submit(seller=seller, vertical=vertical, data=data, source=LeadSource.FORM, schemas=schemas)
    if result.accepted:
        return redirect("hosted-form-done", slug=vertical.slug)
    if result.outcome == Outcome.DUPLICATE:
        if result.duplicate_of_id is None:
            # Another seller has this contact: say nothing that would confirm it.
            return redirect("hosted-form-done", slug=vertical.slug)
        return render(request, "leads/form_duplicate.html", {"vertical": vertical})
    if result.outcome == Outcome.CAPPED:
        return render(request, "leads/form_unavailable.html", {"vertical": vertical}, status=429)
    form.add_lead_errors(result.errors)
    return render(request, "leads/hosted_form.html", context, status=400)


@never_cache
@require_GET
def hosted_form_done(request, slug: str):
    return render(request, "leads/hosted_form_done.html", {"vertical": _active_vertical(slug)})


# ---------------------------------------------------------------- seller pages


def seller_required(view):
    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_seller:
            raise PermissionDenied("Only seller accounts can use this page. Enable selling on your account page.")
        return view(request, *args, **kwargs)

    return wrapped


@seller_required
@require_GET
def seller_forms(request):
    token = seller_form_token_get_or_create(seller=request.user)
    query = urlencode({"s": token.token})
    links = [
        (v, request.build_absolute_uri(reverse("hosted-form", args=[v.slug])) + f"?{query}")
        for v in Vertical.objects.filter(status=VerticalStatus.ACTIVE).order_by("name")
    ]
    return render(request, "leads/seller_forms.html", {"links": links, "token": token})


@seller_required
@require_POST
def seller_forms_rotate(request):
    seller_form_token_rotate(seller=request.user)
    messages.success(request, "New form links are ready. The old links no longer work.")
    return redirect("seller-forms")


def _seller_import(request, import_id: int) -> CsvImport:
    """The seller's own import (without the file); another seller's answers 404."""
    return get_object_or_404(
        CsvImport.objects.defer("content").select_related("vertical"), pk=import_id, seller=request.user
    )


@seller_required
@require_GET
def csv_import_list(request):
    rows = (
        CsvImport.objects.filter(seller=request.user)
        .select_related("vertical")
        .defer("content")
        .order_by("-created_at", "-id")[:200]
    )
    return render(request, "leads/import_list.html", {"imports": rows})


@seller_required
def csv_import_new(request):
    form = CsvUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            created = imports.csv_import_create(
                seller=request.user, vertical=form.cleaned_data["vertical"], filename=upload.name, content=upload.read()
            )
        except imports.CsvImportInvalid as exc:
            for name, errors in exc.errors.items():
                for error in errors:
                    form.add_error(name if name in form.fields else None, error)
        else:
            return redirect("csv-import-map", import_id=created.pk)
    return render(request, "leads/import_new.html", {"form": form}, status=400 if form.errors else 200)


@seller_required
def csv_import_map(request, import_id: int):
    csv_import = _seller_import(request, import_id)
    if csv_import.status not in (CsvImportStatus.UPLOADED, CsvImportStatus.MAPPED):
        return redirect("csv-import-detail", import_id=csv_import.pk)
    targets = imports.csv_import_targets(schema=SchemaCache().schema(csv_import.vertical))
    initial = {"consent_text": csv_import.consent_text}
    mapping = csv_import.mapping or imports.csv_mapping_suggest(headers=csv_import.headers, targets=targets)
    initial |= {f"map.{key}": column for key, column in mapping.items()}
    form = CsvMappingForm(request.POST or None, initial=initial, targets=targets, headers=csv_import.headers)
    if request.method == "POST" and form.is_valid():
        try:
            imports.csv_import_set_mapping(
                csv_import=csv_import, mapping=form.mapping(), consent_text=form.cleaned_data["consent_text"]
            )
        except imports.CsvImportInvalid as exc:
            form.add_service_errors(exc.errors)
        else:
            return redirect("csv-import-map", import_id=csv_import.pk)
    context = {"csv_import": csv_import, "form": form}
    if request.method == "GET" and csv_import.status == CsvImportStatus.MAPPED:
        labels = imports.csv_import_field_labels(targets=targets)
        full = CsvImport.objects.select_related("vertical").get(pk=csv_import.pk)
        preview = imports.csv_import_preview(csv_import=full)
        for row in preview:
            row.problems = [(labels.get(path, ""), column, message) for path, column, message in row.errors]
        check_errors = Paginator(csv_import.check_errors.order_by("row", "id"), CHECK_ERRORS_PAGE_SIZE).get_page(
            request.GET.get("errors")
        )
        for error in check_errors:
            error.label = labels.get(error.field, "")
        context |= {
            "preview": preview,
            "preview_columns": [labels.get(key, key) for key in csv_import.mapping],
            "valid_count": sum(row.valid for row in preview),
            "check_errors": check_errors,
            "checked_valid_rows": csv_import.checked_rows - csv_import.invalid_rows,
        }
    return render(request, "leads/import_map.html", context, status=400 if form.errors else 200)


@seller_required
@require_POST
def csv_import_start(request, import_id: int):
    csv_import = _seller_import(request, import_id)
    try:
        imports.csv_import_start(csv_import=csv_import)
    except imports.CsvImportInvalid as exc:
        for errors in exc.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("csv-import-map", import_id=csv_import.pk)
    return redirect("csv-import-detail", import_id=csv_import.pk)


def _progress(csv_import: CsvImport) -> dict:
    total = csv_import.total_rows or 0
    return {
        "status": csv_import.status,
        "status_display": csv_import.get_status_display(),
        "total_rows": total,
        "processed_rows": csv_import.processed_rows,
        "accepted_rows": csv_import.accepted_rows,
        "rejected_rows": csv_import.rejected_rows,
        "percent": min(100, csv_import.processed_rows * 100 // total) if total else 0,
        "finished": csv_import.status in (CsvImportStatus.DONE, CsvImportStatus.FAILED),
    }


@never_cache
@seller_required
@require_GET
def csv_import_detail(request, import_id: int):
    csv_import = _seller_import(request, import_id)
    return render(
        request,
        "leads/import_detail.html",
        {
            "csv_import": csv_import,
            "progress": _progress(csv_import),
            "error_count": csv_import.row_errors.count(),
        },
    )


@never_cache
@seller_required
@require_GET
def csv_import_progress(request, import_id: int):
    csv_import = get_object_or_404(
        CsvImport.objects.only("pk", "status", "total_rows", "processed_rows", "accepted_rows", "rejected_rows"),
        pk=import_id,
        seller=request.user,
    )
    return JsonResponse(_progress(csv_import))


def _cell(text) -> str:
    """Spreadsheet-safe: a cell starting with = + - @ would run as a formula."""
    text = str(text)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@never_cache
@seller_required
@require_GET
def csv_import_errors(request, import_id: int):
    csv_import = _seller_import(request, import_id)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{csv_import.pk}-errors.csv"'
    writer = csv.writer(response)
    writer.writerow(["row", "column", "field", "message"])
    rows = csv_import.row_errors.order_by("row", "id").values_list("row", "column", "field", "message")
    for row, column, field, message in rows.iterator(chunk_size=2000):
        writer.writerow([row, _cell(column), _cell(field), _cell(message)])
    return response
