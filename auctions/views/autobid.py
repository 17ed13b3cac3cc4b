"""Pages for a buyer's autobid rules: the list with today's usage and pause/resume, the form (new
and edit), delete, and a rule's page with its recent traces. Thin: auctions.services.autobid writes,
auctions.selectors.autobid reads. Another buyer's rule is a 404; a non-buyer gets 403."""

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from auctions import criteria
from auctions.forms.autobid import AutobidRuleForm, FieldFilterFormSet
from auctions.models import AutobidRule, AutobidTuning
from auctions.selectors import autobid as autobid_selectors
from auctions.selectors import pages as page_selectors
from auctions.services import autobid, autobid_tuning
from auctions.views.live import buyer_required


def _rule(request, rule_id: int) -> AutobidRule:
    try:
        return autobid_selectors.autobid_rule_get_for_buyer(buyer=request.user, rule_id=rule_id)
    except AutobidRule.DoesNotExist:
        raise Http404("No such autobid rule.") from None


@require_GET
@buyer_required
def rule_list(request):
    rules = list(autobid_selectors.autobid_rule_list_for_buyer(buyer=request.user))
    return render(
        request,
        "auctions/autobid_list.html",
        {
            "rules": rules,
            "today": autobid_selectors.buyer_today(buyer=request.user),
            "time_zone": request.user.time_zone or "UTC",
        },
    )


def _chosen_vertical(request, rule: AutobidRule | None, verticals: list):
    """The vertical the form is about: the one posted, else the rule's (None: all verticals)."""
    raw = request.POST.get("vertical") if request.method == "POST" else (rule.vertical_id if rule else None)
    return next((v for v in verticals if str(v.pk) == str(raw)), None) if raw not in (None, "") else None


def _field_choices(vertical, reference: list) -> list:
    """The filter rows' field options: the chosen vertical's fields by label, or (no vertical yet)
    every vertical's, grouped under its name."""
    if vertical is not None:
        return [(f.key, f.label) for v, fields in reference if v.pk == vertical.pk for f in fields]
    return [(v.name, [(f.key, f.label) for f in fields]) for v, fields in reference if fields]


def _form_page(request, *, rule: AutobidRule | None):
    verticals = page_selectors.vertical_list_watchable(user=request.user)
    if rule is not None and rule.vertical is not None and rule.vertical not in verticals:
        verticals.append(rule.vertical)
    reference = autobid_selectors.autobid_filterable_fields(verticals=verticals)
    chosen = _chosen_vertical(request, rule, verticals)
    field_choices = _field_choices(chosen, reference)
    filter_errors: list[str] = []
    if request.method == "POST":
        form = AutobidRuleForm(request.POST, verticals=verticals)
        filters = FieldFilterFormSet(request.POST, field_choices=field_choices)
        if form.is_valid() and filters.is_valid():
            vertical = form.cleaned_data["vertical"]
            fields_by_key = {f.key: f for v, fs in reference if vertical and v.pk == vertical.pk for f in fs}
            kwargs = {**form.service_kwargs(), "field_filters": filters.filters(fields_by_key=fields_by_key)}
            try:
                if rule is None:
                    rule = autobid.autobid_rule_create(buyer=request.user, **kwargs)
                    messages.success(request, f"Autobid rule “{rule.name}” created.")
                else:
                    autobid.autobid_rule_update(rule=rule, **kwargs)
                    messages.success(request, f"Autobid rule “{rule.name}” saved.")
                return redirect("autobid-rule-detail", rule_id=rule.pk)
            except ValidationError as exc:
                errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
                form.add_service_errors(errors)
                filter_errors = filters.add_service_errors(errors.get("field_filters", []))
    else:
        form = AutobidRuleForm(initial=AutobidRuleForm.initial_for(rule) if rule else None, verticals=verticals)
        filters = FieldFilterFormSet(
            initial=FieldFilterFormSet.initial_for(rule.field_filters) if rule else None, field_choices=field_choices
        )
    return render(
        request,
        "auctions/autobid_form.html",
        {
            "form": form,
            "filters": filters,
            "filter_errors": filter_errors,
            "rule": rule,
            "time_zone": request.user.time_zone or "UTC",
            "reference": [(v, fields) for v, fields in reference if fields],
            "fields_by_vertical": {str(v.pk): [[f.key, f.label] for f in fields] for v, fields in reference},
            "op_symbols": criteria.OP_SYMBOLS,
        },
    )


@require_http_methods(["GET", "POST"])
@buyer_required
def rule_new(request):
    return _form_page(request, rule=None)


@require_http_methods(["GET", "POST"])
@buyer_required
def rule_edit(request, rule_id: int):
    return _form_page(request, rule=_rule(request, rule_id))


@require_GET
@buyer_required
def rule_detail(request, rule_id: int):
    rule = _rule(request, rule_id)
    traces = autobid_selectors.autobid_trace_list_recent(rule=rule)
    for trace in traces:
        trace.buyer_reasons = autobid_selectors.reasons_for_buyer(trace.reasons)
    return render(
        request,
        "auctions/autobid_detail.html",
        {
            "rule": rule,
            "traces": traces,
            "time_zone": request.user.time_zone or "UTC",
            "days": [autobid.DAY_NAMES[d] for d in (rule.hours or {}).get("days", [])],
            "evidence": autobid_tuning.autobid_rule_evidence(rule=rule, as_of=timezone.now()),
            "tunings": list(rule.tunings.order_by("-created_at", "-id")[:20]),
        },
    )


def _decimal_or_none(text: str):
    text = (text or "").strip()
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return text  # the service's check names the field


@require_POST
@buyer_required
def rule_tuning(request, rule_id: int):
    """Save the rule's target margin, auto-tune switch and bounds."""
    rule = _rule(request, rule_id)
    try:
        autobid.autobid_rule_update(
            rule=rule,
            target_margin=_decimal_or_none(request.POST.get("target_margin")) or rule.target_margin,
            auto_tune=request.POST.get("auto_tune") == "on",
            tune_min_bid=_decimal_or_none(request.POST.get("tune_min_bid")),
            tune_max_bid=_decimal_or_none(request.POST.get("tune_max_bid")),
        )
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            messages.error(request, f"{field.replace('_', ' ')}: {' '.join(errors)}")
    else:
        messages.success(request, "Tuning settings saved.")
    return redirect("autobid-rule-detail", rule_id=rule_id)


@require_POST
@buyer_required
def tuning_revert(request, rule_id: int, tuning_id: int):
    """Put the maximum back to what it was before an auto-tune change."""
    rule = _rule(request, rule_id)
    try:
        tuning = autobid_tuning.autobid_tuning_revert(tuning_id=tuning_id, rule=rule)
    except AutobidTuning.DoesNotExist:
        raise Http404("No such change.") from None
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Maximum bid back to {tuning.old_max_bid:.2f} USDC.")
    return redirect("autobid-rule-detail", rule_id=rule_id)


@require_POST
@buyer_required
def rule_delete(request, rule_id: int):
    rule = _rule(request, rule_id)
    autobid.autobid_rule_delete(rule=rule)
    messages.success(request, f"Autobid rule “{rule.name}” deleted.")
    return redirect("autobid-rule-list")


@require_POST
@buyer_required
def rule_pause(request, rule_id: int):
    rule = autobid.autobid_rule_pause(rule=_rule(request, rule_id))
    messages.success(request, f"Autobid rule “{rule.name}” paused.")
    return redirect("autobid-rule-list")


@require_POST
@buyer_required
def rule_resume(request, rule_id: int):
    rule = autobid.autobid_rule_resume(rule=_rule(request, rule_id))
    messages.success(request, f"Autobid rule “{rule.name}” resumed.")
    return redirect("autobid-rule-list")
