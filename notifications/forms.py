"""The preferences page's form: two checkboxes per event, and the low-balance threshold."""

from decimal import Decimal

from django import forms

from core.money import USDC_DECIMAL_PLACES, USDC_MAX_DIGITS
from notifications.choices import Channels, NotificationEvent
from notifications.selectors import EventChoice


class PreferencesForm(forms.Form):
    low_balance_threshold = forms.DecimalField(
        required=False,
        min_value=Decimal("0"),
        max_digits=USDC_MAX_DIGITS - USDC_DECIMAL_PLACES,
        decimal_places=USDC_DECIMAL_PLACES,
        label="Low-balance alert below (USDC)",
        help_text="Tell me when my available balance falls below this. Empty: never.",
    )

    def __init__(self, *args, choices: list[EventChoice], **kwargs):
        super().__init__(*args, **kwargs)
        self.events = choices
        for choice in choices:
            self.fields[f"{choice.event}__in_app"] = forms.BooleanField(required=False, initial=choice.in_app)
            self.fields[f"{choice.event}__email"] = forms.BooleanField(required=False, initial=choice.email)

    def rows(self):
        """(label, in-app field, email field) per event, for the table."""
        return [(c.label, self[f"{c.event}__in_app"], self[f"{c.event}__email"]) for c in self.events]

    def channels(self) -> dict[str, Channels]:
        return {
            event: Channels(in_app=self.cleaned_data[f"{event}__in_app"], email=self.cleaned_data[f"{event}__email"])
            for event in NotificationEvent.values
        }
