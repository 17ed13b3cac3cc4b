"""The seller's lead table, lead detail and CSV export. Thin: leads.selectors does the reads."""

import csv
import json
import logging
from functools import wraps
from html import escape
from itertools import islice

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.handlers.asgi import ASGIRequest
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from core.display import EMPTY, moment_text, usdc_text
from core.errors import NotFoundError
from leads import selectors
from leads.choices import LeadStatus
from leads.models import Lead, PiiAccess
from leads.pii_access import lead_pii_read_logged
from leads.services import lead_relist_returned
from verticals.selectors import vertical_tree_cached

logger = logging.getLogger(__name__)

# (label, sort name, first direction when chosen: True = descending)
SORTABLE = {
    "created": ("Received", True),
    "vertical": ("Vertical", False),
    "status": ("Status", False),
    "score": ("Score", True),
    "price": ("Price", True),
}
CSV_COLUMNS = (
    "id",
    "created_at",
    "vertical",
    "status",
    "rejection_reason",
    "quality_score",
    "price",
    "external_id",
    "campaign",
    "sub_id",
    "state",
    "zip",
    "city",
    "has_phone",
    "has_email",
    "fields",
)
EXPORT_BATCH = 2000
FORM_FIELDS = ("vertical", "has_phone", "has_email", "score_min", "score_max", "created_from", "created_to", "q")


def _forbidden(request):
    return render(request, "leads/seller_leads.html", {"forbidden": True}, status=403)


def seller_required(view):
    """Logged in (else the log-in page) and a seller account (else a 403 page)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_seller:
            return _forbidden(request)
        return view(request, *args, **kwargs)

    return login_required(wrapped)


def _query(params) -> str:
    return f"?{urlencode(params)}" if params else "?"


def _sort_headers(spec: selectors.LeadTableSpec) -> dict:
    headers = {}
    for name, (label, first_descending) in SORTABLE.items():
        active = spec.sort == name
        descending = (not spec.descending) if active else first_descending
        sort = f"-{name}" if descending else name
        headers[name] = {
            "label": label,
            "url": _query(spec.params(sort=sort)),
            "active": active,
            "aria": ("descending" if spec.descending else "ascending") if active else "none",
            "arrow": ("▼" if spec.descending else "▲") if active else "",
        }
    return headers


@require_GET
@seller_required
def seller_leads(request):
    """/seller/leads/: filter form, stats cards and one keyset page of the seller's leads."""
    context = {
        "form": {name: request.GET.get(name, "") for name in FORM_FIELDS},
        "form_statuses": request.GET.getlist("status"),
        "form_sort": request.GET.get("sort", selectors.LEAD_TABLE_DEFAULT_SORT),
        "statuses": LeadStatus.choices,
        "vertical_tree": vertical_tree_cached(),
    }
    try:
        spec = selectors.lead_table_spec_parse(request.GET)
        page = selectors.lead_table_page(
            request.user,
            spec,
            request.GET.get("cursor") or None,
            selectors.lead_table_page_size(request.GET.get("page_size")),
        )
    except selectors.LeadTableError as exc:
        context["errors"] = exc.errors
        return render(request, "leads/seller_leads.html", context, status=400)
    extra = {"page_size": page.page_size} if page.page_size != selectors.LEAD_TABLE_PAGE_SIZE else {}
    context.update(
        {
            "spec": spec,
            "page": page,
            "rows": lead_rows_html(page.rows),
            "stats": selectors.lead_table_stats(seller=request.user, spec=spec),
            "headers": _sort_headers(spec),
            "next_url": _query(spec.params(cursor=page.next_cursor, **extra)) if page.next_cursor else None,
            "previous_url": _query(spec.params(cursor=page.previous_cursor, **extra)) if page.previous_cursor else None,
            "export_url": _query(spec.params()),
            "reset_url": "?",
        }
    )
    return render(request, "leads/seller_leads.html", context)


_PHONE, _EMAIL = '<span class="chip">phone</span>', '<span class="chip">email</span>'


def lead_rows_html(leads) -> SafeString:
    """The table's rows, written here rather than by a template loop: Django's template engine
    resolves each of a row's ~30 variables and tags one by one, which was half of the page's time
    at 50 rows (docs/benchmarks.md). Every value is escaped as Django's `escape` does
    (html.escape); a test compares the output with the template's."""
    marker = 2_147_483_647
    detail = reverse("seller-lead-detail", args=[marker]).split(str(marker))
    rows = []
    for lead in leads:
        reason = lead.rejection_reason and f"<br><small>{escape(lead.get_rejection_reason_display())}</small>"
        sub_id = lead.sub_id and f" <small>/ {escape(lead.sub_id)}</small>"
        place = f"{lead.city}{', ' if lead.city and lead.state else ''}{lead.state} {lead.zip}"
        contact = f"{_PHONE if lead.has_phone else ''} {_EMAIL if lead.has_email else ''}"
        score = EMPTY if lead.quality_score is None else lead.quality_score
        rows.append(
            f'<tr data-lead="{lead.pk}"><td><a href="{escape(str(lead.pk).join(detail))}">#{lead.pk}</a></td>'
            f'<td><time datetime="{escape(timezone.localtime(lead.created_at).isoformat())}">'
            f"{escape(moment_text(lead.created_at))}</time></td><td>{escape(lead.vertical.name)}</td>"
            f'<td class="nowrap"><span class="status status-{escape(lead.status)}">'
            f"{escape(lead.get_status_display())}</span>{reason}</td>"
            f'<td class="num">{score}</td><td class="num nowrap">{escape(usdc_text(lead.price))}</td>'
            f"<td>{escape(lead.external_id)}</td><td>{escape(lead.campaign)}{sub_id}</td><td>{escape(place)}</td>"
            f"<td>{contact}{'' if lead.has_phone or lead.has_email else EMPTY}</td></tr>"
        )
    return mark_safe("\n".join(rows))  # noqa: S308 - every value above is escaped


@require_GET
@never_cache
@seller_required
def seller_lead_detail(request, lead_id: int):
    """One lead: fields, score breakdown, status history, consent and the contact details sent
    (the read is logged in the PII access log)."""
    try:
        lead = selectors.lead_get_for_seller_detail(seller=request.user, lead_id=lead_id)
    except Lead.DoesNotExist:
        raise Http404("No such lead.") from None
    contact = lead_pii_read_logged(
        user=request.user, lead=lead, role=PiiAccess.Role.SELLER, channel=PiiAccess.Channel.PAGE
    )
    breakdown = lead.score_breakdown or {}
    components = [
        {"name": name.replace("_", " ").capitalize(), **values}
        for name, values in (breakdown.get("components") or {}).items()
    ]
    fields, contact = selectors.lead_details_display(lead=lead, pii=contact)
    return render(
        request,
        "leads/seller_lead_detail.html",
        {
            "lead": lead,
            "components": components,
            "score_total": breakdown.get("total", lead.quality_score),
            "history": list(lead.history.all()),
            "contact": contact,
            "fields": fields,
            "rejection_detail": selectors.lead_rejection_text(lead=lead),
            "consent_page_is_link": lead.consent_page_url.startswith(("https://", "http://")),
            "consent_certificate_is_link": lead.consent_certificate_url.startswith(("https://", "http://")),
            "relisted_id": Lead.objects.filter(returned_from=lead).values_list("pk", flat=True).first()
            if lead.status == LeadStatus.RETURNED
            else None,
        },
    )


@require_POST
@seller_required
def seller_lead_relist(request, lead_id: int):
    """Offer a returned lead again, as a returned lead (leads.services.lead_relist_returned)."""
    try:
        lead = lead_relist_returned(seller=request.user, lead_id=lead_id)
    except NotFoundError:
        raise Http404("No such lead.") from None
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("seller-lead-detail", lead_id=lead_id)
    messages.success(request, f"Lead #{lead_id} is offered again as returned lead #{lead.pk}.")
    return redirect("seller-lead-detail", lead_id=lead.pk)


class _Echo:
    """A file-like object whose write() hands the line back, for csv.writer over a stream."""

    def write(self, value):
        return value


def _safe_cell(value: str) -> str:
    """Spreadsheets run cells that start with = + - @ as formulas (CSV injection)."""
    return f"'{value}" if value and value[0] in "=+-@\t\r" else value


# Lead columns behind CSV_COLUMNS ("vertical" is the slug); contact details are not among them.
_EXPORT_VALUES = (
    "id",
    "created_at",
    "vertical__slug",
    "status",
    "rejection_reason",
    "quality_score",
    "price",
    "external_id",
    "campaign",
    "sub_id",
    "state",
    "zip",
    "city",
    "has_phone",
    "has_email",
    "fields",
)


def _csv_row(row: dict) -> list:
    return [
        row["id"],
        row["created_at"].isoformat(),
        row["vertical__slug"],
        row["status"],
        row["rejection_reason"],
        "" if row["quality_score"] is None else row["quality_score"],
        "" if row["price"] is None else row["price"],
        _safe_cell(row["external_id"]),
        _safe_cell(row["campaign"]),
        _safe_cell(row["sub_id"]),
        row["state"],
        row["zip"],
        _safe_cell(row["city"]),
        "true" if row["has_phone"] else "false",
        "true" if row["has_email"] else "false",
        json.dumps(row["fields"] or {}, sort_keys=True, ensure_ascii=False),
    ]


@require_GET
@seller_required
def seller_leads_export(request):
    """The filtered leads as CSV, streamed in keyset batches: no contact details, constant memory."""
    try:
        spec = selectors.lead_table_spec_parse(request.GET)
    except selectors.LeadTableError as exc:
        message = "\n".join(f"{name}: {' '.join(msgs)}" for name, msgs in exc.errors.items())
        return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
    writer = csv.writer(_Echo())
    seller = request.user

    def lines():
        yield writer.writerow(CSV_COLUMNS)
        for row in selectors.lead_table_iter(seller=seller, spec=spec, values=_EXPORT_VALUES):
            yield writer.writerow(_csv_row(row))

    async def alines():
        # Under ASGI Django would buffer a sync iterator whole (list() in a thread); fetch each
        # keyset batch in the request's sync thread instead and stream as it comes.
        rows = selectors.lead_table_iter(seller=seller, spec=spec, values=_EXPORT_VALUES)
        next_batch = sync_to_async(lambda: list(islice(rows, EXPORT_BATCH)), thread_sensitive=True)
        yield writer.writerow(CSV_COLUMNS)
        while batch := await next_batch():
            yield "".join(writer.writerow(_csv_row(row)) for row in batch)

    content = alines() if isinstance(request, ASGIRequest) else lines()
    response = StreamingHttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="leads-{timezone.now():%Y%m%d-%H%M%S}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response
