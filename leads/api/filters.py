"""Query parameters of GET /api/v1/leads/, for the OpenAPI schema.

Parsing and validation live in leads.filters.LeadTableFilter (through leads.selectors.lead_table_spec_parse), shared with the
seller's page (/seller/leads/) and its CSV export, so the three always agree.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from leads.choices import LeadStatus
from leads.filters import LEAD_TABLE_SEARCH_MAX, LEAD_TABLE_SORTS
from leads.selectors import LEAD_TABLE_MAX_PAGE_SIZE, LEAD_TABLE_PAGE_SIZE


def _query(name, type_, description, **kwargs) -> OpenApiParameter:
    return OpenApiParameter(name, type_, OpenApiParameter.QUERY, required=False, description=description, **kwargs)


_SCORE = {"type": "integer", "minimum": 0, "maximum": 100}
_MOMENT = {"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]}
_SORTS = [*LEAD_TABLE_SORTS, *(f"-{s}" for s in LEAD_TABLE_SORTS)]

LEAD_LIST_PARAMETERS = [
    _query("vertical", OpenApiTypes.STR, "Vertical slug; a parent vertical includes its sub-verticals."),
    _query(
        "status",
        OpenApiTypes.STR,
        "Repeat (or comma-separate) for several statuses.",
        many=True,
        enum=LeadStatus.values,
    ),
    _query("has_phone", OpenApiTypes.BOOL, "true or false."),
    _query("has_email", OpenApiTypes.BOOL, "true or false."),
    _query("score_min", _SCORE, "Quality score at least (0–100); unscored leads drop out."),
    _query("score_max", _SCORE, "Quality score at most (0–100, not below score_min); unscored leads drop out."),
    _query("created_from", _MOMENT, "Received at or after: YYYY-MM-DD or an ISO 8601 datetime."),
    _query(
        "created_to",
        _MOMENT,
        "Received before an ISO 8601 datetime, or on or before a date (YYYY-MM-DD, the whole day); after created_from.",
    ),
    _query(
        "q",
        {"type": "string", "maxLength": LEAD_TABLE_SEARCH_MAX},
        "Exact match on external_id, campaign, sub_id or ZIP; city ignoring case.",
    ),
    _query("external_id", {"type": "string", "maxLength": 100}, "Your own id, exactly."),
    _query(
        "sort",
        OpenApiTypes.STR,
        "Order; prefix - for descending. Unscored/unpriced leads come last either way.",
        enum=_SORTS,
        default="-created",
    ),
    _query(
        "cursor",
        {"type": "string", "format": "lead-cursor"},
        "Opaque token from `next` or `previous`; keep the same sort.",
    ),
    _query(
        "page_size",
        {"type": "integer", "minimum": 1, "maximum": LEAD_TABLE_MAX_PAGE_SIZE},
        f"1–{LEAD_TABLE_MAX_PAGE_SIZE}, default {LEAD_TABLE_PAGE_SIZE}.",
    ),
    _query("stats", OpenApiTypes.BOOL, "true: add totals for the filtered set (cached 30 s)."),
]
