from django import forms

from auctions.models import AutobidRule
from integrations.choices import CrmPreset, DestinationKind, DestinationScope
from verticals.models import Vertical


class DestinationForm(forms.Form):
    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=DestinationKind.choices)
    scope = forms.ChoiceField(choices=DestinationScope.choices, initial=DestinationScope.ALL)
    vertical = forms.ModelChoiceField(queryset=Vertical.objects.all(), required=False, to_field_name="slug")
    rule = forms.ModelChoiceField(queryset=AutobidRule.objects.none(), required=False)
    url = forms.URLField(max_length=500, required=False, assume_scheme="https")
    email = forms.EmailField(required=False)
    crm_preset = forms.ChoiceField(choices=[("", "—"), *CrmPreset.choices], required=False)
    mapping = forms.JSONField(required=False, help_text='CRM: {"their field": "{{ contact.email }}", …}')
    authorization = forms.CharField(
        max_length=500, required=False, help_text="Sent as the Authorization header; stored sealed, never shown."
    )

    def __init__(self, *args, owner, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rule"].queryset = AutobidRule.objects.filter(buyer=owner)
        if editing:
            self.fields["kind"].disabled = True
