"""The seller's lead table's query parameters as one django-filter FilterSet, shared by the page
(/seller/leads/), its CSV export and GET /api/v1/leads/: the form fields parse and check each
parameter (a message per bad one), the filters narrow the queryset. leads.selectors turns the
checked values into a LeadTableSpec (sort, keyset paging, stats) and filters through this set.

created_from is inclusive; created_to is exclusive for a datetime and covers the whole day for a
date. The vertical filter includes the vertical's sub-verticals (one small query).
"""

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from leads.choices import LeadStatus
from leads.models import Lead
from verticals.models import Vertical

LEAD_TABLE_SEARCH_MAX = 100
LEAD_TABLE_DEFAULT_SORT = "-created"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class SortKey:
    """The columns of one sort, in index order; the nullable one (if any) leads."""

    columns: tuple[str, ...]
    nullable: bool = False


# Each key matches a composite index that starts with seller_id and ends with id.
LEAD_TABLE_SORTS: dict[str, SortKey] = {
    "created": SortKey(("created_at",)),  # lead_seller_created_idx
    "status": SortKey(("status", "created_at")),  # lead_seller_status_idx
    "vertical": SortKey(("vertical_id", "created_at")),  # lead_seller_vertical_idx
    "score": SortKey(("quality_score",), nullable=True),  # lead_seller_score_idx
    "price": SortKey(("price",), nullable=True),  # lead_seller_price_idx
}


def _last(value) -> str:
    """One parameter's value, as typed: the last one when repeated, stripped."""
    if isinstance(value, (list, tuple)):
        value = value[-1] if value else ""
    return "" if value is None else str(value).strip()


class _Text(forms.Field):
    def __init__(self, *, max_length: int, **kwargs):
        self.max_length = max_length
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value) -> str:
        text = _last(value)
        if len(text) > self.max_length:
            raise forms.ValidationError(f"At most {self.max_length} characters.")
        return text


class _Many(forms.Widget):
    def value_from_datadict(self, data, files, name):
        if hasattr(data, "getlist"):
            return data.getlist(name)
        value = data.get(name, [])
        return list(value) if isinstance(value, (list, tuple)) else [value]


class StatusesField(forms.Field):
    """?status=a&status=b or ?status=a,b; every one a lead status."""

    widget = _Many

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value) -> tuple[str, ...]:
        statuses: list[str] = []
        for item in value or []:
            statuses += [v.strip() for v in str(item).split(",") if v.strip()]
        statuses = list(dict.fromkeys(statuses))
        bad = [s for s in statuses if s not in LeadStatus.values]
        if bad:
            raise forms.ValidationError(f"Unknown status {bad[0][:30]!r}; use one of: {', '.join(LeadStatus.values)}.")
        return tuple(statuses)


class YesNoField(forms.Field):
    """true/false (1/0, yes/no, on/off); empty, any or all = either."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value) -> bool | None:
        raw = _last(value)
        lowered = raw.lower()
        if lowered in ("", "any", "all"):
            return None
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise forms.ValidationError(f"Use true or false (got {raw[:20]!r}).")


class ScoreField(forms.Field):
    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value) -> int | None:
        raw = _last(value)
        if raw == "":
            return None
        try:
            score = int(raw)
        except ValueError:
            score = -1
        if not 0 <= score <= 100:
            raise forms.ValidationError("Enter a whole number from 0 to 100.")
        return score


class MomentField(forms.Field):
    """A date (the whole day, in the current time zone) or an ISO 8601 datetime, in UTC:
    PostgreSQL refuses offsets beyond ±15:59 that ISO 8601 (and Python) allow. `end`: a date
    means the moment after that day."""

    def __init__(self, *, end: bool = False, **kwargs):
        self.end = end
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value) -> datetime | None:
        raw = _last(value)
        if raw == "":
            return None
        moment = None
        try:
            if "T" in raw or " " in raw or ":" in raw:
                moment = parse_datetime(raw)
            else:
                day = parse_date(raw)
                if day is not None:
                    moment = datetime.combine(day + timedelta(days=1) if self.end else day, time.min)
            if moment is not None and timezone.is_naive(moment):
                moment = timezone.make_aware(moment)
            if moment is not None:
                moment = moment.astimezone(UTC)
        except (ValueError, OverflowError):
            moment = None
        if moment is None:
            raise forms.ValidationError(
                "Enter a date (YYYY-MM-DD) or an ISO 8601 date and time (e.g. 2025-01-31T12:00:00Z)."
            )
        return moment


@dataclass(frozen=True)
class VerticalChoice:
    slug: str
    ids: tuple[int, ...]  # the vertical and its sub-verticals


class VerticalField(forms.Field):
    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value) -> VerticalChoice | None:
        slug = _last(value)
        if not slug:
            return None
        rows = list(Vertical.objects.filter(Q(slug=slug) | Q(parent__slug=slug)).values_list("pk", "slug"))
        if not any(s == slug for _, s in rows):
            raise forms.ValidationError(f"Unknown vertical {slug[:80]!r}.")
        return VerticalChoice(slug, tuple(sorted(pk for pk, _ in rows)))


class SortField(forms.Field):
    """A LEAD_TABLE_SORTS key, prefixed with - for descending."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value) -> str:
        sort = _last(value) or LEAD_TABLE_DEFAULT_SORT
        if sort.lstrip("-") not in LEAD_TABLE_SORTS or sort.startswith("--"):
            raise forms.ValidationError(f"Sort by one of: {', '.join(LEAD_TABLE_SORTS)} (prefix - for descending).")
        return sort


class LeadTableForm(forms.Form):
    def clean(self):
        data = super().clean()
        low, high = data.get("score_min"), data.get("score_max")
        if low is not None and high is not None and low > high:
            self.add_error("score_max", "Must not be below score_min.")
        start, end = data.get("created_from"), data.get("created_to")
        if start and end and start >= end:
            self.add_error("created_to", "Must be after created_from.")
        return data


def _filter(field_class: type[forms.Field], **kwargs) -> django_filters.Filter:
    """A filter whose form field is `field_class` (django-filter takes it as a class attribute)."""
    return type(f"{field_class.__name__}Filter", (django_filters.Filter,), {"field_class": field_class})(**kwargs)


def _search(queryset, name, value):
    # Exact matches only: a leading-wildcard LIKE cannot use an index at a million rows.
    # Contact details are not searchable here: they live encrypted in the vault.
    return queryset.filter(
        Q(external_id=value) | Q(campaign=value) | Q(sub_id=value) | Q(zip=value) | Q(city__iexact=value)
    )


class LeadTableFilter(django_filters.FilterSet):
    vertical = _filter(VerticalField, method=lambda qs, name, value: qs.filter(vertical_id__in=value.ids))
    status = _filter(StatusesField, field_name="status", lookup_expr="in")
    has_phone = _filter(YesNoField, field_name="has_phone")
    has_email = _filter(YesNoField, field_name="has_email")
    score_min = _filter(ScoreField, field_name="quality_score", lookup_expr="gte")
    score_max = _filter(ScoreField, field_name="quality_score", lookup_expr="lte")
    created_from = _filter(MomentField, field_name="created_at", lookup_expr="gte")
    created_to = _filter(MomentField, field_name="created_at", lookup_expr="lt", end=True)
    external_id = _filter(_Text, field_name="external_id", max_length=100)
    q = _filter(_Text, method=_search, max_length=LEAD_TABLE_SEARCH_MAX)
    # Checked here, applied by the keyset paging (leads.selectors).
    sort = _filter(SortField, method=lambda qs, name, value: qs)

    class Meta:
        model = Lead
        fields: list[str] = []
        form = LeadTableForm

    def errors_by_parameter(self) -> dict[str, list[str]]:
        return {name: [str(m) for m in messages] for name, messages in self.form.errors.items()}

    def filter_values(self, queryset, values: dict):
        """`queryset` narrowed by already-checked values (a LeadTableSpec's), filter by filter."""
        for name, value in values.items():
            queryset = self.filters[name].filter(queryset, value)
        return queryset
