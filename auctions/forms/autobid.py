"""The autobid rule form. It turns what people type (comma lists, day checkboxes, one row per field
filter) into the service's arguments; auctions.services.autobid.check_autobid_rule decides what is valid."""

import re
from decimal import Decimal, InvalidOperation

from django import forms

from auctions import criteria
from auctions.services import autobid
from core.money import USDC_DECIMAL_PLACES, USDC_MAX_DIGITS
from verticals.choices import FieldType
from verticals.models import Vertical

DAY_CHOICES = [(str(i), name) for i, name in enumerate(autobid.DAY_NAMES)]
FILTERS_PREFIX = "filters"
EMPTY_FILTER_ROWS = 3  # blank rows after the rule's filters (without JavaScript, the only way to add one)
_BETWEEN = re.compile(r"\s*(?:,|;|\.\.|[–—]|\s(?:to|and)\s)\s*")
_TRUE, _FALSE = {"yes", "y", "true", "1", "on"}, {"no", "n", "false", "0", "off"}


def _split(raw: str) -> list[str]:
    return [part for part in re.split(r"[\s,;]+", raw or "") if part]


class AutobidRuleForm(forms.Form):
    name = forms.CharField(max_length=autobid.NAME_MAX)
    vertical = forms.ModelChoiceField(
        queryset=Vertical.objects.none(),
        required=False,
        empty_label="All verticals",
        help_text="Its sub-verticals are included.",
    )
    states = forms.CharField(
        required=False, max_length=2000, help_text="Comma-separated two-letter states, e.g. CA, NV. Empty = all states."
    )
    zips_include = forms.CharField(
        required=False,
        max_length=10000,
        label="ZIPs to include",
        help_text="5-digit ZIPs or 3-digit ZIP3 prefixes, comma-separated. Empty = all.",
    )
    zips_exclude = forms.CharField(
        required=False,
        max_length=10000,
        label="ZIPs to exclude",
        help_text="5-digit ZIPs or 3-digit ZIP3 prefixes, comma-separated.",
    )
    min_score = forms.IntegerField(
        required=False, min_value=0, max_value=100, label="Minimum quality score", help_text="0–100. Empty = any score."
    )
    max_bid = forms.DecimalField(
        max_digits=USDC_MAX_DIGITS,
        decimal_places=USDC_DECIMAL_PLACES,
        label="Maximum bid (USDC)",
        help_text="The proxy maximum placed on each matching lead; you usually pay less.",
    )
    daily_budget = forms.DecimalField(
        max_digits=USDC_MAX_DIGITS,
        decimal_places=USDC_DECIMAL_PLACES,
        label="Daily budget (USDC)",
        help_text="Open bids count their maximum; won leads their price; lost auctions nothing.",
    )
    daily_lead_cap = forms.IntegerField(min_value=1, max_value=autobid.MAX_INT, label="Daily lead cap")
    days = forms.MultipleChoiceField(
        choices=DAY_CHOICES, required=False, widget=forms.CheckboxSelectMultiple, label="Days"
    )
    start = forms.CharField(
        required=False,
        max_length=5,
        label="From (HH:MM)",
        widget=forms.TextInput(attrs={"placeholder": "09:00", "size": 5}),
    )
    end = forms.CharField(
        required=False,
        max_length=5,
        label="Until (HH:MM)",
        widget=forms.TextInput(attrs={"placeholder": "17:00", "size": 5}),
        help_text="An end before the start runs past midnight.",
    )
    priority = forms.IntegerField(
        initial=0,
        min_value=-autobid.MAX_PRIORITY,
        max_value=autobid.MAX_PRIORITY,
        help_text="Higher runs first; one bid per auction per buyer.",
    )
    paused = forms.BooleanField(required=False)

    SERVICE_ERRORS = {"hours": "days", "non_field_errors": None}

    def __init__(self, *args, verticals=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["vertical"].queryset = Vertical.objects.filter(pk__in=[v.pk for v in verticals]).order_by("name")

    def clean_states(self) -> list[str]:
        return [s.upper() for s in _split(self.cleaned_data.get("states"))]

    def clean_zips_include(self) -> list[str]:
        return _split(self.cleaned_data.get("zips_include"))

    def clean_zips_exclude(self) -> list[str]:
        return _split(self.cleaned_data.get("zips_exclude"))

    def clean(self):
        data = super().clean()
        days, start, end = data.get("days") or [], (data.get("start") or "").strip(), (data.get("end") or "").strip()
        if days or start or end:
            data["hours"] = {"days": [int(d) for d in days], "start": start, "end": end}
        else:
            data["hours"] = {}
        return data

    def service_kwargs(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k not in ("days", "start", "end")}

    def add_service_errors(self, message_dict: dict) -> None:
        """Every message but the field filters' (FieldFilterFormSet.add_service_errors shows those)."""
        for name, messages in message_dict.items():
            if name == "field_filters":
                continue
            target = self.SERVICE_ERRORS.get(name, name)
            for message in messages:
                self.add_error(
                    target if target in self.fields else None, f"Day-parting: {message}" if name == "hours" else message
                )

    @classmethod
    def initial_for(cls, rule) -> dict:
        hours = rule.hours or {}
        return {
            "name": rule.name,
            "vertical": rule.vertical_id,
            "states": ", ".join(rule.states),
            "zips_include": ", ".join(rule.zips_include),
            "zips_exclude": ", ".join(rule.zips_exclude),
            "min_score": rule.min_score,
            "max_bid": rule.max_bid,
            "daily_budget": rule.daily_budget,
            "daily_lead_cap": rule.daily_lead_cap,
            "priority": rule.priority,
            "paused": rule.paused,
            "days": [str(d) for d in hours.get("days", [])],
            "start": hours.get("start", ""),
            "end": hours.get("end", ""),
        }


# ---------------------------------------------------------------- field filters, one row each


class _AnyChoiceField(forms.ChoiceField):
    """A select whose value the service judges: a field of another vertical gets its message there."""

    def valid_value(self, value) -> bool:
        return True


class FieldFilterForm(forms.Form):
    field = _AnyChoiceField(required=False, label="Field", widget=forms.Select(attrs={"aria-label": "Field"}))
    op = forms.ChoiceField(
        required=False,
        label="Operator",
        initial="eq",
        choices=[(code, criteria.OP_SYMBOLS[code]) for code in criteria.OP_NAMES],
        widget=forms.Select(attrs={"aria-label": "Operator"}),
    )
    value = forms.CharField(
        required=False,
        max_length=2000,
        label="Value",
        widget=forms.TextInput(
            attrs={"aria-label": "Value", "placeholder": "a value; a list: a, b; between: low, high"}
        ),
    )

    def __init__(self, *args, field_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["field"].choices = [("", "Choose a field…"), *field_choices]

    @property
    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return not data.get("field") and not (data.get("value") or "").strip()


def _scalar(text: str, field):
    """One typed value as the field's type stores it; left as typed when it does not fit (the
    service then says why)."""
    kind = getattr(field, "type", None)
    if kind in (FieldType.INTEGER, FieldType.DECIMAL):
        try:
            number = Decimal(text.replace(",", ""))
        except InvalidOperation:
            return text
        if not number.is_finite():
            return text
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == FieldType.BOOLEAN:
        lowered = text.lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else text
    if kind in (FieldType.CHOICE, FieldType.MULTI_CHOICE):
        return {c.lower(): c for c in field.choices or []}.get(text.lower(), text)
    return text


def filter_value_text(value) -> str:
    """A stored filter value as a person types it in the value box."""
    if isinstance(value, list):
        return ", ".join(filter_value_text(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)


class BaseFieldFilterFormSet(forms.BaseFormSet):
    def __init__(self, *args, field_choices=(), **kwargs):
        self.field_choices = list(field_choices)
        super().__init__(*args, prefix=FILTERS_PREFIX, **kwargs)
        self.row_of_filter: list[int] = []  # filter i (0-based, as the service numbers them) -> its row

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "field_choices": self.field_choices}

    @classmethod
    def initial_for(cls, filters: list) -> list[dict]:
        return [
            {
                "field": f.get("field", ""),
                "op": criteria.canonical_op(f.get("op")) or "eq",
                "value": filter_value_text(f.get("value")),
            }
            for f in filters
            if isinstance(f, dict)
        ]

    def filters(self, *, fields_by_key: dict) -> list[dict]:
        """The filled rows (not removed) as the service's filters, values typed by the field's type:
        "a, b" is a list for in / not in, "low, high" a pair for between."""
        out, self.row_of_filter = [], []
        for index, form in enumerate(self.forms):
            if self.can_delete and self._should_delete_form(form) or form.is_blank:
                continue
            key, op, text = form.cleaned_data["field"], form.cleaned_data["op"] or "eq", form.cleaned_data["value"]
            field = fields_by_key.get(key)
            text = (text or "").strip()
            if op in ("in", "not_in"):
                value = [_scalar(part.strip(), field) for part in text.split(",") if part.strip()]
            elif op == "between":
                parts = [part for part in _BETWEEN.split(text) if part]
                value = [_scalar(part, field) for part in parts] if len(parts) == 2 else text
            else:
                value = _scalar(text, field)
            out.append({"field": key, "op": op, "value": value})
            self.row_of_filter.append(index)
        return out

    def add_service_errors(self, messages: list[str]) -> list[str]:
        """Put "Filter i: …" next to its row; returns the messages about no row in particular."""
        general = []
        for message in messages:
            match = re.match(r"Filter (\d+): (.*)", message, re.S)
            number = int(match.group(1)) - 1 if match else -1
            if 0 <= number < len(self.row_of_filter):
                self.forms[self.row_of_filter[number]].add_error(None, match.group(2))
            else:
                general.append(message)
        return general


FieldFilterFormSet = forms.formset_factory(
    FieldFilterForm,
    formset=BaseFieldFilterFormSet,
    extra=EMPTY_FILTER_ROWS,
    can_delete=True,
    max_num=criteria.MAX_FILTERS,
    validate_max=True,
    absolute_max=criteria.MAX_FILTERS + EMPTY_FILTER_ROWS,
)
