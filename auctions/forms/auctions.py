"""Page forms. They collect input; auctions.services.auctions validates it (field errors come back here)."""

from django import forms

from auctions.models import MAX_DURATION_SECONDS, MIN_DURATION_SECONDS
from verticals.choices import VerticalStatus
from verticals.models import Vertical


class AskForm(forms.Form):
    vertical = forms.ModelChoiceField(queryset=Vertical.objects.exclude(status=VerticalStatus.DEPRECATED))
    states = forms.CharField(required=False, help_text="Comma-separated two-letter states, e.g. CA, NV. Empty = all.")
    reserve_price = forms.DecimalField(
        required=False, min_value=0, max_digits=20, decimal_places=6, help_text="USDC. Empty = the vertical's reserve."
    )
    buy_now_price = forms.DecimalField(
        required=False, min_value=0, max_digits=20, decimal_places=6, help_text="USDC. Or give a multiplier instead."
    )
    buy_now_multiplier = forms.DecimalField(
        required=False,
        min_value=1,
        max_digits=6,
        decimal_places=3,
        help_text="Buy-now = reserve × this. Empty = the vertical's.",
    )
    duration_seconds = forms.IntegerField(
        required=False,
        min_value=MIN_DURATION_SECONDS,
        max_value=MAX_DURATION_SECONDS,
        help_text="Auction length, 30 s to 24 h. Empty = the vertical's.",
    )
    auto_list = forms.BooleanField(required=False, initial=True, label="List scored leads automatically")
    active = forms.BooleanField(required=False, initial=True)

    def clean_states(self) -> list[str]:
        raw = self.cleaned_data.get("states") or ""
        return [part.strip().upper() for part in raw.replace(";", ",").split(",") if part.strip()]

    @classmethod
    def initial_for(cls, ask) -> dict:
        return {
            "vertical": ask.vertical_id,
            "states": ", ".join(ask.states),
            "reserve_price": ask.reserve_price,
            "buy_now_price": ask.buy_now_price,
            "buy_now_multiplier": ask.buy_now_multiplier,
            "duration_seconds": ask.duration_seconds,
            "auto_list": ask.auto_list,
            "active": ask.active,
        }


class BidForm(forms.Form):
    max_amount = forms.DecimalField(min_value=0, max_digits=20, decimal_places=6, label="Your maximum (USDC)")
