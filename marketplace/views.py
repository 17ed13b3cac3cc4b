"""The marketplace's own pages: the home page (the auction floor is auctions' views) and the
first-run checklist's panel and "hide"."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.services import user_first_run_dismiss
from marketplace.onboarding import first_run_checklist
from verticals.selectors import vertical_list


def home(request):
    top = vertical_list(top_level=True, status="active")[:12]
    return render(request, "home.html", {"top_verticals": top})


def first_run_panel(request: HttpRequest) -> str:
    """The checklist for the account page (accounts.panels); "" once hidden, without a query."""
    user = request.user
    if not user.is_authenticated or user.first_run_dismissed_at is not None:
        return ""
    return render_to_string(
        "marketplace/_first_run.html", {"checklist": first_run_checklist(user=user)}, request=request
    )


@login_required
@require_POST
def first_run_dismiss(request):
    user_first_run_dismiss(user=request.user)
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("account")
    return redirect(next_url)
