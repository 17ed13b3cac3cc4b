"""The dashboards: the page each role lands on after logging in (settings.LOGIN_REDIRECT_URL),
their CSV exports, and the charts' data. Thin: analytics.selectors reads, analytics.formatting writes."""

import csv

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode

from analytics import selectors
from analytics.formatting import csv_value
from analytics.periods import PRESETS, period_parse, zone_of
from marketplace.onboarding import first_run_checklist

ROLES = {"seller": "Selling", "buyer": "Buying", "staff": "Marketplace"}


def roles_of(user) -> list[str]:
    return [
        role
        for role, allowed in (("seller", user.is_seller), ("buyer", user.is_buyer), ("staff", user.is_staff))
        if allowed
    ]


def _check_role(user, role: str) -> None:
    if role not in ROLES:
        raise Http404("No such dashboard.")
    if role not in roles_of(user):
        raise PermissionDenied(
            {
                "seller": "This dashboard is for sellers. Enable selling on your account page.",
                "buyer": "This dashboard is for buyers. Enable buying on your account page.",
                "staff": "This dashboard is for the marketplace's staff.",
            }[role]
        )


@login_required
def dashboard_home(request):
    """Where a log-in lands: the user's first dashboard, or the account page for a user with no role yet."""
    roles = roles_of(request.user)
    if not roles:
        return redirect("account")
    return redirect("analytics:dashboard", role=roles[0])


def _period(request, role: str):
    """(period, errors): the requested range, or the default one with the fields' messages. Staff
    figures are per UTC day (analytics.models.VerticalDay); the others in the viewer's time zone."""
    zone = zone_of(None if role == "staff" else request.user)
    try:
        return period_parse(request.GET, zone=zone), {}
    except ValidationError as exc:
        return period_parse({}, zone=zone), exc.message_dict


def _chart_payload(board) -> list[dict]:
    labels = [f"{day.day} {day:%b}" for day in board.series["days"]]
    charts = []
    for chart in board.charts:
        charts.append(
            {
                "id": chart["id"],
                "title": chart["title"],
                "type": chart["type"],
                "unit": chart["unit"],
                "stacked": chart.get("stacked", False),
                "labels": labels,
                "datasets": [
                    {"label": label, "data": [None if v is None else float(v) for v in board.series[key]]}
                    for label, key in chart["datasets"]
                ],
            }
        )
    return charts


@login_required
def dashboard(request, role: str):
    _check_role(request.user, role)
    period, errors = _period(request, role)
    board = selectors.dashboard_for(role=role, user=request.user, period=period)
    query = urlencode(period.params())
    context = {
        "board": board,
        "role": role,
        "roles": [(r, ROLES[r]) for r in roles_of(request.user)],
        "period": period,
        "presets": [(key, f"Last {days} days") for key, days in PRESETS.items()],
        "errors": errors,
        "query": query,
        "charts": _chart_payload(board),
        "has_data": any(k["value"] for k in board.kpis),
        "zone": period.zone,
        "checklist": (
            first_run_checklist(user=request.user)
            if role != "staff" and request.user.first_run_dismissed_at is None
            else None
        ),
    }
    return render(request, f"analytics/dashboard_{role}.html", context, status=400 if errors else 200)


class _Echo:
    def write(self, value):
        return value


def _csv_rows(table):
    writer = csv.writer(_Echo())
    columns = table.columns()
    yield writer.writerow(
        [label + ("" if unit in ("text", "count") else f" ({_unit_label(unit)})") for _, label, unit in columns]
    )
    for row in table.rows:
        yield writer.writerow(
            [row["label"] if key == "label" else csv_value(row.get(key), unit) for key, _, unit in columns]
        )


def _unit_label(unit: str) -> str:
    return {"usdc": "USDC", "percent": "%", "ratio": "×", "score": "0–100"}.get(unit, unit)


@login_required
def dashboard_export(request, role: str, table: str):
    """One dashboard table as CSV (the same rows as on the page, plain numbers, USDC to 6 places)."""
    _check_role(request.user, role)
    period, errors = _period(request, role)
    if errors:
        return redirect(f"{reverse('analytics:dashboard', args=[role])}?{urlencode(request.GET)}")
    board = selectors.dashboard_for(role=role, user=request.user, period=period)
    if table not in board.tables:
        raise Http404("No such table.")
    response = StreamingHttpResponse(_csv_rows(board.tables[table]), content_type="text/csv; charset=utf-8")
    filename = f"lead-engine-{role}-{table}-{period.start:%Y-%m-%d}-to-{period.end:%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
