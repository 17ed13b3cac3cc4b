"""The seller's lead table (/seller/leads/), its selectors, the lead detail page and the CSV export."""

import csv
import html
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import signing
from django.utils import timezone

from analytics.rollups import rollups_refresh
from core.paging import cursor_dumps, cursor_loads
from leads import selectors
from leads.choices import LeadStatus, RejectionReason
from leads.models import Lead, PiiAccess
from leads.services import lead_score, lead_submit
from tests.factories import UserFactory
from tests.leads.conftest import make_lead
from verticals.models import Vertical

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)
SORT_COLUMNS = {
    "created": ("created_at",),
    "status": ("status", "created_at"),
    "vertical": ("vertical_id", "created_at"),
    "score": ("quality_score",),
    "price": ("price",),
}


def add_leads(seller, vertical, rows: list[dict]) -> list[Lead]:
    """Lead rows straight into the table (no vault, no scoring): for volume, ties and NULLs."""
    leads = [
        Lead(
            seller=seller,
            vertical=row.pop("vertical", vertical),
            source="api",
            consent_text="I agree.",
            consent_at=NOW - timedelta(hours=1),
            consent_ip="203.0.113.7",
            **{"created_at": NOW, **row},
        )
        for row in rows
    ]
    return Lead.objects.bulk_create(leads)


def spec(**params) -> selectors.LeadTableSpec:
    return selectors.lead_table_spec_parse(params)


def expected_order(leads: list[Lead], sort: str, descending: bool) -> list[int]:
    """The documented order: (sort key…, id), NULL scores/prices last in both directions."""
    columns = SORT_COLUMNS[sort]
    present = [lead for lead in leads if getattr(lead, columns[0]) is not None]
    missing = [lead for lead in leads if getattr(lead, columns[0]) is None]
    present.sort(key=lambda lead: (*(getattr(lead, c) for c in columns), lead.pk), reverse=descending)
    missing.sort(key=lambda lead: lead.pk, reverse=descending)
    return [lead.pk for lead in present + missing]


def walk_forward(seller, table_spec, page_size) -> list[selectors.LeadTablePage]:
    pages, cursor = [], None
    while True:
        page = selectors.lead_table_page(seller, table_spec, cursor, page_size)
        pages.append(page)
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor
        assert len(pages) < 100, "paging does not end"


@pytest.fixture
def parent(solar):
    return Vertical.objects.get(slug="solar")


@pytest.fixture
def mixed(seller_user, solar, parent):
    """17 leads with tied timestamps, tied and NULL scores and prices, two verticals, mixed statuses."""
    scores = [None, 50, 50, 70, None, 10, 50, 90, None, 70, 10, 50, None, 100, 0, 50, None]
    prices = [
        Decimal("12.5"),
        None,
        Decimal("12.5"),
        Decimal("40"),
        None,
        Decimal("3"),
        Decimal("12.5"),
        None,
        Decimal("99.999999"),
        None,
        Decimal("3"),
        Decimal("12.5"),
        None,
        Decimal("40"),
        None,
        Decimal("0"),
        None,
    ]
    statuses = [LeadStatus.SCORED, LeadStatus.SOLD, LeadStatus.REJECTED, LeadStatus.LISTED, LeadStatus.RECEIVED]
    rows = [
        {
            "created_at": NOW - timedelta(minutes=i // 4),
            "quality_score": scores[i],
            "price": prices[i],
            "status": statuses[i % len(statuses)],
            "vertical": solar if i % 3 else parent,
            "has_phone": i % 2 == 0,
            "has_email": i % 3 != 0,
        }
        for i in range(17)
    ]
    return add_leads(seller_user, solar, rows)


@pytest.fixture
def seller_client(client, seller_user):
    client.force_login(seller_user)
    return client


# ---------------------------------------------------------------- access


def test_anonymous_visitor_is_sent_to_log_in(client):
    response = client.get("/seller/leads/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_user_who_is_not_a_seller_gets_a_403_page(client, buyer):
    client.force_login(buyer)
    for url in ("/seller/leads/", "/seller/leads/export.csv", "/seller/leads/1/"):
        response = client.get(url)
        assert response.status_code == 403
    assert b"Sellers only" in response.content


def test_another_sellers_leads_are_never_listed_exported_or_shown(seller_client, seller_user, solar):
    other = UserFactory(is_seller=True)
    mine = add_leads(seller_user, solar, [{"external_id": "mine-1"}])[0]
    theirs = add_leads(other, solar, [{"external_id": "theirs-1", "campaign": "theirs"}])[0]
    page = seller_client.get("/seller/leads/")
    assert page.status_code == 200
    assert f'data-lead="{mine.pk}"'.encode() in page.content and f'data-lead="{theirs.pk}"'.encode() not in page.content
    assert seller_client.get(f"/seller/leads/{theirs.pk}/").status_code == 404
    assert seller_client.get("/seller/leads/?q=theirs-1").context["page"].rows == []
    export = b"".join(seller_client.get("/seller/leads/export.csv").streaming_content).decode()
    assert "mine-1" in export and "theirs" not in export


# ---------------------------------------------------------------- filters


@pytest.fixture
def varied(seller_user, solar, parent):
    return {
        lead.external_id: lead
        for lead in add_leads(
            seller_user,
            solar,
            [
                {
                    "external_id": "a",
                    "status": LeadStatus.SCORED,
                    "quality_score": 80,
                    "has_phone": True,
                    "campaign": "spring",
                    "city": "San Francisco",
                    "zip": "94105",
                    "created_at": NOW - timedelta(days=3),
                },
                {
                    "external_id": "b",
                    "status": LeadStatus.SOLD,
                    "quality_score": 55,
                    "has_email": True,
                    "sub_id": "fb-7",
                    "city": "Oakland",
                    "zip": "94607",
                    "created_at": NOW - timedelta(days=1),
                },
                {
                    "external_id": "c",
                    "status": LeadStatus.REJECTED,
                    "quality_score": None,
                    "has_phone": True,
                    "has_email": True,
                    "campaign": "spring-2",
                    "created_at": NOW,
                    "vertical": parent,
                },
            ],
        )
    }


def ids(seller, **params) -> set[str]:
    page = selectors.lead_table_page(seller, spec(**params), None, 50)
    return {lead.external_id for lead in page.rows}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"a", "b", "c"}),
        ({"vertical": "solar-residential"}, {"a", "b"}),
        ({"vertical": "solar"}, {"a", "b", "c"}),  # a parent vertical includes its sub-verticals
        ({"status": "sold"}, {"b"}),
        ({"status": ["sold", "rejected"]}, {"b", "c"}),
        ({"status": "scored,sold"}, {"a", "b"}),
        ({"has_phone": "true"}, {"a", "c"}),
        ({"has_phone": "false"}, {"b"}),
        ({"has_email": "true"}, {"b", "c"}),
        ({"has_email": "0"}, {"a"}),
        ({"score_min": "60"}, {"a"}),
        ({"score_max": "60"}, {"b"}),
        ({"score_min": "55", "score_max": "80"}, {"a", "b"}),
        ({"created_from": (NOW - timedelta(days=2)).isoformat()}, {"b", "c"}),
        ({"created_to": (NOW - timedelta(days=1)).isoformat()}, {"a"}),  # a datetime bound is exclusive
        ({"created_to": (NOW - timedelta(days=1)).date().isoformat()}, {"a", "b"}),  # a date covers its whole day
        ({"q": "a"}, {"a"}),  # external id
        ({"q": "spring"}, {"a"}),  # campaign, exactly: not "spring-2"
        ({"q": "fb-7"}, {"b"}),  # sub id
        ({"q": "94607"}, {"b"}),  # ZIP
        ({"q": "san francisco"}, {"a"}),  # city, ignoring case
        ({"q": "Francisco"}, set()),  # no substring search
        ({"external_id": "c"}, {"c"}),
        ({"status": "sold", "has_email": "true", "q": "Oakland"}, {"b"}),
    ],
)
def test_each_filter_narrows_the_table(seller_user, varied, params, expected):
    assert ids(seller_user, **params) == expected


def test_the_page_filter_form_narrows_and_keeps_its_values(seller_client, varied):
    response = seller_client.get(
        "/seller/leads/", {"status": ["sold", "rejected"], "has_email": "true", "q": "Oakland"}
    )
    assert response.status_code == 200
    assert [lead.external_id for lead in response.context["page"].rows] == ["b"]
    body = response.content.decode()
    assert 'value="sold" checked' in body and 'value="rejected" checked' in body
    assert 'name="q" value="Oakland"' in body and '<option value="true" selected>Has email' in body


@pytest.mark.parametrize(
    ("params", "field", "fragment"),
    [
        ({"sort": "name"}, "sort", "Sort by one of"),
        ({"status": "pending"}, "status", "Unknown status"),
        ({"has_phone": "maybe"}, "has_phone", "true or false"),
        ({"score_min": "abc"}, "score_min", "whole number"),
        ({"score_max": "101"}, "score_max", "whole number"),
        ({"score_min": "70", "score_max": "20"}, "score_max", "below score_min"),
        ({"created_from": "yesterday"}, "created_from", "YYYY-MM-DD"),
        ({"created_to": "2025-02-30"}, "created_to", "YYYY-MM-DD"),
        ({"created_from": "2025-03-02", "created_to": "2025-03-01"}, "created_to", "after created_from"),
        ({"vertical": "no-such-vertical"}, "vertical", "Unknown vertical"),
        ({"q": "x" * 101}, "q", "100 characters"),
        ({"page_size": "0"}, "page_size", "1 to 200"),
        ({"page_size": "5000"}, "page_size", "1 to 200"),
        ({"cursor": "garbage"}, "cursor", "invalid"),
    ],
)
def test_bad_parameters_answer_400_with_a_message_naming_them(seller_client, solar, params, field, fragment):
    response = seller_client.get("/seller/leads/", params)
    assert response.status_code == 400
    assert field in response.context["errors"]
    assert fragment in " ".join(response.context["errors"][field])
    assert fragment in html.unescape(response.content.decode())


def test_a_tampered_cursor_is_refused(seller_user, mixed):
    table = spec(sort="score")
    page = selectors.lead_table_page(seller_user, table, None, 5)
    payload = cursor_loads(page.next_cursor, kind="leads")
    payload["k"] = [0, 1]
    forged = signing.dumps(payload, salt="another salt", compress=True)
    from_another_list = cursor_dumps(payload, kind="page")
    for token in (forged, from_another_list, page.next_cursor[:-2] + "xx", page.next_cursor + "A"):
        with pytest.raises(selectors.LeadTableError) as exc:
            selectors.lead_table_page(seller_user, table, token, 5)
        assert "cursor" in exc.value.errors


def test_a_cursor_from_another_sort_order_is_refused(seller_user, mixed):
    token = selectors.lead_table_page(seller_user, spec(sort="-price"), None, 5).next_cursor
    with pytest.raises(selectors.LeadTableError, match="another sort order"):
        selectors.lead_table_page(seller_user, spec(sort="price"), token, 5)


def test_a_signed_cursor_with_a_malformed_key_is_refused_not_a_500(seller_client, mixed):
    for key in (["not-a-date", 3], ["2025-01-01T00:00:00", "x"], [1], "string", ["2025-01-01T00:00:00", 1, 2]):
        token = cursor_dumps({"s": "-created", "g": 0, "k": key, "d": "n"}, kind="leads")
        response = seller_client.get("/seller/leads/", {"cursor": token})
        assert response.status_code == 400 and "cursor" in response.context["errors"]


# ---------------------------------------------------------------- keyset paging


@pytest.mark.parametrize("descending", [False, True], ids=["asc", "desc"])
@pytest.mark.parametrize("sort", list(SORT_COLUMNS))
def test_every_sort_pages_through_every_lead_exactly_once(seller_user, mixed, sort, descending):
    table = spec(sort=f"-{sort}" if descending else sort)
    for page_size in (1, 4, 17, 50):
        pages = walk_forward(seller_user, table, page_size)
        seen = [lead.pk for page in pages for lead in page.rows]
        assert seen == expected_order(mixed, sort, descending), page_size
        assert all(len(page.rows) == page_size for page in pages[:-1])
        assert pages[0].previous_cursor is None
    # ...and backward from the last page, through the "previous" cursors, gives the same pages.
    pages = walk_forward(seller_user, table, 4)
    cursor, backward = pages[-1].previous_cursor, []
    while cursor:
        page = selectors.lead_table_page(seller_user, table, cursor, 4)
        backward.append([lead.pk for lead in page.rows])
        cursor = page.previous_cursor
    assert backward == [[lead.pk for lead in page.rows] for page in reversed(pages[:-1])]


def test_paging_with_a_filter_keeps_to_the_filtered_set(seller_user, mixed):
    table = spec(sort="-score", has_phone="true")
    seen = [lead.pk for page in walk_forward(seller_user, table, 2) for lead in page.rows]
    assert seen == expected_order([lead for lead in mixed if lead.has_phone], "score", True)


@pytest.mark.parametrize("sort", ["price", "-score", "status"])
def test_the_export_iterator_walks_all_rows_in_keyset_batches(seller_user, mixed, sort, django_assert_max_num_queries):
    table = spec(sort=sort)
    with django_assert_max_num_queries(2 * (17 // 3 + 1)):  # at most two index ranges per batch
        leads = [lead.pk for lead in selectors.lead_table_iter(seller=seller_user, spec=table, batch_size=3)]
    rows = [
        row["id"]
        for row in selectors.lead_table_iter(
            seller=seller_user, spec=table, batch_size=4, values=("id", "vertical__slug")
        )
    ]
    assert leads == rows == expected_order(mixed, sort.lstrip("-"), sort.startswith("-"))


def test_next_and_previous_links_on_the_page_carry_the_cursor(seller_client, mixed):
    first = seller_client.get("/seller/leads/", {"sort": "-score", "page_size": "10", "has_email": "true"})
    body = first.content.decode()
    assert "Previous page" not in body
    next_href = html.unescape(re.search(r'href="([^"]+)" data-testid="next-page"', body).group(1))
    assert "cursor=" in next_href and "has_email=true" in next_href and "sort=-score" in next_href
    second = seller_client.get("/seller/leads/" + next_href)
    assert second.status_code == 200
    shown = [lead.pk for lead in first.context["page"].rows + second.context["page"].rows]
    assert shown == expected_order([lead for lead in mixed if lead.has_email], "score", True)
    assert "Next page" not in second.content.decode()
    prev_href = html.unescape(
        re.search(r'href="([^"]+)" data-testid="previous-page"', second.content.decode()).group(1)
    )
    back = seller_client.get("/seller/leads/" + prev_href)
    assert [lead.pk for lead in back.context["page"].rows] == [lead.pk for lead in first.context["page"].rows]


def test_column_headers_sort_and_toggle_direction(seller_client, mixed):
    body = seller_client.get("/seller/leads/", {"sort": "score"}).content.decode()
    assert 'aria-sort="ascending"><a href="?sort=-score">Score' in body
    assert '<a href="?sort=-price">Price' in body and '<a href="?sort=status">Status' in body
    assert '<a href="?">Received' in body  # back to the default, newest first


# ---------------------------------------------------------------- stats


@pytest.fixture
def known(seller_user, solar):
    return add_leads(
        seller_user,
        solar,
        [
            {"status": LeadStatus.SCORED, "quality_score": 60, "has_phone": True, "has_email": True},
            {"status": LeadStatus.SCORED, "quality_score": 70, "has_phone": True},
            {"status": LeadStatus.LISTED, "quality_score": 80, "has_email": True},
            {"status": LeadStatus.SOLD, "quality_score": 90, "has_phone": True, "has_email": True, "price": 50},
            {
                "status": LeadStatus.REJECTED,
                "quality_score": 20,
                "has_phone": True,
                "rejection_reason": RejectionReason.LOW_QUALITY,
            },
            {"status": LeadStatus.REJECTED, "has_email": True, "rejection_reason": RejectionReason.DUPLICATE},
            {"status": LeadStatus.RECEIVED, "has_phone": True},
            {
                "status": LeadStatus.SOLD,
                "quality_score": 100,
                "has_phone": True,
                "campaign": "other",
                "created_at": NOW - timedelta(days=40),
            },
        ],
    )


def test_stats_count_the_filtered_set_in_one_query(seller_user, known, django_assert_num_queries):
    # The unfiltered and date-bounded cards come from the analytics rollups once refreshed
    # (tests/analytics/test_lead_stats.py): the same figures, in one query too.
    rollups_refresh()
    table = spec(created_from=(NOW - timedelta(days=30)).date().isoformat())
    with django_assert_num_queries(1):
        stats = selectors.lead_table_stats(seller=seller_user, spec=table)
    assert stats == {
        "total": 7,
        "accepted": 5,
        "rejected": 2,
        "sold": 1,
        "average_score": 64.0,
        "phone_coverage_pct": 71.4,
        "email_coverage_pct": 57.1,
        "both_coverage_pct": 28.6,
    }
    everything = selectors.lead_table_stats(seller=seller_user, spec=spec())
    assert (everything["total"], everything["sold"], everything["average_score"]) == (8, 2, 70.0)


def test_stats_are_cached_per_seller_and_filters(seller_user, known, solar, django_assert_num_queries):
    table = spec(status="sold")
    assert selectors.lead_table_stats(seller=seller_user, spec=table)["total"] == 2
    add_leads(seller_user, solar, [{"status": LeadStatus.SOLD}])
    with django_assert_num_queries(0):
        assert selectors.lead_table_stats(seller=seller_user, spec=spec(status=["sold"], sort="-price"))["total"] == 2
    assert selectors.lead_table_stats(seller=seller_user, spec=spec(status="sold", has_phone="true"))["total"] == 2
    other = UserFactory(is_seller=True)
    assert selectors.lead_table_stats(seller=other, spec=table)["total"] == 0


def test_stats_of_an_empty_table_have_no_averages(seller_user, solar):
    stats = selectors.lead_table_stats(seller=seller_user, spec=spec())
    assert stats["total"] == 0 and stats["average_score"] is None and stats["phone_coverage_pct"] is None


def test_the_page_shows_the_stats_cards(seller_client, known):
    rollups_refresh()
    response = seller_client.get("/seller/leads/")
    body = response.content.decode()
    assert response.context["stats"]["total"] == 8
    assert 'data-testid="stat-sold">2<' in body and 'data-testid="stat-rejected">2<' in body
    assert 'data-testid="stat-average-score">70.0<' in body


# ---------------------------------------------------------------- the page


def test_the_page_query_count_does_not_grow_with_the_leads(
    seller_client, seller_user, solar, django_assert_max_num_queries
):
    add_leads(seller_user, solar, [{"quality_score": i % 7 or None, "campaign": f"c{i}"} for i in range(120)])
    # session, user, vertical list, vertical filter, stats, and at most two keyset queries
    with django_assert_max_num_queries(7):
        response = seller_client.get("/seller/leads/", {"sort": "-score", "vertical": "solar-residential"})
    assert response.status_code == 200 and len(response.context["page"].rows) == 50
    with django_assert_max_num_queries(7):
        response = seller_client.get(
            "/seller/leads/"
            + html.unescape(re.search(r'href="([^"]+)" data-testid="next-page"', response.content.decode()).group(1))
        )
    assert response.status_code == 200 and len(response.context["page"].rows) == 50


def test_rows_link_to_the_lead_detail(seller_client, seller_user, solar):
    lead = add_leads(seller_user, solar, [{}])[0]
    assert f'href="/seller/leads/{lead.pk}/"'.encode() in seller_client.get("/seller/leads/").content


def test_user_supplied_values_are_escaped_on_the_page(seller_client, seller_user, solar):
    lead = add_leads(
        seller_user,
        solar,
        [
            {
                "campaign": "<script>alert(1)</script>",
                "city": "<b>x</b>",
                "external_id": '"><img src=x onerror=alert(2)>',
            }
        ],
    )[0]
    body = seller_client.get("/seller/leads/", {"q": "<script>"}).content.decode()
    assert "<script>alert(1)</script>" not in body
    body = seller_client.get("/seller/leads/").content.decode()
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<img src=x" not in body and "<b>x</b>" not in body
    detail = seller_client.get(f"/seller/leads/{lead.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in detail and "&lt;script&gt;" in detail


def test_an_empty_filtered_table_says_so(seller_client, seller_user, solar):
    add_leads(seller_user, solar, [{}])
    response = seller_client.get("/seller/leads/", {"status": "sold"})
    assert response.status_code == 200 and b"No leads match these filters." in response.content


# ---------------------------------------------------------------- detail


@pytest.fixture
def submitted(seller_user, solar):
    lead = lead_submit(seller=seller_user, data=make_lead(external_id="ext-42", campaign="summer"), source="api").lead
    lead_score(lead_id=lead.pk)
    return Lead.objects.get(pk=lead.pk)


def test_the_detail_shows_score_breakdown_history_consent_and_the_contact_sent(
    seller_client, submitted, django_assert_max_num_queries
):
    # session, user, lead with vertical and vault row, history; the access-log row (with its
    # savepoint and release); the vertical's schema (labels, units): 2
    with django_assert_max_num_queries(9):
        response = seller_client.get(f"/seller/leads/{submitted.pk}/")
    assert response.status_code == 200
    access = PiiAccess.objects.get()  # the seller's read of its own lead is logged like a buyer's
    assert (access.lead_id, access.role, access.channel) == (submitted.pk, "seller", "page")
    assert access.user_id == response.wsgi_request.user.pk and access.correlation_id
    body = html.unescape(response.content.decode())
    for component in submitted.score_breakdown["components"].values():
        assert component["detail"] in body
    assert "Contact validity" in body and f"<strong>{submitted.quality_score}</strong>" in body
    assert [(c.to_status) for c in response.context["history"]] == [LeadStatus.RECEIVED, LeadStatus.SCORED]
    assert "maria.garcia@gmail.com" in body and "+1 415-555-2671" in body and "García" in body
    assert "<dt>Date of birth</dt><dd>3 Feb 1980</dd>" in body  # a PII vertical field, from the vault
    assert "I agree to be contacted by solar installers." in body and "203.0.113.7" in body
    assert "ext-42" in body and "summer" in body
    # Fields in words from the schema: labels, not keys; Yes/No, not True/False; units.
    assert "<dt>Roof type</dt><dd>Metal</dd>" in body and "<dt>Homeowner</dt><dd>Yes</dd>" in body
    assert "roof_type" not in body and "homeowner" not in body and "True" not in body


def test_another_sellers_lead_detail_is_404(client, submitted):
    client.force_login(UserFactory(is_seller=True))
    assert client.get(f"/seller/leads/{submitted.pk}/").status_code == 404
    assert client.get("/seller/leads/999999999/").status_code == 404
    assert not PiiAccess.objects.exists()


def test_the_lead_table_and_its_export_decrypt_nothing_and_log_nothing(seller_client, submitted):
    assert seller_client.get("/seller/leads/").status_code == 200
    assert b"".join(seller_client.get("/seller/leads/export.csv").streaming_content)
    assert not PiiAccess.objects.exists()


def test_staff_see_the_sellers_reads_in_the_access_log(seller_client, submitted, client):
    seller_client.get(f"/seller/leads/{submitted.pk}/")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    body = html.unescape(client.get("/admin/leads/piiaccess/?role__exact=seller").content.decode())
    assert "Seller (own lead)" in body and f"Lead {submitted.pk}" in body
    assert "maria.garcia@gmail.com" not in body


# ---------------------------------------------------------------- CSV export


def test_the_csv_export_streams_the_filtered_leads_without_pii(seller_client, seller_user, submitted, solar):
    add_leads(
        seller_user,
        solar,
        [{"campaign": f"bulk-{i}", "status": LeadStatus.SCORED, "quality_score": 50} for i in range(5)],
    )
    add_leads(seller_user, solar, [{"campaign": "rejected-one", "status": LeadStatus.REJECTED}])
    response = seller_client.get("/seller/leads/export.csv", {"status": "scored", "sort": "-created"})
    assert response.status_code == 200 and response.streaming is True
    assert response["Content-Type"].startswith("text/csv") and "attachment" in response["Content-Disposition"]
    chunks = list(response.streaming_content)
    assert len(chunks) == 1 + 6  # the header, then one chunk per row
    text = b"".join(chunks).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == [
        "id",
        "created_at",
        "vertical",
        "status",
        "rejection_reason",
        "quality_score",
        "price",
        "external_id",
        "campaign",
        "sub_id",
        "state",
        "zip",
        "city",
        "has_phone",
        "has_email",
        "fields",
    ]
    assert rows[0]["id"] == str(submitted.pk) and rows[0]["external_id"] == "ext-42"
    assert rows[0]["vertical"] == "solar-residential" and rows[0]["has_phone"] == "true"
    assert '"roof_type": "metal"' in rows[0]["fields"]
    assert {row["status"] for row in rows} == {"scored"} and "rejected-one" not in text
    for pii in ("maria", "garcía", "garcia", "gmail", "4155552671", "555-2671", "market st", "1980-02-03"):
        assert pii not in text.lower()


def test_the_csv_export_neutralises_spreadsheet_formulas(seller_client, seller_user, solar):
    add_leads(seller_user, solar, [{"campaign": '=HYPERLINK("http://evil")', "sub_id": "@SUM(A1)"}])
    text = b"".join(seller_client.get("/seller/leads/export.csv").streaming_content).decode()
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["campaign"].startswith("'=") and row["sub_id"].startswith("'@")


def test_the_csv_export_refuses_bad_filters_with_400(seller_client, solar):
    response = seller_client.get("/seller/leads/export.csv", {"score_min": "lots"})
    assert response.status_code == 400 and b"score_min" in response.content


@pytest.mark.django_db(transaction=True)
def test_under_asgi_the_export_streams_batch_by_batch_instead_of_buffering(seller_user, solar, settings):
    """Daphne serves us: an async iterator, or Django would build the whole file in memory first."""
    import asyncio

    from django.test import AsyncClient

    from leads.views import seller as seller_views

    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    add_leads(seller_user, solar, [{"campaign": f"asgi-{i}", "status": LeadStatus.SCORED} for i in range(5)])
    original, seller_views.EXPORT_BATCH = seller_views.EXPORT_BATCH, 2

    async def fetch():
        client = AsyncClient()
        await client.aforce_login(seller_user)
        response = await client.get("/seller/leads/export.csv")
        assert response.streaming and response.is_async
        return [chunk async for chunk in response.streaming_content]

    try:
        chunks = asyncio.run(fetch())
    finally:
        seller_views.EXPORT_BATCH = original
    assert len(chunks) == 1 + 3  # the header, then batches of 2, 2 and 1 rows
    assert b"".join(chunks).decode().count("asgi-") == 5


def test_no_filter_parameters_give_the_spec_the_filter_set_would():
    """The unfiltered first page skips the filter set; what it gets equals the parsed default."""
    from leads.filters import LeadTableFilter

    filterset = LeadTableFilter({"sort": "-created"}, queryset=Lead.objects.none())
    assert filterset.form.is_valid()
    assert selectors.lead_table_spec_parse({}) == spec(sort="-created")
    assert selectors.lead_table_spec_parse({"page_size": "50", "cursor": ""}) == selectors.LeadTableSpec()
    assert selectors.lead_table_spec_parse({"page_size": "50"}).raw_dates == ("", "")
    with pytest.raises(selectors.LeadTableError):
        selectors.lead_table_spec_parse({"status": "nonsense"})  # any filter parameter is checked


# The rows as the page's template loop wrote them before leads.views.seller.lead_rows_html.
TEMPLATE_ROWS = """{% load display %}{% for lead in rows %}
    <tr data-lead="{{ lead.pk }}">
      <td><a href="{% url 'seller-lead-detail' lead.pk %}">#{{ lead.pk }}</a></td>
      <td><time datetime="{{ lead.created_at|date:'c' }}">{{ lead.created_at|when }}</time></td>
      <td>{{ lead.vertical.name }}</td>
      <td class="nowrap"><span class="status status-{{ lead.status }}">{{ lead.get_status_display }}</span>{% if lead.rejection_reason %}<br><small>{{ lead.get_rejection_reason_display }}</small>{% endif %}</td>
      <td class="num">{% if lead.quality_score is None %}—{% else %}{{ lead.quality_score }}{% endif %}</td>
      <td class="num nowrap">{{ lead.price|usdc }}</td>
      <td>{{ lead.external_id }}</td>
      <td>{{ lead.campaign }}{% if lead.sub_id %} <small>/ {{ lead.sub_id }}</small>{% endif %}</td>
      <td>{{ lead.city }}{% if lead.city and lead.state %}, {% endif %}{{ lead.state }} {{ lead.zip }}</td>
      <td>{% if lead.has_phone %}<span class="chip">phone</span>{% endif %} {% if lead.has_email %}<span class="chip">email</span>{% endif %}{% if not lead.has_phone and not lead.has_email %}—{% endif %}</td>
    </tr>{% endfor %}"""


def test_rows_written_in_python_equal_what_the_template_wrote(seller_user, solar, mixed):
    from django.template import engines
    from django.test import RequestFactory

    from leads.views.seller import lead_rows_html

    odd = add_leads(
        seller_user,
        solar,
        [
            {"external_id": "<b>x</b>", "campaign": "spring & co", "sub_id": "s-1", "has_phone": True},
            {"status": LeadStatus.REJECTED, "rejection_reason": "duplicate", "city": "", "has_email": True},
            {"price": Decimal("1234.5"), "quality_score": 0, "has_phone": True, "has_email": True},
            {"quality_score": 87, "state": "", "city": "Austin", "zip": ""},
        ],
    )
    ids = [lead.pk for lead in [*mixed, *odd]]
    rows = list(Lead.objects.filter(pk__in=ids).select_related("vertical").order_by("pk"))
    template = engines["django"].from_string(TEMPLATE_ROWS)

    def normal(text):
        return re.sub(r">\s+<", "><", str(text)).strip()

    for zone in ("UTC", "America/New_York"):
        with timezone.override(zone):
            expected = template.render({"rows": rows}, RequestFactory().get("/"))
            assert normal(lead_rows_html(rows)) == normal(expected)
            assert "&lt;b&gt;x&lt;/b&gt;" in lead_rows_html(rows)
