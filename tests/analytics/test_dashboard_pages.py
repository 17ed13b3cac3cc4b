"""The dashboards' pages: each role lands on its own after logging in; the figures equal a
recomputation from the facts; ranges and comparisons; CSV exports of every table; bad input gets
a page with the field's message; other roles get a 403 page; query counts stay pinned."""

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from analytics.rollups import rollups_refresh
from auctions.models import AuctionBidder, Sale
from leads.choices import LeadStatus, RejectionReason
from leads.models import Lead
from tests.analytics.builders import build_facts, rejected_lead
from tests.auctions.factories import make_vertical
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


@pytest.fixture
def facts():
    facts = build_facts()
    rollups_refresh()
    return facts


def kpi(response, key: str) -> str:
    text = response.content.decode()
    start = text.index(f'data-testid="kpi-{key}"')
    value = text.index('data-testid="kpi-value">', start) + len('data-testid="kpi-value">')
    return text[value : text.index("<", value)]


def export(client, role: str, table: str, **params) -> list[list[str]]:
    response = client.get(reverse("analytics:export", args=[role, table]), params)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.mark.parametrize(
    ("flags", "landing"),
    [
        ({"is_seller": True}, "/dashboard/seller/"),
        ({"is_buyer": True}, "/dashboard/buyer/"),
        ({"is_staff": True}, "/dashboard/staff/"),
        ({"is_seller": True, "is_buyer": True}, "/dashboard/seller/"),
    ],
)
def test_logging_in_lands_on_the_roles_dashboard(client, flags, landing):
    user = UserFactory(**flags)
    response = client.post(reverse("login"), {"username": user.email, "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == landing
    assert response.status_code == 200
    assert b'data-testid="kpis"' in response.content


def test_a_user_with_no_role_yet_lands_on_the_account_page(client):
    user = UserFactory(is_seller=False, is_buyer=False)
    client.force_login(user)
    response = client.get("/dashboard/")
    assert response.status_code == 302 and response["Location"] == reverse("account")


def test_the_seller_dashboard_equals_a_recomputation_from_the_facts(client, facts):
    seller = facts["seller"]
    client.force_login(seller)
    response = client.get("/dashboard/seller/", {"range": "7d"})
    assert response.status_code == 200
    leads = Lead.objects.filter(seller=seller)
    sales = Sale.objects.filter(seller=seller)
    received, sold = leads.count(), sales.count()
    accepted = leads.exclude(status=LeadStatus.REJECTED).count()
    revenue = sales.aggregate(s=Sum("price"))["s"]
    assert kpi(response, "received") == f"{received:,}"
    assert kpi(response, "sold") == str(sold)
    assert kpi(response, "acceptance_rate") == f"{(D(accepted) * 100 / received).quantize(D('0.1'))} %"
    assert kpi(response, "revenue") == f"{revenue:.2f} USDC"
    assert kpi(response, "average_price") == f"{(revenue / sold):.2f} USDC"
    listed = leads.filter(auction__isnull=False).count()
    assert kpi(response, "sell_through") == f"{(D(sold) * 100 / listed).quantize(D('0.1'))} %"
    assert kpi(response, "dispute_rate") == f"{(D(3) * 100 / sold).quantize(D('0.1'))} %"
    # No raw keys on the page: labels and units.
    text = response.content.decode()
    for raw in ("rejected_low_quality", "low_quality", "score_sum", "None"):
        assert f">{raw}<" not in text
    assert "Below the vertical&#x27;s quality floor" in text or "Below the vertical's quality floor" in text


def test_the_seller_exports_every_table_as_csv_with_units_in_the_headers(client, facts):
    seller = facts["seller"]
    client.force_login(seller)
    rows = export(client, "seller", "verticals", range="7d")
    assert rows[0][:3] == ["Vertical", "Leads received", "Acceptance rate (%)"]
    assert "Revenue (USDC)" in rows[0]
    revenue_col = rows[0].index("Revenue (USDC)")
    total = sum(D(r[revenue_col]) for r in rows[1:])
    assert total == Sale.objects.filter(seller=seller).aggregate(s=Sum("price"))["s"]
    assert all(len(r[revenue_col].split(".")[1]) == 6 for r in rows[1:])  # USDC to six places
    reasons = dict(export(client, "seller", "rejections", range="7d")[1:])
    assert reasons == {label: "1" for _, label in RejectionReason.choices}
    daily = export(client, "seller", "daily", range="7d")
    assert len(daily) == 1 + 7
    for name in ("sources", "campaigns", "reputation"):
        assert export(client, "seller", name, range="7d")[0]


def test_the_buyer_dashboard_equals_a_recomputation_from_the_facts(client, facts):
    buyer = facts["buyer"]
    client.force_login(buyer)
    response = client.get("/dashboard/buyer/")
    assert response.status_code == 200
    purchases = Sale.objects.filter(buyer=buyer)
    spend = purchases.aggregate(s=Sum("price"))["s"]
    n = purchases.count()
    entered = AuctionBidder.objects.filter(buyer=buyer).count()
    won = n - 1  # one bought now
    assert kpi(response, "spend") == f"{spend:.2f} USDC"
    assert kpi(response, "leads") == str(n)
    assert kpi(response, "cost_per_lead") == f"{(spend / n):.2f} USDC"
    assert kpi(response, "win_rate") == f"{(D(won) * 100 / entered).quantize(D('0.1'))} %"
    # Dispositions: sold (250 revenue), quoted, appointment reported on this buyer's purchases.
    assert kpi(response, "contact_rate") == "100.0 %"
    assert kpi(response, "conversion_rate") == f"{(D(1) * 100 / 3).quantize(D('0.1'))} %"
    assert kpi(response, "return_on_spend") == f"{(D(250) / spend).quantize(D('0.01'))}×"
    states = {r[0]: r[1] for r in export(client, "buyer", "states")[1:]}
    assert states == {"CA": str(n)}
    rules = export(client, "buyer", "rules")
    assert rules[1][0] == "By hand (no rule)"


def test_the_staff_dashboard_shows_the_funnel_and_the_live_panel(client, facts):
    staff = UserFactory(is_staff=True)
    client.force_login(staff)
    response = client.get("/dashboard/staff/")
    assert response.status_code == 200
    assert kpi(response, "received") == str(Lead.objects.count())
    assert kpi(response, "sold") == str(Sale.objects.count())
    gmv = Sale.objects.aggregate(s=Sum("price"))["s"]
    assert kpi(response, "revenue") == f"{gmv:.2f} USDC"
    funnel = {r[0]: r[1] for r in export(client, "staff", "funnel")[1:]}
    assert funnel["Received"] == str(Lead.objects.count())
    text = response.content.decode()
    assert 'data-testid="ops-disputes"' in text and 'data-testid="ops-queues"' in text


def test_days_are_the_viewers_own(client):
    """A lead received at 03:00 UTC on 6 Dec is a 5 Dec lead for a seller in Los Angeles."""
    seller = UserFactory(is_seller=True, time_zone="America/Los_Angeles")
    moment = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
    rejected_lead(seller=seller, vertical=make_vertical(), reason=RejectionReason.INVALID, created_at=moment)
    rollups_refresh()
    client.force_login(seller)
    daily = export(client, "seller", "daily", start="2026-12-05", end="2026-12-06")
    assert [r[:2] for r in daily[1:]] == [["2026-12-05", "1"], ["2026-12-06", "0"]]


def test_the_previous_period_is_compared(client):
    seller = UserFactory(is_seller=True)
    vertical = make_vertical()
    now = timezone.now()
    for _ in range(2):
        rejected_lead(
            seller=seller, vertical=vertical, reason=RejectionReason.INVALID, created_at=now - timedelta(days=9)
        )
    rejected_lead(seller=seller, vertical=vertical, reason=RejectionReason.INVALID, created_at=now)
    rollups_refresh()
    client.force_login(seller)
    response = client.get("/dashboard/seller/", {"range": "7d"})
    text = response.content.decode()
    card = text[text.index('data-testid="kpi-received"') :]
    assert "−50.0 %" in card[: card.index("</li>")]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"range": "12y"}, "range", "Choose one of 7d, 30d, 90d."),
        ({"start": "2026-13-01", "end": "2026-12-01"}, "start", "Enter a date as YYYY-MM-DD."),
        ({"start": "2026-12-05", "end": "2026-12-01"}, "end", "The last day comes before the first."),
        ({"start": "2024-01-01", "end": "2026-12-01"}, "start", "Choose at most 366 days."),
        ({"start": "2026-12-01"}, "end", "Enter both the first and the last day."),
        ({"start": "9999-12-30", "end": "9999-12-31"}, "start", "Choose a day between 2000-01-01 and 2999-12-31."),
        ({"start": "0001-01-01", "end": "0001-01-02"}, "start", "Choose a day between 2000-01-01 and 2999-12-31."),
    ],
)
def test_a_bad_range_gets_the_page_with_the_fields_message(client, params, field, message):
    client.force_login(UserFactory(is_seller=True))
    response = client.get("/dashboard/seller/", params)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert message in response.content.decode()
    assert f'id="{field}-error"' in response.content.decode()


@pytest.mark.parametrize(
    ("flags", "role"), [({"is_buyer": True}, "seller"), ({"is_seller": True}, "buyer"), ({"is_seller": True}, "staff")]
)
def test_another_roles_dashboard_is_a_403_page(client, flags, role):
    client.force_login(UserFactory(**flags))
    for url in (f"/dashboard/{role}/", f"/dashboard/{role}/export/daily.csv"):
        response = client.get(url)
        assert response.status_code == 403
        assert response["Content-Type"].startswith("text/html")


def test_unknown_dashboards_and_tables_are_404_pages(client):
    client.force_login(UserFactory(is_seller=True))
    assert client.get("/dashboard/admin/").status_code == 404
    assert client.get("/dashboard/seller/export/nope.csv").status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get("/dashboard/seller/")
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_an_empty_dashboard_says_what_to_do_next(client):
    client.force_login(UserFactory(is_seller=True))
    text = client.get("/dashboard/seller/").content.decode()
    assert 'data-testid="empty-state"' in text
    assert reverse("csv-import-list") in text and reverse("seller-forms") in text


@pytest.mark.parametrize("role", ["seller", "buyer", "staff"])
def test_the_dashboards_queries_do_not_grow_with_the_data(client, django_assert_max_num_queries, role):
    user = UserFactory(is_seller=True, is_buyer=True, is_staff=True)
    client.force_login(user)
    vertical = make_vertical()
    rejected_lead(seller=user, vertical=vertical, reason=RejectionReason.INVALID)
    rollups_refresh()
    client.get(f"/dashboard/{role}/")  # warm caches (session, verticals)
    with django_assert_max_num_queries(24) as small:  # incl. the first-run checklist's EXISTS
        assert client.get(f"/dashboard/{role}/").status_code == 200
    for i in range(30):
        rejected_lead(
            seller=user,
            vertical=vertical,
            reason=RejectionReason.INVALID,
            campaign=f"c{i}",
            created_at=timezone.now() - timedelta(days=i % 20),
        )
    rollups_refresh()
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(f"/dashboard/{role}/").status_code == 200
