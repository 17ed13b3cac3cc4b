"""Autobid pages: the list with today's usage, the form (filters, day-parting), pause/resume, delete,
a rule's traces, the auction room's "why" section, and the admin."""

from decimal import Decimal as D

import pytest
from django.urls import reverse
from django.utils.html import escape

from auctions.models import AutobidRule
from auctions.services.autobid import autobid_run_for_auction
from tests.auctions.factories import funded_buyer, make_auction, make_vertical
from tests.auctions.test_autobid import add_fields, rule_for
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.auctions.urls")]

FORM = {
    "name": "Roofs",
    "max_bid": "25",
    "daily_budget": "100",
    "daily_lead_cap": "5",
    "priority": "0",
    "filters-TOTAL_FORMS": "0",
    "filters-INITIAL_FORMS": "0",
}


def rows(*filters) -> dict:
    """The form's field filter rows: (field, op, value) or (field, op, value, "remove")."""
    data = {"filters-TOTAL_FORMS": str(len(filters)), "filters-INITIAL_FORMS": "0"}
    for i, (field, op, value, *remove) in enumerate(filters):
        data |= {f"filters-{i}-field": field, f"filters-{i}-op": op, f"filters-{i}-value": value}
        if remove:
            data[f"filters-{i}-DELETE"] = "on"
    return data


@pytest.fixture
def buyer(client):
    user = funded_buyer(time_zone="America/Chicago")
    client.force_login(user)
    return user


@pytest.fixture
def fielded(db):
    vertical = make_vertical(slug="roofing-p", name="Roofing P")
    add_fields(vertical)
    return vertical


def test_a_buyer_creates_edits_pauses_resumes_and_deletes_a_rule_through_the_pages(client, buyer, fielded):
    page = client.get("/autobid/")
    assert page.status_code == 200 and "America/Chicago" in page.content.decode()
    form_page = client.get("/autobid/new/").content.decode()
    assert "roof_type" in form_page and "between" in form_page and "Roofing P" in form_page  # the filter reference

    response = client.post(
        "/autobid/new/",
        {
            **FORM,
            "vertical": fielded.pk,
            "states": "ca, nv",
            "zips_include": "941 94301",
            "min_score": "60",
            **rows(("roof_type", "in", "metal, Tile"), ("", "eq", "")),
            "days": ["0", "1", "2"],
            "start": "08:00",
            "end": "18:30",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    rule = AutobidRule.objects.get(buyer=buyer)
    assert (rule.states, rule.zips_include, rule.min_score) == (["CA", "NV"], ["941", "94301"], 60)
    assert rule.hours == {"days": [0, 1, 2], "start": "08:00", "end": "18:30"}
    assert rule.field_filters == [{"field": "roof_type", "op": "in", "value": ["metal", "tile"]}]
    assert response["Location"] == f"/autobid/{rule.pk}/"

    edit = client.get(f"/autobid/{rule.pk}/edit/")
    assert edit.status_code == 200 and edit.context["form"].initial["days"] == ["0", "1", "2"]
    response = client.post(f"/autobid/{rule.pk}/edit/", {**FORM, "vertical": fielded.pk, "max_bid": "30"})
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.max_bid == D("30") and rule.hours == {} and rule.field_filters == []

    assert client.post(f"/autobid/{rule.pk}/pause/").status_code == 302
    rule.refresh_from_db()
    assert rule.paused and "Resume" in client.get("/autobid/").content.decode()
    assert client.post(f"/autobid/{rule.pk}/resume/").status_code == 302
    rule.refresh_from_db()
    assert not rule.paused
    assert client.post(f"/autobid/{rule.pk}/delete/").status_code == 302
    assert not AutobidRule.objects.exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"states": "CA, XX"}, "states"),
        ({"zips_exclude": "9410"}, "zips_exclude"),
        ({"daily_budget": "1"}, "daily_budget"),
        ({"max_bid": "abc"}, "max_bid"),
        ({"max_bid": "9" * 30}, "max_bid"),
        ({"daily_lead_cap": "0"}, "daily_lead_cap"),
        ({"days": ["1"], "start": "9am", "end": "17:00"}, "days"),
        ({"days": ["9"], "start": "09:00", "end": "17:00"}, "days"),
        ({"start": "09:00", "end": "17:00"}, "days"),  # times without days
    ],
)
def test_the_form_shows_field_errors_and_saves_nothing(client, buyer, fielded, data, field):
    response = client.post("/autobid/new/", {**FORM, "vertical": fielded.pk, **data})
    assert response.status_code == 200
    assert field in response.context["form"].errors, response.context["form"].errors
    assert not AutobidRule.objects.exists()


def test_pages_are_for_buyers_and_their_own_rules(client, fielded):
    assert client.get("/autobid/").status_code == 302  # log in first
    theirs = rule_for(funded_buyer())
    client.force_login(funded_buyer())
    for url in (f"/autobid/{theirs.pk}/", f"/autobid/{theirs.pk}/edit/"):
        assert client.get(url).status_code == 404
    for url in ("delete", "pause", "resume"):
        assert client.post(f"/autobid/{theirs.pk}/{url}/").status_code == 404
    theirs.refresh_from_db()
    assert not theirs.paused
    client.force_login(UserFactory(is_seller=True))
    assert client.get("/autobid/").status_code == 403
    assert client.get("/autobid/new/").status_code == 403


def test_the_list_shows_todays_usage_and_the_detail_the_recent_traces(client, buyer):
    rule = rule_for(buyer, name="Everything", max_bid=D("20"), zips_exclude=["100"])
    auction = make_auction(vertical=make_vertical(), zip="94105")
    autobid_run_for_auction(auction_id=auction.pk)
    listing = client.get("/autobid/").content.decode()
    assert "Everything" in listing and "20.00 of 100.00" in listing and "1 of 10" in listing
    detail = client.get(f"/autobid/{rule.pk}/")
    text = detail.content.decode()
    assert detail.status_code == 200 and f"#{auction.pk}" in text and "bid placed: max 20.000000" in text
    assert "zip 941xx not in exclude [100]: ok" in text and "94105" not in text


def test_the_auction_room_explains_the_buyers_rules_and_only_theirs(client, buyer):
    auction = make_auction(vertical=make_vertical(), state="CA")
    rule_for(buyer, name="Mine in TX", states=["TX"])
    rule_for(funded_buyer(), name="Somebody else's")
    autobid_run_for_auction(auction_id=auction.pk)
    rule_for(buyer, name="Made later", min_score=95)
    text = client.get(f"/auctions/{auction.pk}/").content.decode()
    assert "Why did my autobid rules bid or not?" in text
    assert "Mine in TX" in text and "state CA not in [TX]" in text
    assert "Made later" in text and "score 70 &lt; min 95" in text  # the dry run
    assert "Somebody else" not in text


def test_the_auction_room_invites_a_buyer_without_rules_and_shows_nothing_to_sellers(client, buyer):
    auction = make_auction(vertical=make_vertical())
    assert "You have no autobid rules" in client.get(f"/auctions/{auction.pk}/").content.decode()
    client.force_login(UserFactory(is_seller=True))
    assert "Why did my autobid rules" not in client.get(f"/auctions/{auction.pk}/").content.decode()


def test_the_nav_links_buyers_to_their_rules(client, buyer):
    assert 'data-testid="autobid-link"' in client.get("/autobid/").content.decode()


def test_admin_shows_usage_on_a_rule_and_pauses_through_the_service(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    rule = rule_for(funded_buyer(), max_bid=D("20"))
    autobid_run_for_auction(auction_id=make_auction(vertical=make_vertical()).pk)
    client.force_login(staff)
    page = client.get(reverse("admin:auctions_autobidrule_change", args=[rule.pk]))
    assert page.status_code == 200 and "20.000000" in page.content.decode()
    response = client.post(
        reverse("admin:auctions_autobidrule_changelist"), {"action": "pause_rules", "_selected_action": [rule.pk]}
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.paused
    for name in ("autobidusage", "autobidtrace"):
        assert client.get(reverse(f"admin:auctions_{name}_changelist")).status_code == 200


# ---------------------------------------------------------------- field filter rows


def test_the_readme_operators_are_the_forms_operators_and_values_are_typed_by_the_field(client, buyer, fielded):
    html = client.get("/autobid/new/").content.decode()
    for symbol in ("=", "≠", "&gt;", "≥", "&lt;", "≤", "not in", "between", "contains"):
        assert f">{symbol}</option>" in html
    response = client.post(
        "/autobid/new/",
        {
            **FORM,
            "vertical": fielded.pk,
            **rows(
                ("sqft", "gte", "1,500"),
                ("bill", "between", "100.5, 300"),
                ("owner", "eq", "Yes"),
                ("roof_type", "ne", "Tile"),
                ("moved_in", "lt", "2024-01-01"),
                ("features", "contains", "pool"),
                ("notes", "in", "soon, now"),
            ),
        },
    )
    assert response.status_code == 302, response.context["filters"].errors
    assert AutobidRule.objects.get().field_filters == [
        {"field": "sqft", "op": "gte", "value": 1500},
        {"field": "bill", "op": "between", "value": [100.5, 300]},
        {"field": "owner", "op": "eq", "value": True},
        {"field": "roof_type", "op": "ne", "value": "tile"},
        {"field": "moved_in", "op": "lt", "value": "2024-01-01"},
        {"field": "features", "op": "contains", "value": "pool"},
        {"field": "notes", "op": "in", "value": ["soon", "now"]},
    ]


def test_a_new_rule_offers_empty_filter_rows_with_every_verticals_fields_grouped(client, buyer, fielded):
    other = make_vertical(slug="plain-p", name="Plain P")
    html = client.get("/autobid/new/").content.decode()
    assert 'name="filters-TOTAL_FORMS" value="3"' in html  # without JavaScript: three empty rows
    for i in range(3):
        assert f'name="filters-{i}-field"' in html and f'name="filters-{i}-DELETE"' in html
    assert '<optgroup label="Roofing P">' in html and '<option value="roof_type">' in html
    assert '<optgroup label="Plain P">' not in html  # no biddable field to filter on
    assert 'name="filters-__prefix__-field"' in html and "js/autobid-filters.js" in html  # the script adds rows
    assert "ssn" not in html and "income" not in html  # neither personal nor non-biddable fields
    assert other.pk


def test_editing_a_rule_shows_its_filters_as_rows_typed_back_and_removing_a_row_drops_it(client, buyer, fielded):
    rule = rule_for(
        buyer,
        vertical=fielded,
        field_filters=[
            {"field": "roof_type", "op": "in", "value": ["metal", "tile"]},
            {"field": "sqft", "op": "between", "value": [1000, 3000]},
            {"field": "owner", "op": "=", "value": True},
        ],
    )
    edit = client.get(f"/autobid/{rule.pk}/edit/")
    filters = edit.context["filters"]
    assert filters.total_form_count() == 6  # three rules' rows and three empty ones
    assert [f.initial for f in filters.forms[:3]] == [
        {"field": "roof_type", "op": "in", "value": "metal, tile"},
        {"field": "sqft", "op": "between", "value": "1000, 3000"},
        {"field": "owner", "op": "eq", "value": "yes"},
    ]
    html = edit.content.decode()
    assert '<option value="roof_type" selected>' in html and "<optgroup" not in html  # only the rule's vertical
    response = client.post(
        f"/autobid/{rule.pk}/edit/",
        {
            **FORM,
            "vertical": fielded.pk,
            **rows(
                ("roof_type", "in", "metal, tile"),
                ("sqft", "between", "1000, 3000", "remove"),
                ("owner", "eq", "no"),
                ("", "eq", ""),
            ),
        },
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.field_filters == [
        {"field": "roof_type", "op": "in", "value": ["metal", "tile"]},
        {"field": "owner", "op": "eq", "value": False},
    ]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (("sqft", "between", "5"), "give two values"),
        (("sqft", "gt", "many"), "not a number"),
        (("roof_type", "gt", "metal"), "> does not apply to"),
        (("roof_type", "eq", "straw"), "not among"),
        (("income", "eq", "5"), "is not a biddable field"),
        (("notes", "in", ""), "give at least one value"),
    ],
)
def test_a_bad_filter_row_gets_its_message_beside_it_and_nothing_is_saved(client, buyer, fielded, row, message):
    response = client.post("/autobid/new/", {**FORM, "vertical": fielded.pk, **rows(("roof_type", "eq", "metal"), row)})
    assert response.status_code == 200 and not AutobidRule.objects.exists()
    filters = response.context["filters"]
    assert not filters.forms[0].errors
    assert any(message in str(e) for e in filters.forms[1].non_field_errors()), filters.forms[1].errors
    assert escape(message) in response.content.decode()


def test_filters_need_a_vertical(client, buyer, fielded):
    response = client.post("/autobid/new/", {**FORM, **rows(("sqft", "gt", "5"))})
    assert response.status_code == 200 and not AutobidRule.objects.exists()
    assert "Choose a vertical to filter on its fields." in response.content.decode()


def test_the_form_page_reads_every_verticals_fields_in_a_few_queries(
    client, buyer, fielded, django_assert_max_num_queries
):
    for i in range(20):
        add_fields(make_vertical(slug=f"more-{i}", name=f"More {i}"))
    with django_assert_max_num_queries(12):
        assert client.get("/autobid/new/").status_code == 200
