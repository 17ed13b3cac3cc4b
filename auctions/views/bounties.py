"""Pages for bounties: a buyer's bounties (list and create, detail with change, top-up, withdrawal,
pause/resume and awards) and, for sellers, the open bounties they can earn and their earnings.
Thin: auctions.services.bounties and auctions.selectors.bounties do the work.

Forms that move money carry a one-time token (a hidden idempotency key made when the page is
drawn), so a double submit moves money once.
"""

import json
import uuid

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import OuterRef
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from auctions.choices import BountyStatus
from auctions.models import BOUNTY_MAX_LEAD_AGE_HOURS, Bounty
from auctions.selectors import bounties as bounty_selectors
from auctions.services import bounties
from auctions.views.live import buyer_required
from leads.views.seller import seller_required
from verticals.choices import VerticalStatus
from verticals.display import filter_text
from verticals.models import Vertical
from verticals.selectors import vertical_open_to_q, vertical_schemas

TOKEN_FIELD = "idempotency_key"


# ---------------------------------------------------------------- forms


def _usdc_field(**kwargs) -> forms.DecimalField:
    return forms.DecimalField(max_digits=20, decimal_places=6, **kwargs)


class BountyCriteriaForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="For you only: sellers see the criteria, not the name.")
    amount_per_lead = _usdc_field(
        label="Amount per lead (USDC)", help_text="Paid to the seller of each matching lead, on top of the price."
    )
    min_score = forms.IntegerField(required=False, min_value=0, max_value=100, label="Minimum quality score")
    states = forms.CharField(required=False, help_text="Comma-separated two-letter states, e.g. CA, NV. Empty = all.")
    max_lead_age_hours = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=BOUNTY_MAX_LEAD_AGE_HOURS,
        label="Maximum lead age (hours)",
        help_text="Age when sold. Empty = any age.",
    )
    field_filters = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="JSON on the vertical's biddable fields, e.g. "
        '[{"field": "roof_type", "op": "eq", "value": "metal"}]. Empty = none.',
    )

    def clean_states(self) -> list[str]:
        raw = self.cleaned_data.get("states") or ""
        return [part.strip().upper() for part in raw.replace(";", ",").split(",") if part.strip()]

    def clean_field_filters(self):
        raw = (self.cleaned_data.get("field_filters") or "").strip()
        if not raw:
            return []
        try:
            return json.loads(raw)
        except ValueError:
            raise forms.ValidationError('Not valid JSON: a list of {"field", "op", "value"}.') from None

    @classmethod
    def initial_for(cls, bounty: Bounty) -> dict:
        return {
            "name": bounty.name,
            "amount_per_lead": bounty.amount_per_lead,
            "min_score": bounty.min_score,
            "states": ", ".join(bounty.states),
            "max_lead_age_hours": bounty.max_lead_age_hours,
            "field_filters": json.dumps(bounty.field_filters) if bounty.field_filters else "",
        }


class BountyCreateForm(BountyCriteriaForm):
    vertical = forms.ModelChoiceField(
        queryset=Vertical.objects.exclude(status=VerticalStatus.DEPRECATED),
        help_text="Leads of this vertical and of its sub-verticals.",
    )
    amount = _usdc_field(
        label="Fund the pool with (USDC)", help_text="Taken from your available balance now; at least one payout."
    )

    field_order = [
        "vertical",
        "name",
        "amount_per_lead",
        "amount",
        "min_score",
        "states",
        "max_lead_age_hours",
        "field_filters",
    ]

    def __init__(self, *args, buyer, **kwargs):
        super().__init__(*args, **kwargs)
        # Only verticals that admit the buyer (the exclusive-vertical rule; the service checks it too).
        self.fields["vertical"].queryset = Vertical.objects.exclude(status=VerticalStatus.DEPRECATED).filter(
            vertical_open_to_q(vertical=OuterRef("pk"), user_id=buyer.pk)
        )


class FundForm(forms.Form):
    amount = _usdc_field(label="Add to the pool (USDC)")


class WithdrawForm(forms.Form):
    amount = _usdc_field(
        required=False, label="Take back (USDC)", help_text="Empty = everything that is left, and the bounty closes."
    )


def _token() -> str:
    return uuid.uuid4().hex


def _add_errors(form: forms.Form, exc: ValidationError) -> None:
    errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
    for name, messages_ in errors.items():
        for message in messages_:
            form.add_error(name if name in form.fields else None, message)


def criteria_lines(bounty: Bounty, *, schema: list | None = None) -> list[str]:
    """The bounty's criteria in words, field filters labelled from the vertical's schema (for buyer
    and seller pages alike: no identity in it). Pass `schema` when showing many bounties."""
    lines = [f"score ≥ {bounty.min_score}"] if bounty.min_score is not None else []
    lines.append(f"states {', '.join(bounty.states)}" if bounty.states else "all states")
    if bounty.max_lead_age_hours is not None:
        lines.append(f"sold within {bounty.max_lead_age_hours} h of arrival")
    filters = [f for f in bounty.field_filters or [] if isinstance(f, dict)]
    if filters:
        if schema is None:
            schema = vertical_schemas(vertical_ids={bounty.vertical_id}).get(bounty.vertical_id, [])
        by_key = {field.key: field for field in schema}
        lines += [
            filter_text(
                field=by_key.get(f.get("field")), key=str(f.get("field")), op=str(f.get("op")), value=f.get("value")
            )
            for f in filters
        ]
    return lines


def _with_criteria(rows: list[Bounty]) -> list[Bounty]:
    """Set each bounty's `criteria` (two schema queries for the whole list)."""
    schemas = vertical_schemas(vertical_ids={b.vertical_id for b in rows if b.field_filters})
    for bounty in rows:
        bounty.criteria = criteria_lines(bounty, schema=schemas.get(bounty.vertical_id, []))
    return rows


# ---------------------------------------------------------------- a buyer's bounties


def _bounty(request, bounty_id: int) -> Bounty:
    try:
        return bounty_selectors.bounty_get_for_buyer(buyer=request.user, bounty_id=bounty_id)
    except Bounty.DoesNotExist:
        raise Http404("No such bounty.") from None


def _list_page(request, *, form: BountyCreateForm, token: str, status: int = 200):
    rows = _with_criteria(list(bounty_selectors.bounty_list_for_buyer(buyer=request.user)[:200]))
    return render(request, "auctions/bounty_list.html", {"bounties": rows, "form": form, "token": token}, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def bounty_list(request):
    """GET: your bounties and a form to create one (sellers who do not buy go to their page).
    POST: create and fund a bounty."""
    if not request.user.is_buyer:
        if request.user.is_seller and request.method == "GET":
            return redirect("seller-bounties")
        raise PermissionDenied("Only buyer accounts fund bounties. Enable buying on your account page.")
    if request.method == "GET":
        return _list_page(request, form=BountyCreateForm(buyer=request.user), token=_token())
    form = BountyCreateForm(request.POST, buyer=request.user)
    token = request.POST.get(TOKEN_FIELD) or _token()
    if form.is_valid():
        try:
            bounty = bounties.bounty_create(buyer=request.user, idempotency_key=token, **form.cleaned_data)
            messages.success(request, f"Bounty “{bounty.name}” is live with {form.cleaned_data['amount']:f} USDC.")
            return redirect("bounty-detail", bounty_id=bounty.pk)
        except ValidationError as exc:
            _add_errors(form, exc)
        except bounties.BountyConflict as exc:
            form.add_error(None, str(exc))
            token = _token()
    return _list_page(request, form=form, token=token, status=400)


def _detail_page(request, bounty: Bounty, *, status: int = 200, **forms_):
    edit = forms_.get("edit") or BountyCriteriaForm(initial=BountyCriteriaForm.initial_for(bounty), prefix="edit")
    bounty.criteria = criteria_lines(bounty)
    return render(
        request,
        "auctions/bounty_detail.html",
        {
            "bounty": bounty,
            "edit_form": edit,
            "fund_form": forms_.get("fund") or FundForm(prefix="fund"),
            "withdraw_form": forms_.get("withdraw") or WithdrawForm(prefix="withdraw"),
            "token": _token(),
            "awards": list(bounty_selectors.bounty_award_list_for_bounty(bounty=bounty)[:100]),
            "is_closed": bounty.status == BountyStatus.CLOSED,
        },
        status=status,
    )


@require_GET
@buyer_required
def bounty_detail(request, bounty_id: int):
    return _detail_page(request, _bounty(request, bounty_id))


@require_POST
@buyer_required
def bounty_edit(request, bounty_id: int):
    bounty = _bounty(request, bounty_id)
    form = BountyCriteriaForm(request.POST, prefix="edit")
    if form.is_valid():
        try:
            bounties.bounty_update(bounty=bounty, **form.cleaned_data)
            messages.success(request, "Bounty saved.")
            return redirect("bounty-detail", bounty_id=bounty.pk)
        except ValidationError as exc:
            _add_errors(form, exc)
    return _detail_page(request, bounty, edit=form, status=400)


@require_POST
@buyer_required
def bounty_fund(request, bounty_id: int):
    bounty = _bounty(request, bounty_id)
    form = FundForm(request.POST, prefix="fund")
    if form.is_valid():
        try:
            bounties.bounty_fund(
                bounty=bounty,
                amount=form.cleaned_data["amount"],
                idempotency_key=request.POST.get(TOKEN_FIELD) or _token(),
            )
            messages.success(request, f"Added {form.cleaned_data['amount']:f} USDC to the pool.")
            return redirect("bounty-detail", bounty_id=bounty.pk)
        except ValidationError as exc:
            _add_errors(form, exc)
        except bounties.BountyConflict as exc:
            form.add_error(None, str(exc))
    return _detail_page(request, bounty, fund=form, status=400)


@require_POST
@buyer_required
def bounty_withdraw(request, bounty_id: int):
    bounty = _bounty(request, bounty_id)
    form = WithdrawForm(request.POST, prefix="withdraw")
    if form.is_valid():
        amount = form.cleaned_data.get("amount")
        try:
            bounties.bounty_withdraw(
                bounty=bounty, amount=amount, idempotency_key=request.POST.get(TOKEN_FIELD) or _token()
            )
            messages.success(
                request,
                f"Took {amount:f} USDC back." if amount is not None else "Took the pool back; the bounty is closed.",
            )
            return redirect("bounty-detail", bounty_id=bounty.pk)
        except ValidationError as exc:
            _add_errors(form, exc)
        except bounties.BountyConflict as exc:
            form.add_error(None, str(exc))
    return _detail_page(request, bounty, withdraw=form, status=400)


@require_POST
@buyer_required
def bounty_status(request, bounty_id: int):
    """Pause or resume (POST status=paused|active)."""
    bounty = _bounty(request, bounty_id)
    try:
        bounty = bounties.bounty_update(bounty=bounty, status=request.POST.get("status", ""))
    except ValidationError as exc:
        for message in exc.messages or ["Not allowed."]:
            messages.error(request, message)
        return _detail_page(request, _bounty(request, bounty_id), status=400)
    messages.success(request, "Bounty paused." if bounty.status == BountyStatus.PAUSED else "Bounty resumed.")
    return redirect("bounty-detail", bounty_id=bounty.pk)


# ---------------------------------------------------------------- sellers


@require_GET
@seller_required
def seller_bounties(request):
    """Bounties a seller can earn (criteria and amounts, never the buyer) and what they have earned."""
    verticals = list(Vertical.objects.exclude(status=VerticalStatus.DEPRECATED).order_by("name").only("slug", "name"))
    slugs = {v.slug for v in verticals}
    chosen = request.GET.get("vertical") or ""
    chosen = chosen if chosen in slugs else ""
    open_bounties = _with_criteria(list(bounty_selectors.bounty_list_open(vertical_slug=chosen)[:200]))
    return render(
        request,
        "auctions/bounty_seller.html",
        {
            "verticals": verticals,
            "chosen": chosen,
            "open_bounties": open_bounties,
            "earnings": bounty_selectors.bounty_earnings_for_seller(seller=request.user),
            "awards": list(bounty_selectors.bounty_award_list_for_seller(seller=request.user)[:100]),
        },
    )
