from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from tests.factories import UserFactory, VerticalFactory, VerticalFieldFactory
from verticals import selectors
from verticals.choices import FieldType, VerticalStatus
from verticals.models import Vertical, VerticalField
from verticals.seed_data import VERTICALS
from verticals.services import check_field_definition, check_vertical, vertical_seed_tree, vertical_upsert

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded():
    vertical_seed_tree(tree=VERTICALS)


# ---------------------------------------------------------------- seed data


def test_seed_has_ten_top_level_and_fifty_verticals_and_is_idempotent(seeded):
    total, top = Vertical.objects.count(), Vertical.objects.filter(parent=None).count()
    fields = VerticalField.objects.count()
    assert top >= 10 and total >= 50
    vertical_seed_tree(tree=VERTICALS)
    assert (Vertical.objects.count(), Vertical.objects.filter(parent=None).count(), VerticalField.objects.count()) == (
        total,
        top,
        fields,
    )


def test_solar_has_the_fields_solar_buyers_bid_on(seeded):
    solar = Vertical.objects.get(slug="solar")
    keys = {f.field.key for f in selectors.vertical_fields_effective(vertical=solar)}
    assert {
        "homeowner",
        "roof_type",
        "roof_age_years",
        "monthly_electric_bill",
        "credit_band",
        "shading",
        "purchase_timeline",
    } <= keys
    for slug in ("mortgage", "auto-insurance", "roofing", "legal"):
        assert Vertical.objects.filter(slug=slug, parent=None).exists(), slug


def test_every_seeded_leaf_has_a_usable_schema(seeded):
    for leaf in Vertical.objects.filter(children__isnull=True):
        effective = [ef.field for ef in selectors.vertical_fields_effective(vertical=leaf)]
        assert len(effective) >= 3, leaf.slug
        assert any(f.required for f in effective), leaf.slug
        assert any(f.biddable for f in effective), leaf.slug
        assert not any(f.pii and f.biddable for f in effective), leaf.slug


# ---------------------------------------------------------------- schema rules


@pytest.mark.parametrize(
    "spec, field",
    [
        ({"key": "Roof", "type": "text"}, "key"),
        ({"key": "email", "type": "text"}, "key"),
        ({"key": "roof", "type": "choice", "choices": []}, "choices"),
        ({"key": "roof", "type": "choice", "choices": ["a", "a"]}, "choices"),
        ({"key": "roof", "type": "text", "choices": ["a"]}, "choices"),
        ({"key": "roof", "type": "text", "min_value": 1}, "min_value"),
        ({"key": "age", "type": "integer", "min_value": 10, "max_value": 1}, "max_value"),
        ({"key": "age", "type": "integer", "min_value": Decimal("1.5")}, "min_value"),
        ({"key": "dob", "type": "date", "pii": True, "biddable": True}, "biddable"),
        ({"key": "roof", "type": "colour"}, "type"),
    ],
)
def test_inconsistent_field_definitions_are_rejected_by_field(spec, field):
    spec = {"choices": [], "min_value": None, "max_value": None, "biddable": False, "pii": False, **spec}
    with pytest.raises(ValidationError) as info:
        check_field_definition(**spec)
    assert field in info.value.message_dict


def test_database_also_refuses_a_biddable_pii_field():
    vertical = VerticalFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        VerticalField.objects.create(
            vertical=vertical, key="dob", label="DOB", type=FieldType.DATE, pii=True, biddable=True
        )


def test_vertical_cannot_be_its_own_ancestor():
    parent = VerticalFactory()
    child = VerticalFactory(parent=parent)
    parent.parent = child
    with pytest.raises(ValidationError) as info:
        check_vertical(vertical=parent)
    assert "parent" in info.value.message_dict


def test_child_inherits_and_overrides_parent_fields():
    solar = vertical_upsert(
        slug="p-solar",
        name="Solar",
        fields=[
            {"key": "homeowner", "label": "Homeowner", "type": "boolean", "required": True, "biddable": True},
            {"key": "bill", "label": "Bill", "type": "decimal", "min_value": 0, "max_value": 1000},
        ],
    )
    residential = vertical_upsert(
        slug="p-solar-res",
        name="Residential",
        parent=solar,
        fields=[
            {"key": "bill", "label": "Monthly bill", "type": "decimal", "min_value": 50, "max_value": 900},
            {"key": "roof_type", "label": "Roof", "type": "choice", "choices": ["tile", "metal"], "biddable": True},
        ],
    )
    effective = {ef.field.key: ef for ef in selectors.vertical_fields_effective(vertical=residential)}
    assert list(effective) == ["homeowner", "bill", "roof_type"]
    assert effective["homeowner"].inherited_from == solar
    assert effective["bill"].inherited_from is None and effective["bill"].field.min_value == 50


def test_exclusive_vertical_admits_only_listed_buyers():
    listed, other = UserFactory(is_buyer=True), UserFactory(is_buyer=True)
    open_vertical, exclusive = VerticalFactory(), VerticalFactory()
    exclusive.exclusive_buyers.add(listed)
    assert selectors.vertical_admits_buyer(vertical=open_vertical, user=other)
    assert selectors.vertical_admits_buyer(vertical=exclusive, user=listed)
    assert not selectors.vertical_admits_buyer(vertical=exclusive, user=other)


# ---------------------------------------------------------------- API


def test_api_lists_verticals_with_pinned_query_count(api_client, seeded, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        response = api_client.get("/api/v1/verticals/?page_size=200")
    body = response.json()
    assert response.status_code == 200
    assert len(body["results"]) == Vertical.objects.count()
    solar = next(v for v in body["results"] if v["slug"] == "solar")
    assert solar["parent"] is None and solar["children_count"] >= 3 and solar["royalty_bps"] == 200
    assert Decimal(solar["buy_now_price"]) == (Decimal(solar["reserve_price"]) * Decimal(solar["buy_now_multiplier"]))


def test_api_paginates_by_cursor_and_filters(api_client, seeded):
    first = api_client.get("/api/v1/verticals/?page_size=10").json()
    assert len(first["results"]) == 10 and first["next"]
    second = api_client.get(first["next"]).json()
    assert {v["slug"] for v in first["results"]}.isdisjoint({v["slug"] for v in second["results"]})
    children = api_client.get("/api/v1/verticals/?parent=solar").json()["results"]
    assert children and all(v["parent"] == "solar" for v in children)
    top = api_client.get("/api/v1/verticals/?top_level=true&page_size=200").json()["results"]
    assert all(v["parent"] is None for v in top)
    assert api_client.get("/api/v1/verticals/?status=nonsense").status_code == 400


def test_api_detail_carries_the_effective_field_schema(api_client, seeded, django_assert_max_num_queries):
    child = Vertical.objects.filter(parent__slug="solar").first()
    with django_assert_max_num_queries(6):
        body = api_client.get(f"/api/v1/verticals/{child.slug}/").json()
    keys = {f["key"] for f in body["field_schema"]}
    assert "homeowner" in keys
    homeowner = next(f for f in body["field_schema"] if f["key"] == "homeowner")
    assert homeowner["inherited_from"] == "solar" and homeowner["type"] == "boolean"
    assert api_client.get("/api/v1/verticals/no-such-thing/").status_code == 404


# ---------------------------------------------------------------- pages


def test_vertical_pages_render_with_few_queries(client, seeded, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        page = client.get(reverse("vertical-list"))
    assert page.status_code == 200 and b"Solar" in page.content
    with django_assert_max_num_queries(10):
        detail = client.get(reverse("vertical-detail", args=["solar"]))
    assert detail.status_code == 200 and b"monthly_electric_bill" in detail.content
    assert client.get(reverse("vertical-detail", args=["nope"])).status_code == 404


def test_deprecated_verticals_are_hidden_from_the_list_page(client):
    VerticalFactory(name="Shiny", status=VerticalStatus.ACTIVE)
    VerticalFactory(name="Gone Vertical", status=VerticalStatus.DEPRECATED)
    content = client.get(reverse("vertical-list")).content
    assert b"Shiny" in content and b"Gone Vertical" not in content


def test_vertical_text_is_escaped_on_pages(client):
    vertical = VerticalFactory(name="<script>alert(1)</script>", tagline="<b>x</b>")
    content = client.get(reverse("vertical-detail", args=[vertical.slug])).content
    assert b"<script>alert(1)</script>" not in content and b"&lt;script&gt;" in content


# ---------------------------------------------------------------- admin


def test_admin_rejects_an_invalid_field_schema(client, staff):
    vertical = VerticalFactory()
    VerticalFieldFactory(vertical=vertical, key="ok_field")
    client.force_login(staff)
    url = reverse("admin:verticals_vertical_change", args=[vertical.pk])
    form = client.get(url).context["adminform"].form
    data = {k: ("" if v is None else v) for k, v in form.initial.items() if k != "exclusive_buyers"}
    data.update(
        {
            "parent": "",
            "slug": vertical.slug,
            "name": vertical.name,
            "fields-TOTAL_FORMS": "1",
            "fields-INITIAL_FORMS": "0",
            "fields-MIN_NUM_FORMS": "0",
            "fields-MAX_NUM_FORMS": "1000",
            "fields-0-position": "1",
            "fields-0-key": "roof_type",
            "fields-0-label": "Roof",
            "fields-0-type": "choice",
            "fields-0-choices": "[]",
        }
    )
    response = client.post(url, data)
    assert response.status_code == 200  # re-rendered with errors, nothing saved
    assert "A choice field needs at least one choice." in response.content.decode()
    assert not VerticalField.objects.filter(vertical=vertical, key="roof_type").exists()


def test_seeded_children_take_their_parents_sale_defaults_unless_they_set_their_own():
    vertical_seed_tree(
        tree=[
            {
                "slug": "t-solar",
                "name": "Solar",
                "reserve_price": Decimal("45"),
                "quality_floor": 55,
                "children": [
                    {"slug": "t-solar-res", "name": "Residential"},
                    {"slug": "t-solar-com", "name": "Commercial", "reserve_price": Decimal("90")},
                ],
            }
        ]
    )
    res, com = Vertical.objects.get(slug="t-solar-res"), Vertical.objects.get(slug="t-solar-com")
    assert (res.reserve_price, res.quality_floor) == (Decimal("45"), 55)
    assert (com.reserve_price, com.quality_floor) == (Decimal("90"), 55)
