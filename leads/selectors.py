"""Reads for leads. The seller's lists may come from the replica; PII reads are logged by callers."""

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

import phonenumbers
from django.core.cache import cache
from django.core.validators import EMPTY_VALUES
from django.db.models import Avg, BooleanField, Count, Expression, F, Q, QuerySet, Value
from django.utils import timezone

from core.paging import cursor_dumps, cursor_loads
from leads import vault
from leads.choices import ACCEPTED_STATUSES, LeadStatus
from leads.filters import (
    LEAD_TABLE_DEFAULT_SORT,
    LEAD_TABLE_SORTS,
    LeadTableFilter,
    VerticalChoice,
)
from leads.models import Lead, LeadPII
from verticals.display import FieldValue, field_values_display
from verticals.selectors import vertical_schemas, verticals_by_id_cached


def lead_pii_read(*, lead: Lead) -> dict:
    """Decrypt a lead's contact details (empty when none were stored, e.g. a rejected duplicate)."""
    pii = getattr(lead, "pii", None) if _has_pii(lead) else None
    if pii is None:
        return {}
    return vault.open_sealed(key_id=pii.key_id, blob=pii.ciphertext, context=str(lead.pk))


def _has_pii(lead: Lead) -> bool:

    try:
        return lead.pii is not None
    except LeadPII.DoesNotExist:
        return False


def lead_pii_keys(*, lead: Lead) -> set[str]:
    data = lead_pii_read(lead=lead)
    return {k for k in data if k != "fields"} | set(data.get("fields", {}))


def lead_field_values(*, leads, biddable_only: bool = True) -> dict[int, list[FieldValue]]:
    """Each lead's field values in words (labels and units from its vertical's schema), by lead
    id; two queries for any number of leads. biddable_only (the default): what every buyer may
    see before buying, never PII."""
    leads = list(leads)
    schemas = vertical_schemas(vertical_ids={lead.vertical_id for lead in leads})
    return {
        lead.pk: field_values_display(
            schema=schemas.get(lead.vertical_id, []), values=lead.fields or {}, biddable_only=biddable_only
        )
        for lead in leads
    }


CONTACT_LABELS = {
    "first_name": "First name",
    "last_name": "Last name",
    "email": "Email",
    "phone": "Phone",
    "street_address": "Street address",
}


def _phone_text(e164: str) -> str:
    try:
        return phonenumbers.format_number(phonenumbers.parse(e164, None), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return e164


def _contact_display(pii: dict, schema: list) -> list[FieldValue]:
    pii = dict(pii or {})
    extra = pii.pop("fields", None)
    out = []
    for key, label in CONTACT_LABELS.items():
        value = pii.pop(key, None)
        if value:
            out.append(FieldValue(key, label, _phone_text(value) if key == "phone" else str(value)))
    out += [FieldValue(key, key.replace("_", " ").capitalize(), str(value)) for key, value in sorted(pii.items())]
    if isinstance(extra, dict) and extra:
        out += field_values_display(schema=schema, values=extra, biddable_only=False)
    return out


def lead_details_display(*, lead: Lead, pii: dict) -> tuple[list[FieldValue], list[FieldValue]]:
    """(fields, contact) of one lead in words for a reader who may see all of it (its seller, its
    buyer): every field value, and the contact details the caller already read (and logged) —
    the core contact fields in a fixed order, then the vertical's PII fields. Two queries."""
    schema = vertical_schemas(vertical_ids={lead.vertical_id}).get(lead.vertical_id, [])
    fields = field_values_display(schema=schema, values=lead.fields or {}, biddable_only=False)
    return fields, _contact_display(pii, schema)


def lead_rejection_text(*, lead: Lead) -> str:
    """The stored rejection detail in words (the duplicate's own link is shown beside it)."""
    detail = lead.rejection_detail or {}
    if not isinstance(detail, dict):
        return str(detail)
    parts = []
    if "score" in detail and "floor" in detail:
        parts.append(f"Score {detail['score']} is below the vertical's quality floor of {detail['floor']}.")
    if detail.get("duplicate_of_another_seller"):
        parts.append("Another seller sent this consumer within the vertical's duplicate window.")
    for key, value in detail.items():
        if key not in ("score", "floor", "duplicate_of", "duplicate_of_another_seller"):
            parts.append(f"{key.replace('_', ' ').capitalize()}: {value}.")
    return " ".join(parts)


def lead_list_for_seller(*, seller) -> QuerySet:
    return Lead.objects.filter(seller=seller).select_related("vertical")


# ---------------------------------------------------------------- the seller's lead table
#
# One filter/sort spec serves the page (/seller/leads/), the CSV export and GET /api/v1/leads/.
# Paging is keyset ("seek") on (sort key…, id): every page is an index range scan, so page
# 20,000 of a 1,000,000-lead seller costs what page 1 does. OFFSET is never used.

LEAD_TABLE_PAGE_SIZE = 50
LEAD_TABLE_MAX_PAGE_SIZE = 200
LEAD_TABLE_EXPORT_BATCH = 2000
LEAD_TABLE_STATS_SECONDS = 30


# Columns the table, the CSV and the API list need: the big JSON/text columns stay on disk.
_LIST_DEFERRED = (
    "score_breakdown",
    "rejection_detail",
    "consent_text",
    "consent_user_agent",
    "consent_page_url",
    "consent_certificate_url",
    "phone_hash",
    "email_hash",
    "correlation_id",
)


class LeadTableError(Exception):
    """Invalid filter, sort, page size or cursor; `errors` maps a parameter to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class LeadTableSpec:
    """The seller's filters and sort, parsed and validated from GET parameters."""

    vertical: str = ""
    vertical_ids: tuple[int, ...] = ()
    statuses: tuple[str, ...] = ()
    has_phone: bool | None = None
    has_email: bool | None = None
    score_min: int | None = None
    score_max: int | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    q: str = ""
    external_id: str = ""
    sort: str = "created"
    descending: bool = True
    # The raw date strings as typed, to refill the form.
    raw_dates: tuple[str, str] = field(default=("", ""), compare=False)

    @property
    def sort_param(self) -> str:
        return f"-{self.sort}" if self.descending else self.sort

    @property
    def is_filtered(self) -> bool:
        return self.filter_params() != []

    def filter_params(self) -> list[tuple[str, str]]:
        """The filters as GET parameters (no sort, no cursor), for links and cache keys."""
        params: list[tuple[str, str]] = []
        if self.vertical:
            params.append(("vertical", self.vertical))
        params += [("status", s) for s in self.statuses]
        for name in ("has_phone", "has_email"):
            value = getattr(self, name)
            if value is not None:
                params.append((name, "true" if value else "false"))
        for name in ("score_min", "score_max"):
            if getattr(self, name) is not None:
                params.append((name, str(getattr(self, name))))
        for name, raw, value in (
            ("created_from", self.raw_dates[0], self.created_from),
            ("created_to", self.raw_dates[1], self.created_to),
        ):
            if value is not None:
                params.append((name, raw or value.isoformat()))
        if self.q:
            params.append(("q", self.q))
        if self.external_id:
            params.append(("external_id", self.external_id))
        return params

    def params(self, **overrides) -> list[tuple[str, str]]:
        """Filters + sort (+ cursor/page_size when given) as GET parameters."""
        params = self.filter_params()
        sort = overrides.pop("sort", self.sort_param)
        if sort != LEAD_TABLE_DEFAULT_SORT:
            params.append(("sort", sort))
        params += [(k, str(v)) for k, v in overrides.items() if v not in (None, "")]
        return params

    def filter_digest(self) -> str:
        """A stable digest of the filters (what the stats depend on), for cache keys."""
        data = {
            "verticals": sorted(self.vertical_ids),
            "statuses": sorted(self.statuses),
            "has_phone": self.has_phone,
            "has_email": self.has_email,
            "score": [self.score_min, self.score_max],
            "created": [d.isoformat() if d else None for d in (self.created_from, self.created_to)],
            "q": self.q,
            "external_id": self.external_id,
        }
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:32]


def lead_table_spec_parse(params: Mapping) -> LeadTableSpec:
    """Build the spec from GET parameters (leads.filters.LeadTableFilter checks each one); raises
    LeadTableError naming each bad parameter."""
    if not any(name in params for name in LeadTableFilter.base_filters):
        # No filter and no sort asked for (an unfiltered first page, the common request): the
        # default spec, without building the filter set and its form (a deep copy of every
        # filter, a third of a list request's Python before this).
        return _DEFAULT_SPEC
    filterset = LeadTableFilter(params, queryset=Lead.objects.none())
    if not filterset.form.is_valid():
        raise LeadTableError(filterset.errors_by_parameter())
    data = filterset.form.cleaned_data
    vertical: VerticalChoice | None = data["vertical"]
    sort = data["sort"]

    def raw(name):
        value = params.get(name, "")
        return str(value[-1] if isinstance(value, (list, tuple)) and value else value or "").strip()

    return LeadTableSpec(
        vertical=vertical.slug if vertical else "",
        vertical_ids=vertical.ids if vertical else (),
        statuses=data["status"],
        has_phone=data["has_phone"],
        has_email=data["has_email"],
        score_min=data["score_min"],
        score_max=data["score_max"],
        created_from=data["created_from"],
        created_to=data["created_to"],
        q=data["q"],
        external_id=data["external_id"],
        sort=sort.lstrip("-"),
        descending=sort.startswith("-"),
        raw_dates=(
            raw("created_from") if data["created_from"] else "",
            raw("created_to") if data["created_to"] else "",
        ),
    )


_DEFAULT_SPEC = LeadTableSpec()


def lead_table_page_size(raw, *, default: int = LEAD_TABLE_PAGE_SIZE) -> int:
    """Validate ?page_size= (1…200)."""
    if raw in (None, ""):
        return default
    try:
        value = int(str(raw).strip())
    except ValueError:
        value = 0
    if not 1 <= value <= LEAD_TABLE_MAX_PAGE_SIZE:
        raise LeadTableError({"page_size": [f"Enter a whole number from 1 to {LEAD_TABLE_MAX_PAGE_SIZE}."]})
    return value


def lead_table_queryset(*, seller, spec: LeadTableSpec) -> QuerySet:
    """The seller's leads narrowed by the spec's filters (unordered; paging orders it)."""
    values = {
        "vertical": VerticalChoice(spec.vertical, spec.vertical_ids) if spec.vertical_ids else None,
        "status": spec.statuses,
        "has_phone": spec.has_phone,
        "has_email": spec.has_email,
        "score_min": spec.score_min,
        "score_max": spec.score_max,
        "created_from": spec.created_from,
        "created_to": spec.created_to,
        "external_id": spec.external_id,
        "q": spec.q,
    }
    queryset = Lead.objects.filter(seller=seller)
    # django-filter skips empty values itself; skipping them here spares the filter set's copy.
    values = {name: value for name, value in values.items() if value not in EMPTY_VALUES}
    if not values:
        return queryset
    return LeadTableFilter(queryset=Lead.objects.none()).filter_values(queryset, values)


# ---- keyset machinery


class _RowCompare(Expression):
    """`(a, b, …) > (x, y, …)` — a row-value comparison PostgreSQL turns into an index range.

    The equivalent OR-chain ((a > x) OR (a = x AND b > y)) is not used as an index bound, so a
    deep page would scan every earlier row.
    """

    conditional = True
    output_field = BooleanField()

    def __init__(self, columns, op: str, values):
        super().__init__(output_field=BooleanField())
        assert op in ("<", ">")
        self.lhs = [F(c) if isinstance(c, str) else c for c in columns]
        self.rhs = [v if hasattr(v, "resolve_expression") else Value(v) for v in values]
        self.op = op

    def get_source_expressions(self):
        return [*self.lhs, *self.rhs]

    def set_source_expressions(self, exprs):
        n = len(self.lhs)
        self.lhs, self.rhs = list(exprs[:n]), list(exprs[n:])

    def as_sql(self, compiler, connection):
        sql_l, sql_r, params = [], [], []
        for expr in self.lhs:
            sql, p = compiler.compile(expr)
            sql_l.append(sql)
            params += p
        for expr in self.rhs:
            sql, p = compiler.compile(expr)
            sql_r.append(sql)
            params += p
        if len(sql_l) == 1:
            return f"{sql_l[0]} {self.op} {sql_r[0]}", params
        return f"({', '.join(sql_l)}) {self.op} ({', '.join(sql_r)})", params


@dataclass(frozen=True)
class _Segment:
    """A stretch of the order with one key: nullable sorts have two (values, then NULLs)."""

    columns: tuple[str, ...]
    where: Q | None


def _segments(sort: str) -> list[_Segment]:
    key = LEAD_TABLE_SORTS[sort]
    if not key.nullable:
        return [_Segment((*key.columns, "id"), None)]
    column = key.columns[0]
    # NULLs (unscored, unpriced) come last in both directions: the non-NULL stretch is one
    # index range on (seller, column, id), the NULL stretch another on (seller, NULL, id).
    return [
        _Segment((column, "id"), Q(**{f"{column}__isnull": False})),
        _Segment(("id",), Q(**{f"{column}__isnull": True})),
    ]


_DECODERS = {
    "created_at": datetime.fromisoformat,
    "status": str,
    "vertical_id": int,
    "quality_score": int,
    "price": Decimal,
    "id": int,
}


def _encode_value(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _row_key(lead: Lead, segment: _Segment) -> list:
    return [_encode_value(getattr(lead, c)) for c in segment.columns]


def _cursor_dumps(*, spec: LeadTableSpec, segment: int, key: list, direction: str) -> str:
    return cursor_dumps({"s": spec.sort_param, "g": segment, "k": key, "d": direction}, kind="leads")


@dataclass(frozen=True)
class _Position:
    segment: int
    key: tuple
    direction: str  # "n": rows after the key; "p": rows before it


def _cursor_loads(token: str, *, spec: LeadTableSpec) -> _Position:
    """Check the signature and shape; anything off is a LeadTableError, never a 500."""
    bad = LeadTableError({"cursor": ["This page link is invalid or has expired; start again from the first page."]})
    data = cursor_loads(token, kind="leads")
    if not isinstance(data, dict):
        raise bad
    if data.get("s") != spec.sort_param:
        raise LeadTableError(
            {"cursor": ["This page link belongs to another sort order; start again from the first page."]}
        )
    segments = _segments(spec.sort)
    segment, key, direction = data.get("g"), data.get("k"), data.get("d")
    if (
        not isinstance(segment, int)
        or not 0 <= segment < len(segments)
        or direction not in ("n", "p")
        or not isinstance(key, list)
        or len(key) != len(segments[segment].columns)
    ):
        raise bad
    try:
        values = tuple(_DECODERS[c](v) for c, v in zip(segments[segment].columns, key, strict=True))
    except (TypeError, ValueError, InvalidOperation):
        raise bad from None
    if any(isinstance(v, datetime) and timezone.is_naive(v) for v in values):
        raise bad
    return _Position(segment, values, direction)


def _seek(
    qs: QuerySet, *, segments: list[_Segment], descending: bool, start: _Position | None, limit: int, forward: bool
) -> list[Lead]:
    """Up to `limit` rows after (forward) or before (backward) `start`, in display order.

    At most one query per segment, each an index range scan with LIMIT.
    """
    rows: list[Lead] = []
    if forward:
        order = range(start.segment if start else 0, len(segments))
    else:
        order = range(start.segment if start else len(segments) - 1, -1, -1)
    # Walking backward reverses the order; `<`/`>` flip with it.
    desc = descending if forward else not descending
    for index in order:
        segment = segments[index]
        part = qs if segment.where is None else qs.filter(segment.where)
        if start is not None and index == start.segment:
            part = part.filter(_RowCompare(segment.columns, "<" if desc else ">", start.key))
        ordering = [f"-{c}" if desc else c for c in segment.columns]
        fetched = list(part.order_by(*ordering)[: limit - len(rows)])
        rows += [(index, lead) for lead in fetched]
        if len(rows) >= limit:
            break
    if not forward:
        rows.reverse()
    return rows


def _attach_verticals(leads: list[Lead]) -> None:
    """Each lead's vertical from the process memo instead of a join: a vertical row is wide
    (schema defaults, texts) and the same few verticals repeat on every page."""
    verticals = verticals_by_id_cached(vertical_ids={lead.vertical_id for lead in leads})
    for lead in leads:
        Lead.vertical.field.set_cached_value(lead, verticals[lead.vertical_id])


@dataclass
class LeadTablePage:
    rows: list
    next_cursor: str | None
    previous_cursor: str | None
    page_size: int


def lead_table_page(
    seller, spec: LeadTableSpec, cursor: str | None = None, page_size: int = LEAD_TABLE_PAGE_SIZE
) -> LeadTablePage:
    """One page of the seller's leads, keyset-paginated on (sort key, id).

    Every lead appears exactly once across pages, NULL scores/prices included (they come
    last in both directions). A bad cursor raises LeadTableError.
    """
    if not 1 <= page_size <= LEAD_TABLE_MAX_PAGE_SIZE:
        raise LeadTableError({"page_size": [f"Enter a whole number from 1 to {LEAD_TABLE_MAX_PAGE_SIZE}."]})
    position = _cursor_loads(cursor, spec=spec) if cursor else None
    qs = lead_table_queryset(seller=seller, spec=spec).defer(*_LIST_DEFERRED)
    segments = _segments(spec.sort)
    forward = position is None or position.direction == "n"
    rows = _seek(
        qs, segments=segments, descending=spec.descending, start=position, limit=page_size + 1, forward=forward
    )
    if not rows and not forward:
        # Nothing before the cursor any more (rows were deleted): show the first page.
        position, forward = None, True
        rows = _seek(qs, segments=segments, descending=spec.descending, start=None, limit=page_size + 1, forward=True)
    more = len(rows) > page_size
    if forward:
        rows = rows[:page_size]
        has_next, has_previous = more, position is not None
    else:
        rows = rows[-page_size:] if more else rows
        has_next, has_previous = True, more

    def token(pair, direction):
        index, lead = pair
        return _cursor_dumps(spec=spec, segment=index, key=_row_key(lead, segments[index]), direction=direction)

    previous_cursor = token(rows[0], "p") if rows and has_previous else None
    if not rows and position is not None:
        # Past the end (the last rows were deleted): "previous" still leads back.
        previous_cursor = _cursor_dumps(
            spec=spec, segment=position.segment, key=[_encode_value(v) for v in position.key], direction="p"
        )
    leads = [lead for _, lead in rows]
    _attach_verticals(leads)
    return LeadTablePage(
        rows=leads,
        next_cursor=token(rows[-1], "n") if rows and has_next else None,
        previous_cursor=previous_cursor,
        page_size=page_size,
    )


def lead_table_iter(
    *, seller, spec: LeadTableSpec, batch_size: int = LEAD_TABLE_EXPORT_BATCH, values: tuple[str, ...] | None = None
) -> Iterator:
    """Every lead the spec selects, in its order, fetched in keyset batches (constant memory).

    Yields Lead instances, or dicts of `values` (plus the sort key's columns) when given —
    several times faster for exports, which need neither model instances nor the vertical row.
    """
    qs = lead_table_queryset(seller=seller, spec=spec)
    segments = _segments(spec.sort)
    if values:
        qs = qs.values(*dict.fromkeys([*values, *(c for segment in segments for c in segment.columns)]))
    else:
        qs = qs.select_related("vertical").defer(*_LIST_DEFERRED)
    position = None
    while True:
        rows = _seek(qs, segments=segments, descending=spec.descending, start=position, limit=batch_size, forward=True)
        for _, lead in rows:
            yield lead
        if len(rows) < batch_size:
            return
        index, last = rows[-1]
        key = (last[c] if isinstance(last, dict) else getattr(last, c) for c in segments[index].columns)
        position = _Position(index, tuple(key), "n")


# A reader of precomputed totals (analytics registers its rollups here in AppConfig.ready: leads
# may not import analytics). It returns the raw sums below for (seller, spec), or None when the
# spec filters on something it does not keep; the table then counts the leads themselves.
_stats_sources: list = []


def lead_table_stats_source_register(source) -> None:
    if source not in _stats_sources:
        _stats_sources.append(source)


def lead_table_stats(*, seller, spec: LeadTableSpec) -> dict:
    """Totals for the filtered set: from a registered source of precomputed totals when it can
    answer the filters (the analytics rollups: the unfiltered table and vertical or whole-hour
    date filters), else one aggregate query over the leads, cached 30 s per (seller, filters)."""
    for source in _stats_sources:
        row = source(seller=seller, spec=spec)
        if row is not None:
            return _stats_from(row)
    key = f"leads:table-stats:v1:{seller.pk}:{spec.filter_digest()}"
    stats = cache.get(key)
    if stats is None:
        stats = lead_table_stats_count(seller=seller, spec=spec)
        cache.set(key, stats, LEAD_TABLE_STATS_SECONDS)
    return stats


def lead_table_stats_count(*, seller, spec: LeadTableSpec) -> dict:
    """The cards' totals counted from the leads themselves (one aggregate query, no cache)."""
    row = lead_table_queryset(seller=seller, spec=spec).aggregate(
        total=Count("id"),
        accepted=Count("id", filter=Q(status__in=ACCEPTED_STATUSES)),
        rejected=Count("id", filter=Q(status=LeadStatus.REJECTED)),
        sold=Count("id", filter=Q(status=LeadStatus.SOLD)),
        average_score=Avg("quality_score"),
        with_phone=Count("id", filter=Q(has_phone=True)),
        with_email=Count("id", filter=Q(has_email=True)),
        with_both=Count("id", filter=Q(has_phone=True, has_email=True)),
    )
    return _stats_from(row)


def _stats_from(row: dict) -> dict:
    """The cards' figures from the sums: total, accepted, rejected, sold, average_score (a float
    or a Decimal), with_phone, with_email, with_both."""
    total = row["total"] or 0

    def pct(n: int) -> float | None:
        return round(100 * n / total, 1) if total else None

    return {
        "total": total,
        "accepted": row["accepted"] or 0,
        "rejected": row["rejected"] or 0,
        "sold": row["sold"] or 0,
        "average_score": round(float(row["average_score"]), 1) if row["average_score"] is not None else None,
        "phone_coverage_pct": pct(row["with_phone"] or 0),
        "email_coverage_pct": pct(row["with_email"] or 0),
        "both_coverage_pct": pct(row["with_both"] or 0),
    }


def lead_get_for_seller_detail(*, seller, lead_id: int) -> Lead:
    """A lead with what its detail needs (vertical, vault row, history) in two queries.

    Raises Lead.DoesNotExist for another seller's lead (callers answer 404).
    """
    return Lead.objects.select_related("vertical", "pii").prefetch_related("history").get(pk=lead_id, seller=seller)
