"""A lead's field values in words from its vertical's schema (verticals.display), and several
verticals' schemas read at once (verticals.selectors.vertical_schemas)."""

import pytest

from verticals.display import READABLE, contrast_ratio, field_text, field_values_display, filter_text, text_colour_on
from verticals.models import VerticalField
from verticals.seed_data import VERTICALS
from verticals.selectors import vertical_fields_effective, vertical_schemas
from verticals.services import vertical_upsert


def field(key="x", label="X", type="text", **kwargs) -> VerticalField:
    return VerticalField(key=key, label=label, type=type, **kwargs)


@pytest.mark.parametrize(
    ("spec", "value", "text"),
    [
        (field(type="boolean"), True, "Yes"),
        (field(type="boolean"), False, "No"),
        (field(type="choice", choices=["good (680-719)"]), "good (680-719)", "Good (680-719)"),
        (field(type="multi_choice", choices=["a", "b"]), ["skylight", "vents"], "Skylight, vents"),
        (field(label="Bill (USD)", type="decimal"), 220.0, "220 USD"),
        (field(label="Bill (USD)", type="decimal"), 220.5, "220.50 USD"),
        (field(label="Loan (USD)", type="decimal"), 350000, "350,000 USD"),
        (field(label="Rate (%)", type="decimal"), 3.25, "3.25%"),
        (field(label="Roof age (years)", type="integer"), 12, "12 years"),
        (field(label="Home size (sq ft)", type="integer"), 2400, "2400 sq ft"),
        (field(label="Year built", type="integer"), 1998, "1998"),  # four digits: no separator
        (field(label="Days at Camp Lejeune (1953-1987)", type="integer"), 45, "45"),  # not a unit
        (field(type="date"), "2026-07-01", "1 Jul 2026"),
        (field(type="us_zip"), "94105", "94105"),
        (field(type="text"), None, "—"),
    ],
)
def test_a_value_is_written_with_its_unit(spec, value, text):
    assert field_text(spec, value) == text


def test_buyers_get_only_biddable_non_personal_fields_labelled_without_the_unit():
    schema = [
        field("bill", "Average monthly electric bill (USD)", "decimal", biddable=True),
        field("note", "Seller's note", "text"),
        field("dob", "Date of birth", "date", pii=True),
    ]
    values = {"bill": 220.5, "note": "called twice", "dob": "1980-02-03", "gone": "x"}
    shown = field_values_display(schema=schema, values=values, biddable_only=True)
    assert [(f.label, f.text) for f in shown] == [("Average monthly electric bill", "220.50 USD")]
    everything = field_values_display(schema=schema, values=values, biddable_only=False)
    assert [(f.label, f.text) for f in everything] == [
        ("Average monthly electric bill", "220.50 USD"),
        ("Seller's note", "called twice"),
        ("Date of birth", "3 Feb 1980"),
        ("Gone", "x"),
    ]  # a key the schema no longer has: humanized


def test_filters_are_written_in_words():
    age = field("roof_age_years", "Roof age (years)", "integer")
    band = field("credit_band", "Credit score", "choice", choices=["excellent (720+)", "good (680-719)"])
    assert filter_text(field=age, key="roof_age_years", op="gte", value=10) == "Roof age ≥ 10 years"
    assert (
        filter_text(field=age, key="roof_age_years", op="between", value=[5, 20])
        == "Roof age is between 5 years and 20 years"
    )
    assert (
        filter_text(field=band, key="credit_band", op="in", value=["excellent (720+)", "good (680-719)"])
        == "Credit score is one of Excellent (720+), Good (680-719)"
    )
    assert filter_text(field=None, key="homeowner", op="eq", value=True) == "Homeowner is Yes"


@pytest.mark.django_db
def test_schemas_of_many_verticals_are_read_in_two_queries_and_merge_like_the_effective_schema(
    django_assert_num_queries,
):
    root = vertical_upsert(
        slug="home",
        name="Home",
        fields=[
            {"key": "homeowner", "label": "Owns the home", "type": "boolean", "biddable": True},
            {"key": "budget", "label": "Budget (USD)", "type": "decimal"},
        ],
    )
    mid = vertical_upsert(
        slug="home-solar",
        name="Solar",
        parent=root,
        fields=[{"key": "budget", "label": "Solar budget (USD)", "type": "decimal", "biddable": True}],
    )
    leaf = vertical_upsert(
        slug="home-solar-roof",
        name="Solar roof",
        parent=mid,
        fields=[{"key": "roof_age_years", "label": "Roof age (years)", "type": "integer", "biddable": True}],
    )
    with django_assert_num_queries(2):
        schemas = vertical_schemas(vertical_ids=[root.pk, mid.pk, leaf.pk])
    for vertical in (root, mid, leaf):
        expected = [(ef.field.key, ef.field.label) for ef in vertical_fields_effective(vertical=vertical)]
        assert [(f.key, f.label) for f in schemas[vertical.pk]] == expected
    assert [f.label for f in schemas[leaf.pk]] == ["Owns the home", "Solar budget (USD)", "Roof age (years)"]


def _brand_colours(tree) -> set[str]:
    found = set()
    for node in tree:
        if node.get("brand_color"):
            found.add(node["brand_color"])
        found |= _brand_colours(node.get("children", []))
    return found


@pytest.mark.parametrize(
    "background",
    sorted({"#000000", "#ffffff", "#777777", "#7a7a7a", "#808080", "#2563eb", "#f59e0b", "#ffff00", "#00ff00"}),
)
def test_text_on_any_brand_colour_reads_at_four_and_a_half_to_one(background):
    assert contrast_ratio(text_colour_on(background), background) >= READABLE


def test_every_seeded_brand_colour_gets_readable_text_white_where_white_reads():
    colours = _brand_colours(VERTICALS)
    assert len(colours) > 10
    for colour in colours:
        text = text_colour_on(colour)
        assert contrast_ratio(text, colour) >= READABLE, colour
        assert (text == "#ffffff") == (contrast_ratio("#ffffff", colour) >= READABLE), colour
    assert text_colour_on("#f59e0b") != "#ffffff"  # amber: white reads at only 2.1:1
