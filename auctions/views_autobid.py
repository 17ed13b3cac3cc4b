"""Pages for a buyer's autobid rules: the list with today's usage and pause/resume, the form (new
and edit), delete, and a rule's page with its recent traces. Thin: auctions.autobid writes,
auctions.selectors_autobid reads. Another buyer's rule is a 404; a non-buyer gets 403."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from auctions import autobid, selectors_autobid, selectors_pages
from auctions.forms_autobid import AutobidRuleForm
from auctions.models import AutobidRule
from auctions.views_live import buyer_required


def _rule(request, rule_id: int) -> AutobidRule:
    try:
        return selectors_autobid.autobid_rule_get_for_buyer(buyer=request.user, rule_id=rule_id)
    except AutobidRule.DoesNotExist:
        raise Http404("No such autobid rule.") from None


@require_GET
@buyer_required
def rule_list(request):
    rules = list(selectors_autobid.autobid_rule_list_for_buyer(buyer=request.user))
    return render(request, "auctions/autobid_list.html", {
        "rules": rules, "today": selectors_autobid.buyer_today(buyer=request.user),
        "time_zone": request.user.time_zone or "UTC"})


def _form_page(request, *, rule: AutobidRule | None):
    verticals = selectors_pages.vertical_list_watchable(user=request.user)
    if rule is not None and rule.vertical is not None and rule.vertical not in verticals:
        verticals.append(rule.vertical)
    if request.method == "POST":
        form = AutobidRuleForm(request.POST, verticals=verticals)
        if form.is_valid():
            try:
                if rule is None:
                    rule = autobid.autobid_rule_create(buyer=request.user, **form.service_kwargs())
                    messages.success(request, f"Autobid rule “{rule.name}” created.")
                else:
                    autobid.autobid_rule_update(rule=rule, **form.service_kwargs())
                    messages.success(request, f"Autobid rule “{rule.name}” saved.")
                return redirect("autobid-rule-detail", rule_id=rule.pk)
            except ValidationError as exc:
                form.add_service_errors(exc.message_dict if hasattr(exc, "error_dict")
                                        else {"non_field_errors": exc.messages})
    else:
        form = AutobidRuleForm(initial=AutobidRuleForm.initial_for(rule) if rule else None, verticals=verticals)
    return render(request, "auctions/autobid_form.html", {
        "form": form, "rule": rule, "time_zone": request.user.time_zone or "UTC",
        "reference": selectors_autobid.autobid_filterable_fields(verticals=verticals[:50]),
        "ops": [(op, autobid.OP_LABELS[op]) for op in autobid.OP_NAMES]})


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
    traces = selectors_autobid.autobid_trace_list_recent(rule=rule)
    for trace in traces:
        trace.buyer_reasons = selectors_autobid.reasons_for_buyer(trace.reasons)
    return render(request, "auctions/autobid_detail.html", {
        "rule": rule, "traces": traces, "time_zone": request.user.time_zone or "UTC",
        "days": [autobid.DAY_NAMES[d] for d in (rule.hours or {}).get("days", [])]})


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


urlpatterns = [
    path("autobid/", rule_list, name="autobid-rule-list"),
    path("autobid/new/", rule_new, name="autobid-rule-new"),
    path("autobid/<int:rule_id>/", rule_detail, name="autobid-rule-detail"),
    path("autobid/<int:rule_id>/edit/", rule_edit, name="autobid-rule-edit"),
    path("autobid/<int:rule_id>/delete/", rule_delete, name="autobid-rule-delete"),
    path("autobid/<int:rule_id>/pause/", rule_pause, name="autobid-rule-pause"),
    path("autobid/<int:rule_id>/resume/", rule_resume, name="autobid-rule-resume"),
]
