"""GET /api/v1/leads/ and /api/v1/leads/<id>/: the seller's own leads, same filters and cursor as the page."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import api_key_create
from leads.choices import LeadStatus
from leads.models import Lead, PiiAccess
from leads.services import lead_score, lead_submit
from tests.api_errors import api_error, error_params
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


def expected_order(leads, sort: str, descending: bool) -> list[int]:
    columns = SORT_COLUMNS[sort]
    present = [lead for lead in leads if getattr(lead, columns[0]) is not None]
    missing = [lead for lead in leads if getattr(lead, columns[0]) is None]
    present.sort(key=lambda lead: (*(getattr(lead, c) for c in columns), lead.pk), reverse=descending)
    missing.sort(key=lambda lead: lead.pk, reverse=descending)
    return [lead.pk for lead in present + missing]


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(user=user, name='list').secret}")
    return client


@pytest.fixture
def mixed(seller_user, solar):
    parent = Vertical.objects.get(slug="solar")
    scores = [None, 50, 50, 70, None, 10, 50, 90, None, 70, 10, 50, None, 100, 0]
    prices = [
        None,
        Decimal("5"),
        Decimal("5"),
        None,
        Decimal("7.25"),
        None,
        Decimal("5"),
        Decimal("1"),
        None,
        Decimal("7.25"),
        None,
        Decimal("0"),
        Decimal("5"),
        None,
        None,
    ]
    statuses = [LeadStatus.SCORED, LeadStatus.SOLD, LeadStatus.REJECTED, LeadStatus.LISTED]
    return add_leads(
        seller_user,
        solar,
        [
            {
                "created_at": NOW - timedelta(minutes=i // 3),
                "quality_score": scores[i],
                "price": prices[i],
                "status": statuses[i % 4],
                "vertical": parent if i % 4 == 1 else solar,
                "has_phone": i % 2 == 0,
                "has_email": i % 5 != 0,
                "external_id": f"ext-{i}",
                "campaign": "even" if i % 2 == 0 else "odd",
            }
            for i in range(15)
        ],
    )


def test_the_list_has_results_next_and_previous_and_no_contact_details(seller_api, seller_user, solar):
    lead = lead_submit(seller=seller_user, data=make_lead(external_id="x-1"), source="api").lead
    response = seller_api.get("/api/v1/leads/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"results", "next", "previous"}
    assert body["next"] is None and body["previous"] is None
    [row] = body["results"]
    assert row["id"] == lead.pk and row["vertical"] == "solar-residential" and row["external_id"] == "x-1"
    assert row["has_phone"] is True and "contact" not in row
    assert "maria" not in response.content.decode().lower()


def test_another_sellers_leads_are_never_listed_and_their_detail_is_404(seller_api, seller_user, solar):
    other = UserFactory(is_seller=True)
    theirs = add_leads(other, solar, [{"external_id": "theirs"}])[0]
    mine = add_leads(seller_user, solar, [{"external_id": "mine"}])[0]
    assert [r["id"] for r in seller_api.get("/api/v1/leads/").json()["results"]] == [mine.pk]
    assert seller_api.get("/api/v1/leads/", {"q": "theirs"}).json()["results"] == []
    assert seller_api.get(f"/api/v1/leads/{theirs.pk}/").status_code == 404
    assert client_for(other).get(f"/api/v1/leads/{mine.pk}/").status_code == 404


def test_a_user_who_is_not_a_seller_gets_403(api_client):
    response = api_client.get("/api/v1/leads/")
    assert response.status_code == 403 and "seller" in api_error(response)["message"]


@pytest.mark.parametrize("descending", [False, True], ids=["asc", "desc"])
@pytest.mark.parametrize("sort", list(SORT_COLUMNS))
def test_every_sort_pages_through_every_lead_once_by_next_and_back_by_previous(seller_api, mixed, sort, descending):
    sort_param = f"-{sort}" if descending else sort
    url, pages = f"/api/v1/leads/?sort={sort_param}&page_size=4", []
    while url:
        response = seller_api.get(url)
        assert response.status_code == 200, response.json()
        pages.append(response.json())
        url = pages[-1]["next"]
    seen = [row["id"] for page in pages for row in page["results"]]
    assert seen == expected_order(mixed, sort, descending)
    assert pages[0]["previous"] is None and all(f"sort={sort_param}" in p["next"] for p in pages[:-1])
    url, backward = pages[-1]["previous"], []
    while url:
        page = seller_api.get(url).json()
        backward.append([row["id"] for row in page["results"]])
        url = page["previous"]
    assert backward == [[row["id"] for row in page["results"]] for page in reversed(pages[:-1])]


@pytest.mark.parametrize(
    ("params", "predicate"),
    [
        ({"vertical": "solar-residential"}, lambda lead: lead.vertical.slug == "solar-residential"),
        ({"status": "sold"}, lambda lead: lead.status == "sold"),
        ({"status": ["sold", "listed"]}, lambda lead: lead.status in ("sold", "listed")),
        ({"has_phone": "true"}, lambda lead: lead.has_phone),
        ({"has_email": "false"}, lambda lead: not lead.has_email),
        (
            {"score_min": "50", "score_max": "70"},
            lambda lead: lead.quality_score is not None and 50 <= lead.quality_score <= 70,
        ),
        (
            {"created_from": (NOW - timedelta(minutes=2)).isoformat().replace("+00:00", "Z")},
            lambda lead: lead.created_at >= NOW - timedelta(minutes=2),
        ),
        (
            {"created_to": (NOW - timedelta(minutes=2)).isoformat().replace("+00:00", "Z")},
            lambda lead: lead.created_at < NOW - timedelta(minutes=2),
        ),
        ({"q": "ext-7"}, lambda lead: lead.external_id == "ext-7"),
        ({"q": "even"}, lambda lead: lead.campaign == "even"),
        ({"external_id": "ext-3"}, lambda lead: lead.external_id == "ext-3"),
        ({"q": "odd", "has_email": "true", "sort": "-score"}, lambda lead: lead.campaign == "odd" and lead.has_email),
    ],
)
def test_each_filter_narrows_the_list(seller_api, mixed, params, predicate):
    response = seller_api.get("/api/v1/leads/", {**params, "page_size": 200})
    assert response.status_code == 200, response.json()
    got = {row["id"] for row in response.json()["results"]}
    want = {
        lead.pk
        for lead in Lead.objects.select_related("vertical").filter(pk__in=[m.pk for m in mixed])
        if predicate(lead)
    }
    assert got == want and 0 < len(want) < len(mixed)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sort": "-name"}, "sort"),
        ({"status": "won"}, "status"),
        ({"has_email": "perhaps"}, "has_email"),
        ({"score_min": "-1"}, "score_min"),
        ({"score_min": "9", "score_max": "3"}, "score_max"),
        ({"created_from": "31/01/2025"}, "created_from"),
        ({"created_to": "2025-01-31 12:00"}, "created_to"),
        ({"stats": "1"}, "stats"),
        ({"page_size": "x"}, "page_size"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "eyJzIjoiLWNyZWF0ZWQifQ:1abc:forged"}, "cursor"),
    ],
)
def test_bad_parameters_answer_400_naming_the_parameter(seller_api, solar, params, field):
    response = seller_api.get("/api/v1/leads/", params)
    assert response.status_code == 400
    assert api_error(response)["param"] == field and error_params(response)[field][0]


def test_an_unknown_vertical_filter_is_a_404_naming_it(seller_api, solar):
    response = seller_api.get("/api/v1/leads/", {"vertical": "mortgage"})
    assert response.status_code == 404
    assert (api_error(response)["code"], api_error(response)["param"]) == ("resource_missing", "vertical")


def test_a_cursor_reused_with_another_sort_is_400(seller_api, mixed):
    next_url = seller_api.get("/api/v1/leads/", {"sort": "price", "page_size": 3}).json()["next"]
    response = seller_api.get(next_url.replace("sort=price", "sort=-price"))
    assert response.status_code == 400 and "another sort order" in error_params(response)["cursor"][0]


def test_stats_come_with_the_list_on_request(seller_api, mixed):
    assert "stats" not in seller_api.get("/api/v1/leads/").json()
    stats = seller_api.get("/api/v1/leads/", {"stats": "true", "status": "sold"}).json()["stats"]
    sold = [lead for lead in mixed if lead.status == "sold"]
    scores = [lead.quality_score for lead in sold if lead.quality_score is not None]
    assert stats["total"] == stats["sold"] == stats["accepted"] == len(sold) and stats["rejected"] == 0
    assert stats["average_score"] == round(sum(scores) / len(scores), 1)
    assert stats["phone_coverage_pct"] == round(100 * sum(lead.has_phone for lead in sold) / len(sold), 1)


def test_the_list_query_count_does_not_grow_with_the_leads(
    seller_api, seller_user, solar, django_assert_max_num_queries
):
    add_leads(seller_user, solar, [{"quality_score": i % 5 or None, "price": i % 3 or None} for i in range(150)])
    seller_api.get("/api/v1/leads/")  # the API key's first-use bookkeeping is not the list's cost
    # the API key (with its user), at most two keyset queries (values, then the NULL stretch), stats
    with django_assert_max_num_queries(4):
        response = seller_api.get("/api/v1/leads/", {"sort": "-price", "page_size": 200, "stats": "true"})
    assert len(response.json()["results"]) == 150
    # the API key, the vertical filter's slug, at most two keyset queries
    with django_assert_max_num_queries(4):
        response = seller_api.get("/api/v1/leads/", {"sort": "score", "page_size": 50, "vertical": "solar"})
    with django_assert_max_num_queries(4):
        assert len(seller_api.get(response.json()["next"]).json()["results"]) == 50


def test_the_detail_has_breakdown_history_and_your_contact_in_few_queries(
    seller_api, seller_user, solar, django_assert_max_num_queries
):
    lead = lead_submit(seller=seller_user, data=make_lead(), source="api").lead
    lead_score(lead_id=lead.pk)
    seller_api.get("/api/v1/leads/")
    # API key with its user, lead with vertical and vault row, history; the access-log row (with its
    # savepoint and release).
    with django_assert_max_num_queries(6):
        response = seller_api.get(f"/api/v1/leads/{lead.pk}/")
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-store"
    body = response.json()
    assert body["contact"]["email"] == "maria.garcia@gmail.com"
    access = PiiAccess.objects.get()
    assert (access.user_id, access.lead_id, access.role, access.channel) == (seller_user.pk, lead.pk, "seller", "api")
    assert [h["to_status"] for h in body["history"]] == ["received", "scored"]
    assert set(body["score_breakdown"]["components"]) >= {"contact_validity", "consent_freshness"}


def test_post_still_submits_and_the_lead_is_then_listed(seller_api, solar):
    created = seller_api.post("/api/v1/leads/", make_lead(external_id="p-1"), format="json")
    assert created.status_code == 201
    listed = seller_api.get("/api/v1/leads/", {"external_id": "p-1"}).json()["results"]
    assert [row["id"] for row in listed] == [created.json()["id"]]


@pytest.mark.parametrize(
    "moment", ["0198-07-29T23:09:51.0+23:31", "2025-01-31T12:00:00-23:59", "0001-01-01T00:00:00+01:00"]
)
def test_offsets_postgres_cannot_store_are_read_in_utc_not_a_500(seller_api, solar, moment):
    response = seller_api.get("/api/v1/leads/", {"created_to": moment})
    assert response.status_code in (200, 400), response.content
