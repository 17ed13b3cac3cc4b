from django import forms
from django.core.exceptions import ValidationError

from auctions.models import AutobidRule
from integrations.choices import CrmPreset, DestinationKind, DestinationScope
from verticals.models import Vertical


class MappingField(forms.CharField):
    """A CRM mapping typed as lines, "their field = value template", not as JSON:

        email = {{ contact.email }}
        firstname = {{ contact.first_name }}
        lead_source = Lead Engine

    Blank lines and lines starting with # are skipped. The cleaned value is the mapping (a dict), or
    None when there are no lines."""

    widget = forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "autocapitalize": "off"})

    def prepare_value(self, value):
        if isinstance(value, dict):
            return "\n".join(f"{name} = {template}" for name, template in value.items())
        return value

    def to_python(self, value):
        text = super().to_python(value) or ""
        mapping, errors = {}, []
        for number, line in enumerate(text.splitlines(), 1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            name, sep, template = stripped.partition("=")
            if not sep or not name.strip():
                errors.append(
                    f'Line {number}: write it as "their field = value", e.g. email = {{{{ contact.email }}}}.'
                )
                continue
            if name.strip() in mapping:
                errors.append(f'Line {number}: "{name.strip()}" is mapped twice.')
                continue
            mapping[name.strip()] = template.strip()
        if errors:
            raise ValidationError(errors)
        return mapping or None


class DestinationForm(forms.Form):
    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=DestinationKind.choices)
    scope = forms.ChoiceField(choices=DestinationScope.choices, initial=DestinationScope.ALL)
    vertical = forms.ModelChoiceField(queryset=Vertical.objects.all(), required=False, to_field_name="slug")
    rule = forms.ModelChoiceField(queryset=AutobidRule.objects.none(), required=False)
    url = forms.URLField(max_length=500, required=False, assume_scheme="https")
    email = forms.EmailField(required=False)
    crm_preset = forms.ChoiceField(choices=[("", "—"), *CrmPreset.choices], required=False)
    mapping = MappingField(
        required=False,
        label="Field mapping",
        help_text="CRM: one line per field, “their field = value”, e.g. email = {{ contact.email }}. "
        "Or pick a preset above and leave this empty.",
    )
    authorization = forms.CharField(
        max_length=500, required=False, help_text="Sent as the Authorization header; stored sealed, never shown."
    )

    def __init__(self, *args, owner, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rule"].queryset = AutobidRule.objects.filter(buyer=owner)
        if editing:
            self.fields["kind"].disabled = True
