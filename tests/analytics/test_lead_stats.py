"""The seller's lead table's cards come from the rollups when the filters allow (none, a vertical,
whole-hour dates) and equal a count of the leads; other filters count the leads themselves."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from analytics.rollups import hour_of, rollups_refresh
from leads import selectors
from leads.choices import RejectionReason
from tests.analytics.builders import build_facts, rejected_lead

pytestmark = pytest.mark.django_db


def spec(**params):
    return selectors.lead_table_spec_parse(params)


def test_the_cards_from_the_rollups_equal_a_count_of_the_leads(django_assert_max_num_queries):
    facts = build_facts()
    seller = facts["seller"]
    solar, roofing = facts["verticals"]
    rejected_lead(
        seller=seller, vertical=roofing, reason=RejectionReason.CONSENT, created_at=timezone.now() - timedelta(days=3)
    )
    rollups_refresh()
    start = hour_of(timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    for filters in ({}, {"vertical": solar.slug}, {"vertical": roofing.slug}, {"created_from": start}):
        table = spec(**filters)
        with django_assert_max_num_queries(1):
            cards = selectors.lead_table_stats(seller=seller, spec=table)
        assert cards == selectors.lead_table_stats_count(seller=seller, spec=table), filters
    assert selectors.lead_table_stats(seller=seller, spec=spec())["total"] == 12


def test_other_filters_count_the_leads_and_a_stale_rollup_shows_until_the_refresh():
    facts = build_facts()
    seller = facts["seller"]
    rollups_refresh()
    sold = spec(status="sold")
    assert selectors.lead_table_stats(seller=seller, spec=sold) == selectors.lead_table_stats_count(
        seller=seller, spec=sold
    )
    before = selectors.lead_table_stats(seller=seller, spec=spec())["total"]
    rejected_lead(seller=seller, vertical=facts["verticals"][0], reason=RejectionReason.INVALID)
    assert selectors.lead_table_stats(seller=seller, spec=spec())["total"] == before  # until the refresh
    rollups_refresh()
    assert selectors.lead_table_stats(seller=seller, spec=spec())["total"] == before + 1


def test_a_bound_inside_an_hour_counts_the_leads():
    facts = build_facts()
    rollups_refresh()
    moment = datetime.now(UTC).replace(minute=17, second=0, microsecond=0) - timedelta(hours=1)
    table = spec(created_from=moment.strftime("%Y-%m-%dT%H:%M"))
    assert selectors.lead_table_stats(seller=facts["seller"], spec=table) == selectors.lead_table_stats_count(
        seller=facts["seller"], spec=table
    )
