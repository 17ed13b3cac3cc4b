"""Forms of the escrow pages and admin for disputes. They collect input only: escrow.services.disputes
checks it (reasons, statements, amounts, evidence files by content) and its ValidationError, which
names the field, is put back on the form by `add_service_errors`."""

from decimal import Decimal

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404

from core.money import USDC_DECIMAL_PLACES, USDC_MAX_DIGITS
from escrow.choices import DisputeOutcome, DisputeReason, DisputeResponse
from escrow.services.disputes import MAX_STATEMENT
from escrow.services.evidence import ALLOWED_TYPES


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Put a service's ValidationError on `form`, field by field (a field the form lacks goes to its
    top). "Not found" is a 404, as for anyone else's dispute or purchase."""
    if getattr(exc, "code", None) == "not_found" or any(
        e.code == "not_found" for errors in getattr(exc, "error_dict", {}).values() for e in errors
    ):
        raise Http404("Not found.") from exc
    errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
    for name, messages in errors.items():
        for message in messages:
            form.add_error(name if name in form.fields else None, message)


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class EvidenceField(forms.FileField):
    """Several files under one name; their type and size are checked by the service, by content."""

    widget = MultipleFileInput

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", "Evidence files")
        kwargs.setdefault("help_text", evidence_help())
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("accept", ",".join(sorted(ALLOWED_TYPES)))

    def clean(self, data, initial=None):
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        if self.required and not files:
            raise ValidationError("Attach at least one file.")
        return files


def evidence_help() -> str:
    kinds = ", ".join(sorted(set(ALLOWED_TYPES.values())))
    return (
        f"Up to {settings.DISPUTE_EVIDENCE_MAX_FILES} files, each at most "
        f"{settings.DISPUTE_EVIDENCE_MAX_BYTES // (1024 * 1024)} MB: {kinds}."
    )


def _statement(label: str, *, required: bool, help_text: str = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        max_length=MAX_STATEMENT,
        strip=True,
        help_text=help_text or f"At most {MAX_STATEMENT} characters.",
        widget=forms.Textarea(attrs={"rows": 5}),
    )


def _usdc(label: str, *, required: bool = False) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=required,
        max_digits=USDC_MAX_DIGITS,
        decimal_places=USDC_DECIMAL_PLACES,
        min_value=Decimal("0.000001"),
        widget=forms.NumberInput(attrs={"step": "0.000001", "inputmode": "decimal"}),
    )


class DisputeOpenForm(forms.Form):
    reason = forms.ChoiceField(label="Reason", choices=[("", "Choose a reason…"), *DisputeReason.choices])
    statement = _statement(
        "What is wrong", required=True, help_text="What you found when you contacted the lead, and when."
    )
    evidence = EvidenceField()


class DisputeResponseForm(forms.Form):
    response = forms.ChoiceField(label="Your answer", choices=DisputeResponse.choices, widget=forms.RadioSelect)
    offer_amount = _usdc("Partial refund (USDC)")
    statement = _statement("Your statement", required=False, help_text="Required to contest: why the lead is as sold.")
    evidence = EvidenceField()

    def clean(self):
        data = super().clean()
        offer = data.get("response") == DisputeResponse.OFFER
        if offer and data.get("offer_amount") is None and "offer_amount" not in self.errors:
            self.add_error("offer_amount", "Enter the amount you offer to refund, in USDC.")
        return data


class OfferReplyForm(forms.Form):
    accept = forms.TypedChoiceField(
        label="The seller's offer",
        choices=[("yes", "Accept the offer"), ("no", "Decline: let staff decide")],
        coerce=lambda v: v == "yes",
    )


class EvidenceAddForm(forms.Form):
    evidence = EvidenceField(required=True, label="More evidence")


class DisputeDecideForm(forms.Form):
    """Staff arbitration (admin)."""

    outcome = forms.ChoiceField(label="Outcome", choices=DisputeOutcome.choices, widget=forms.RadioSelect)
    refund_amount = _usdc("Partial refund amount (USDC)")
    reason = _statement(
        "Reason (both parties read it)", required=True, help_text="Why: the facts you relied on, in plain words."
    )

    def clean(self):
        data = super().clean()
        partial = data.get("outcome") == DisputeOutcome.REFUND_PARTIAL
        if partial and data.get("refund_amount") is None and "refund_amount" not in self.errors:
            self.add_error("refund_amount", "Enter the amount to refund, in USDC.")
        return data
