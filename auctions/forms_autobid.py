"""The autobid rule form. It turns what people type (comma lists, day checkboxes, a JSON list of
filters) into the service's arguments; auctions.autobid.check_autobid_rule decides what is valid."""

import json
import re

from django import forms

from auctions import autobid
from auctions.models import USDC_MAX_DIGITS, USDC_PLACES
from verticals.models import Vertical

DAY_CHOICES = [(str(i), name) for i, name in enumerate(autobid.DAY_NAMES)]
FILTER_EXAMPLE = ('[{"field": "roof_type", "op": "in", "value": ["metal", "tile"]},\n'
                  ' {"field": "sqft", "op": "gte", "value": 1500}]')


def _split(raw: str) -> list[str]:
    return [part for part in re.split(r"[\s,;]+", raw or "") if part]


class AutobidRuleForm(forms.Form):
    name = forms.CharField(max_length=autobid.NAME_MAX)
    vertical = forms.ModelChoiceField(queryset=Vertical.objects.none(), required=False, empty_label="All verticals",
                                      help_text="Its sub-verticals are included.")
    states = forms.CharField(required=False, max_length=2000,
                             help_text="Comma-separated two-letter states, e.g. CA, NV. Empty = all states.")
    zips_include = forms.CharField(required=False, max_length=10000, label="ZIPs to include",
                                   help_text="5-digit ZIPs or 3-digit ZIP3 prefixes, comma-separated. Empty = all.")
    zips_exclude = forms.CharField(required=False, max_length=10000, label="ZIPs to exclude",
                                   help_text="5-digit ZIPs or 3-digit ZIP3 prefixes, comma-separated.")
    min_score = forms.IntegerField(required=False, min_value=0, max_value=100, label="Minimum quality score",
                                   help_text="0–100. Empty = any score.")
    field_filters = forms.CharField(
        required=False, max_length=20000, label="Field filters (JSON)",
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": FILTER_EXAMPLE, "spellcheck": "false"}),
        help_text='A JSON list of {"field", "op", "value"} on the vertical\'s biddable fields (listed below). '
                  "Empty = no field filters.")
    max_bid = forms.DecimalField(max_digits=USDC_MAX_DIGITS, decimal_places=USDC_PLACES, label="Maximum bid (USDC)",
                                 help_text="The proxy maximum placed on each matching lead; you usually pay less.")
    daily_budget = forms.DecimalField(max_digits=USDC_MAX_DIGITS, decimal_places=USDC_PLACES,
                                      label="Daily budget (USDC)",
                                      help_text="Open bids count their maximum; won leads their price; lost "
                                                "auctions nothing.")
    daily_lead_cap = forms.IntegerField(min_value=1, max_value=autobid.MAX_INT, label="Daily lead cap")
    days = forms.MultipleChoiceField(choices=DAY_CHOICES, required=False, widget=forms.CheckboxSelectMultiple,
                                     label="Days")
    start = forms.CharField(required=False, max_length=5, label="From (HH:MM)",
                            widget=forms.TextInput(attrs={"placeholder": "09:00", "size": 5}))
    end = forms.CharField(required=False, max_length=5, label="Until (HH:MM)",
                          widget=forms.TextInput(attrs={"placeholder": "17:00", "size": 5}),
                          help_text="An end before the start runs past midnight.")
    priority = forms.IntegerField(initial=0, min_value=-autobid.MAX_PRIORITY, max_value=autobid.MAX_PRIORITY,
                                  help_text="Higher runs first; one bid per auction per buyer.")
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

    def clean_field_filters(self) -> list:
        raw = (self.cleaned_data.get("field_filters") or "").strip()
        if not raw:
            return []
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise forms.ValidationError(f"Not valid JSON ({exc}). Example: {FILTER_EXAMPLE}") from None
        if isinstance(value, dict):
            value = [value]
        return value

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
        for name, messages in message_dict.items():
            target = self.SERVICE_ERRORS.get(name, name)
            for message in messages:
                self.add_error(target if target in self.fields else None,
                               f"Day-parting: {message}" if name == "hours" else message)

    @classmethod
    def initial_for(cls, rule) -> dict:
        hours = rule.hours or {}
        return {"name": rule.name, "vertical": rule.vertical_id, "states": ", ".join(rule.states),
                "zips_include": ", ".join(rule.zips_include), "zips_exclude": ", ".join(rule.zips_exclude),
                "min_score": rule.min_score, "max_bid": rule.max_bid, "daily_budget": rule.daily_budget,
                "daily_lead_cap": rule.daily_lead_cap, "priority": rule.priority, "paused": rule.paused,
                "field_filters": json.dumps(rule.field_filters, indent=1) if rule.field_filters else "",
                "days": [str(d) for d in hours.get("days", [])], "start": hours.get("start", ""),
                "end": hours.get("end", "")}
