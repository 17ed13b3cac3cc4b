"""The wallet page: balances, holds and history, the deposit address, recent vault deposits and
withdrawals, exits announced on the vault, the withdraw form and the development faucet
(escrow/services/deposits.py, escrow/services/withdrawals.py, escrow/services/exits.py); and the staff credit page."""

from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from chain.client import DEV_CHAIN_ID
from chain.models import Wallet
from chain.wallets import wallet_for, wallet_get_for
from core import ratelimit
from core.money import USDC_DECIMAL_PLACES, USDC_MAX_DIGITS
from core.paging import cursor_decode_time_id, page_newest_first
from escrow.selectors.earnings_history import earnings_totals
from escrow.selectors.funds import vault_deployment_get, vault_event_list_for_user, withdrawal_list_for_user
from escrow.services.deposits import FaucetError, faucet_chain_target, faucet_dispense, treasury_deposit_for
from escrow.services.exits import claims_live_for, exits_pending_for
from escrow.services.settlement import settlement_enabled
from escrow.services.withdrawals import WithdrawalConflict, WithdrawalUnavailable, withdrawal_request
from ledger.nonces import _new_nonce, _valid_nonce
from ledger.selectors import balance_for, ledger_entries_for
from ledger.services import USDC_QUANTUM, IdempotencyConflict, ledger_credit_user

WALLET_PAGE_SIZE = 50
FUNDS_PAGE_SIZE = 10  # recent vault events and withdrawals on the wallet page
FAUCET_AMOUNT = Decimal("1000.000000")


# ---------------------------------------------------------------- wallet


def faucet_enabled() -> bool:
    return bool(settings.DEBUG or getattr(settings, "LEDGER_FAUCET_ENABLED", False))


class WithdrawForm(forms.Form):
    amount = forms.DecimalField(
        label="Amount (USDC)",
        max_digits=USDC_MAX_DIGITS,
        decimal_places=USDC_DECIMAL_PLACES,
        min_value=Decimal("0.000001"),
    )
    to_address = forms.CharField(
        label="To address", max_length=42, help_text="An EIP-55 checksummed address (0x… with mixed case)."
    )
    nonce = forms.CharField(widget=forms.HiddenInput)

    def clean_nonce(self) -> str:
        nonce = _valid_nonce(self.cleaned_data["nonce"])
        if nonce is None:
            raise forms.ValidationError("This form has expired; reload the page.")
        return nonce


def _wallet_context(request, *, withdraw_form: WithdrawForm | None = None) -> dict:
    cursor = request.GET.get("cursor")
    page = page_newest_first(ledger_entries_for(user=request.user), cursor=cursor, size=WALLET_PAGE_SIZE)
    chain_wallet = wallet_get_for(user=request.user)
    context = {
        "balance": balance_for(user=request.user),
        "entries": page.rows,
        "next_cursor": page.next_cursor,
        "is_first_page": cursor_decode_time_id(cursor) is None,
        "faucet_enabled": faucet_enabled(),
        "faucet_amount": FAUCET_AMOUNT,
        "faucet_nonce": _new_nonce(),
        "chain_wallet": chain_wallet,
        # Sellers: their sales' money over the last 30 days, linking to the earnings page.
        "earnings_30d": earnings_totals(seller=request.user) if request.user.is_seller else None,
    }
    if chain_wallet is not None:  # no wallet: no vault events or withdrawals either
        vault = vault_deployment_get()
        context.update(
            {
                "vault": vault,
                "dev_chain": vault is not None and vault.chain_id == DEV_CHAIN_ID,
                "vault_events": list(vault_event_list_for_user(user=request.user)[:FUNDS_PAGE_SIZE]),
                "withdrawals": list(withdrawal_list_for_user(user=request.user)[:FUNDS_PAGE_SIZE]),
                "exits": exits_pending_for(user=request.user),
                "claims": claims_live_for(user=request.user),
            }
        )
        if vault is not None and chain_wallet.kind == Wallet.Kind.CUSTODIAL:
            context["withdraw_form"] = withdraw_form or WithdrawForm(initial={"nonce": _new_nonce()})
    return context


@login_required
@require_GET
def wallet(request):
    return render(request, "wallet/wallet.html", _wallet_context(request))


@login_required
@require_POST
def wallet_address(request):
    """Create the user's custodial deposit address (their wallet) if they have none yet."""
    wallet_for(user=request.user)
    return redirect("wallet")


@login_required
@require_POST
def withdraw(request):
    """Withdraw USDC to an address (custodial wallets: we sign; own wallets use the API)."""
    form = WithdrawForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            withdrawal = withdrawal_request(
                user=request.user,
                amount=data["amount"],
                to_address=data["to_address"],
                idempotency_key=f"page:{data['nonce']}",
            )
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(name if name in form.fields else None, error)
        except WithdrawalConflict:
            form.add_error(None, "This form was already used for another withdrawal; reload the page.")
        except WithdrawalUnavailable as exc:
            form.add_error(None, str(exc))
        else:
            amount = withdrawal.amount.quantize(USDC_QUANTUM)
            messages.success(
                request,
                f"Withdrawal of {amount:f} USDC to {withdrawal.to_address} requested: "
                "it arrives once the transaction confirms.",
            )
            return redirect("wallet")
    return render(request, "wallet/wallet.html", _wallet_context(request, withdraw_form=form), status=400)


@require_POST
def faucet(request):
    """Development test funds: 1,000 USDC, rate-limited per user; 404 outside DEBUG unless enabled."""
    if not faucet_enabled():
        raise Http404("The faucet is off.")
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("wallet"))
    nonce = _valid_nonce(request.POST.get("nonce"))
    if nonce is None:
        return HttpResponseBadRequest("Reload the wallet page and try again.")
    decision = ratelimit.check(request, "faucet", key="user")
    if decision is not None:  # the wallet page, saying so: not a bare 429 off the site
        messages.error(
            request, f"You have used the faucet recently. Try again in {ratelimit.wait_text(decision.retry_after)}."
        )
        return ratelimit.limited(render(request, "wallet/wallet.html", _wallet_context(request)), decision)
    try:
        mode = faucet_dispense(user=request.user, amount=FAUCET_AMOUNT, nonce=nonce)
    except FaucetError as exc:
        messages.error(request, f"The faucet could not send on chain: {exc}")
        return redirect("wallet")
    if mode == "chain":
        messages.success(
            request,
            f"{FAUCET_AMOUNT:,.2f} test USDC deposited to the vault for your address: "
            "arriving in your available balance in a few seconds.",
        )
    else:
        messages.success(request, f"{FAUCET_AMOUNT:,.2f} test USDC added to your available balance.")
    return redirect("wallet")


# ---------------------------------------------------------------- staff credit


class StaffCreditForm(forms.Form):
    email = forms.EmailField(label="User email")
    amount = forms.DecimalField(
        label="Amount (USDC)",
        max_digits=USDC_MAX_DIGITS,
        decimal_places=USDC_DECIMAL_PLACES,
        min_value=Decimal("0.000001"),
    )
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


TREASURY_PERMISSION = "escrow.credit_from_treasury"


@staff_member_required
@require_http_methods(["GET", "POST"])
def staff_credit(request):
    """Staff credit a user. Without chain settlement: straight into the ledger. With it, the money
    must be in the vault first: staff holding the treasury permission send a deposit from the
    platform treasury, and the indexer credits the ledger once it confirms; others are refused."""
    on_chain = settlement_enabled()
    form = StaffCreditForm(request.POST if request.method == "POST" else None, initial={"nonce": _new_nonce()})
    context = {
        "form": form,
        "on_chain": on_chain,
        "may_credit": not on_chain or request.user.has_perm(TREASURY_PERMISSION),
    }
    if request.method == "POST" and not context["may_credit"]:
        form.is_valid()
        form.add_error(
            None,
            "The marketplace settles on chain: a credit must come from the platform treasury, "
            "which needs the permission “Can credit users from the platform treasury”.",
        )
        return render(request, "wallet/staff_credit.html", context, status=403)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        amount = data["amount"].quantize(USDC_QUANTUM)
        if on_chain:
            try:
                treasury_deposit_for(
                    user=form.target,
                    amount=amount,
                    once=f"staff-credit:{data['nonce']}",
                    mint=faucet_chain_target() is not None,
                )
            except FaucetError as exc:
                form.add_error(None, f"The treasury deposit could not be sent: {exc}")
            else:
                messages.success(
                    request,
                    f"Sent {amount:f} USDC from the treasury to {form.target.email}'s vault "
                    "address: their balance shows it once the deposit confirms.",
                )
                return redirect("staff-credit")
        else:
            try:
                txn = ledger_credit_user(
                    user=form.target,
                    amount=amount,
                    idempotency_key=f"staff-credit:{data['nonce']}",
                    memo=data["memo"] or f"Staff credit by {request.user.email}",
                    created_by=request.user,
                )
            except IdempotencyConflict:
                form.add_error(None, "This form was already used for another credit; reload the page.")
            else:
                if txn.replayed:
                    messages.info(request, f"That credit was already recorded (transaction {txn.pk}).")
                else:
                    messages.success(
                        request, f"Credited {amount:f} USDC to {form.target.email} (transaction {txn.pk})."
                    )
                return redirect("staff-credit")
    return render(request, "wallet/staff_credit.html", context, status=400 if form.errors else 200)
