"""The staff credit page (the wallet page itself is escrow/views_wallet.py), and the one-time form
nonces both use."""

import re
import secrets
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods

from marketplace.ledger import USDC_QUANTUM, IdempotencyConflict, ledger_credit_user
from marketplace.ledger_models import USDC_DECIMAL_PLACES, USDC_MAX_DIGITS
from marketplace.models import User

_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def _new_nonce() -> str:
    # One per rendered form: a double-submitted form replays the same ledger transaction.
    return secrets.token_urlsafe(16)


def _valid_nonce(value: str | None) -> str | None:
    return value if value and _NONCE.match(value) else None


# ---------------------------------------------------------------- cursor over (created_at, id)


# ---------------------------------------------------------------- staff credit

class StaffCreditForm(forms.Form):
    email = forms.EmailField(label="User email")
    amount = forms.DecimalField(label="Amount (USDC)", max_digits=USDC_MAX_DIGITS, decimal_places=USDC_DECIMAL_PLACES,
                                min_value=Decimal("0.000001"))
    memo = forms.CharField(max_length=255, required=False)
    nonce = forms.CharField(widget=forms.HiddenInput)

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        self.target = User.objects.filter(email=email).first()
        if self.target is None:
            raise forms.ValidationError("No user with that email.")
        return email

    def clean_nonce(self) -> str:
        nonce = _valid_nonce(self.cleaned_data["nonce"])
        if nonce is None:
            raise forms.ValidationError("This form has expired; reload the page.")
        return nonce


@staff_member_required
@require_http_methods(["GET", "POST"])
def staff_credit(request):
    """Staff credit a user's available balance (stands in for on-chain deposits for now)."""
    form = StaffCreditForm(request.POST if request.method == "POST" else None, initial={"nonce": _new_nonce()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            txn = ledger_credit_user(
                user=form.target, amount=data["amount"], idempotency_key=f"staff-credit:{data['nonce']}",
                memo=data["memo"] or f"Staff credit by {request.user.email}", created_by=request.user,
            )
        except IdempotencyConflict:
            form.add_error(None, "This form was already used for another credit; reload the page.")
        else:
            if txn.replayed:
                messages.info(request, f"That credit was already recorded (transaction {txn.pk}).")
            else:
                amount = data["amount"].quantize(USDC_QUANTUM)
                messages.success(request, f"Credited {amount:f} USDC to {form.target.email} (transaction {txn.pk}).")
            return redirect("staff-credit")
    return render(request, "wallet/staff_credit.html", {"form": form}, status=400 if form.errors else 200)


urlpatterns = [
    path("staff/credit/", staff_credit, name="staff-credit"),
]
