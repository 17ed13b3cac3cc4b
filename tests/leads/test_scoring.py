"""The quality score, component by component, as documented in docs/scoring.md."""

import re
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.utils import timezone

from core.metrics import REGISTRY
from leads import scoring
from leads.choices import LeadSource, LeadStatus, RejectionReason
from leads.models import Lead, LeadStatusChange
from leads.services import Outcome, lead_rescore, lead_score, lead_submit
from tests.factories import UserFactory
from tests.leads.conftest import make_lead
from verticals.services import vertical_upsert

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def stub(**attrs):
    base = {
        "consent_at": NOW,
        "has_phone": True,
        "phone_type": "mobile",
        "has_email": True,
        "zip": "94105",
        "state": "CA",
        "city": "San Francisco",
        "source": LeadSource.API,
        "fields": {},
    }
    return SimpleNamespace(**{**base, **attrs})


def submitted(seller, i: int = 0, **overrides) -> Lead:
    data = make_lead(**{"email": f"score{i}@gmail.com", "phone": f"+1415555{5000 + i:04d}", **overrides})
    result = lead_submit(seller=seller, data=data, source=LeadSource.API)
    assert result.outcome == Outcome.CREATED, result.errors
    return Lead.objects.select_related("vertical", "seller").get(pk=result.lead.pk)


def test_the_weights_add_up_to_100_and_each_component_is_capped_at_its_weight():
    assert sum(scoring.WEIGHTS.values()) == 100
    component = scoring._component(1000, "geo_consistency", "")
    assert component == {"points": 15, "max": 15, "detail": ""}
    assert scoring._component(-5, "geo_consistency", "")["points"] == 0


@pytest.mark.parametrize(("days", "points"), [(0, 15), (3, 13.5), (15, 7.5), (29, 0.5), (30, 0), (45, 0)])
def test_consent_freshness_decays_linearly_to_zero_at_30_days(days, points):
    result = scoring.consent_freshness(stub(consent_at=NOW - timedelta(days=days)), NOW)
    assert result["points"] == pytest.approx(points, abs=0.01) and result["max"] == 15
    assert f"{days:.1f} days old" in result["detail"]


def test_consent_in_the_near_future_counts_as_fresh():
    assert scoring.consent_freshness(stub(consent_at=NOW + timedelta(minutes=4)), NOW)["points"] == 15


@pytest.mark.parametrize(
    ("phone_type", "points"), [("mobile", 15), ("fixed_line_or_mobile", 13), ("fixed_line", 10), ("voip", 6), ("", 8)]
)
def test_phone_line_type_points(phone_type, points):
    assert scoring.contact_validity(stub(phone_type=phone_type, has_email=False))["points"] == points
    assert scoring.contact_validity(stub(phone_type=phone_type))["points"] == points + 10


def test_contact_validity_without_phone_or_email():
    assert scoring.contact_validity(stub(has_phone=False))["points"] == 10
    assert scoring.contact_validity(stub(has_phone=False, has_email=False))["points"] == 0


@pytest.mark.parametrize(
    ("zip_code", "state", "city", "points"),
    [
        ("94105", "CA", "San Francisco", 15),  # ZIP in state, city matches
        ("94105", "CA", "san francisco", 15),  # case-insensitive
        ("94105", "CA", "Los Angeles", 10),  # city does not match the ZIP
        ("94105", "CA", "", 12),  # no city given
        ("94105", "NY", "San Francisco", 5),  # ZIP not in the state (other channels than validated input)
        ("00000", "CA", "San Francisco", 0),  # unknown ZIP
        ("", "CA", "", 0),
    ],
)
def test_geo_consistency_of_zip_state_and_city(zip_code, state, city, points):
    assert scoring.geo_consistency(stub(zip=zip_code, state=state, city=city))["points"] == points


def test_field_completeness_counts_vertical_fields_and_contact_details(solar):
    from verticals.selectors import vertical_fields_effective

    schema = [ef.field for ef in vertical_fields_effective(vertical=solar)]
    assert len(schema) == 5
    full = stub(fields={"homeowner": True, "roof_type": "metal", "roof_age_years": 3, "monthly_electric_bill": 90})
    result = scoring.field_completeness(full, schema, {"date_of_birth", "first_name", "last_name", "street_address"})
    assert result["points"] == 15 and result["detail"] == "5 of 5 vertical fields and 4 of 4 contact details"
    sparse = stub(fields={"homeowner": True, "monthly_electric_bill": 90}, city="")
    result = scoring.field_completeness(sparse, schema, set())
    assert result["points"] == pytest.approx(15 * 2 / 9, abs=0.01)


@pytest.mark.parametrize(
    ("source", "points"),
    [(LeadSource.FORM, 10), (LeadSource.WEBHOOK, 9), (LeadSource.API, 8), (LeadSource.CSV, 6), ("other", 5)],
)
def test_source_trust(source, points):
    assert scoring.source_trust(stub(source=source))["points"] == points


def test_seller_reputation_starts_at_the_prior_and_moves_with_outcomes(seller_user, solar):
    lead = submitted(seller_user, 0)
    assert scoring.seller_reputation(lead, timezone.now())["points"] == 7.0  # 7 / (7 + 3)
    for i in range(1, 6):
        assert lead_score(lead_id=submitted(seller_user, i).pk).status == LeadStatus.SCORED
    assert scoring.seller_reputation(lead, timezone.now())["points"] == pytest.approx(10 * 12 / 15, abs=0.01)
    solar.quality_floor = 100
    solar.save(update_fields=["quality_floor"])
    for i in range(6, 11):
        assert lead_score(lead_id=submitted(seller_user, i).pk).rejection_reason == RejectionReason.LOW_QUALITY
    assert scoring.seller_reputation(lead, timezone.now())["points"] == pytest.approx(10 * 12 / 20, abs=0.01)
    # Received (unscored) leads and other sellers' leads do not move it; a month later the history has aged out.
    submitted(UserFactory(is_seller=True), 20)
    assert scoring.seller_reputation(lead, timezone.now())["points"] == pytest.approx(6.0, abs=0.01)
    assert scoring.seller_reputation(lead, timezone.now() + timedelta(days=31))["points"] == 7.0


def test_duplicates_count_against_seller_reputation(seller_user, solar):
    lead = submitted(seller_user, 0)
    for _ in range(2):
        assert (
            lead_submit(seller=seller_user, data=make_lead(email="score0@gmail.com"), source="api").outcome
            == Outcome.DUPLICATE
        )
    assert scoring.seller_reputation(lead, timezone.now())["points"] == pytest.approx(10 * 7 / 12, abs=0.01)


def test_duplicate_history_across_other_verticals(seller_user, solar):
    others = [
        vertical_upsert(slug=f"solar-other-{i}", name=f"Other {i}", parent=solar.parent, quality_floor=0)
        for i in range(3)
    ]
    lead = submitted(seller_user, 0)
    expected = [10, 6, 3, 0]
    assert scoring.duplicate_history(lead, timezone.now())["points"] == expected[0]
    for n, vertical in enumerate(others, start=1):
        lead_submit(
            seller=seller_user,
            data=make_lead(email="score0@gmail.com", phone=None, vertical=vertical.slug),
            source="api",
        )
        result = scoring.duplicate_history(lead, timezone.now())
        assert result["points"] == expected[n] and f"seen in {n} other" in result["detail"]
    # The same vertical never counts, and history older than 30 days is forgotten.
    assert scoring.duplicate_history(lead, timezone.now() + timedelta(days=31))["points"] == 10


def test_history_counts_reads_in_one_statement_what_the_two_components_read(seller_user, solar):
    """compute_score reads reputation and duplicate history in one statement (history_counts);
    the components' own queries are the reference, for every history and window edge."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    others = [
        vertical_upsert(slug=f"solar-hist-{i}", name=f"Hist {i}", parent=solar.parent, quality_floor=0)
        for i in range(2)
    ]
    lead = submitted(seller_user, 0)
    leads = [lead]
    for i, vertical in enumerate(others, start=1):
        lead_submit(
            seller=seller_user,
            data=make_lead(email="score0@gmail.com", phone=None, vertical=vertical.slug),
            source="api",
        )
        leads.append(submitted(seller_user, i))
    lead_submit(seller=seller_user, data=make_lead(email="score1@gmail.com", phone="+14155555001"), source="api")  # dup
    lead_score(lead_id=leads[1].pk)
    phone_only = Lead.objects.get(pk=lead.pk)
    phone_only.email_hash = ""
    email_only = Lead.objects.get(pk=lead.pk)
    email_only.phone_hash = ""
    no_contact = Lead.objects.get(pk=lead.pk)
    no_contact.phone_hash = no_contact.email_hash = ""
    for candidate in [*leads, phone_only, email_only, no_contact]:
        for at in (timezone.now(), timezone.now() + timedelta(days=29), timezone.now() + timedelta(days=31)):
            with CaptureQueriesContext(connection) as queries:
                counts, other_verticals = scoring.history_counts(candidate, at)
            assert len(queries) == 1
            assert scoring.seller_reputation(candidate, at, counts) == scoring.seller_reputation(candidate, at)
            assert scoring.duplicate_history(candidate, at, other_verticals) == scoring.duplicate_history(candidate, at)
    assert scoring.history_counts(lead, timezone.now())[1] == 2


def test_duplicate_history_without_contact_hashes_scores_full():
    assert scoring.duplicate_history(SimpleNamespace(phone_hash="", email_hash="", vertical_id=1), NOW)["points"] == 10


def test_the_score_is_the_rounded_sum_of_the_components(seller_user, solar):
    lead = submitted(seller_user, 0)
    score, breakdown = scoring.compute_score(lead)
    components = breakdown["components"]
    assert set(components) == set(scoring.WEIGHTS)
    assert {name: c["max"] for name, c in components.items()} == scoring.WEIGHTS
    assert score == round(sum(c["points"] for c in components.values())) == breakdown["total"]
    assert breakdown["version"] == 1


def test_a_lead_under_the_quality_floor_is_rejected_as_low_quality_with_its_breakdown(seller_user, solar):
    solar.quality_floor = 100
    solar.save(update_fields=["quality_floor"])
    lead = submitted(seller_user, 0)
    scored = lead_score(lead_id=lead.pk)
    assert scored.status == LeadStatus.REJECTED and scored.rejection_reason == RejectionReason.LOW_QUALITY
    assert scored.rejection_detail == {"score": scored.quality_score, "floor": 100}
    assert set(scored.score_breakdown["components"]) == set(scoring.WEIGHTS)
    assert LeadStatusChange.objects.filter(
        lead=lead, to_status=LeadStatus.REJECTED, reason__contains="below floor 100"
    ).exists()


def test_a_lead_at_or_over_the_floor_is_scored(seller_user, solar):
    lead = submitted(seller_user, 0)
    scored = lead_score(lead_id=lead.pk)
    assert scored.status == LeadStatus.SCORED and scored.quality_score >= solar.quality_floor


def test_lead_score_is_idempotent(seller_user, solar):
    lead = submitted(seller_user, 0)
    first = lead_score(lead_id=lead.pk)
    history = LeadStatusChange.objects.filter(lead=lead).count()
    second = lead_score(lead_id=lead.pk)
    again = Lead.objects.get(pk=lead.pk)
    assert (again.status, again.quality_score, again.score_breakdown, again.scored_at) == (
        first.status,
        first.quality_score,
        first.score_breakdown,
        first.scored_at,
    )
    assert second.scored_at == first.scored_at
    assert LeadStatusChange.objects.filter(lead=lead).count() == history
    assert lead_score(lead_id=10**12) is None  # a vanished lead is not an error


def test_lead_rescore_keeps_the_status_and_records_history(seller_user, solar):
    lead = submitted(seller_user, 0)
    scored = lead_score(lead_id=lead.pk)
    Lead.objects.filter(pk=lead.pk).update(consent_at=timezone.now() - timedelta(days=15))
    rescored = lead_rescore(lead_id=lead.pk, reason="dispute 7")
    assert rescored.status == scored.status
    assert rescored.quality_score < scored.quality_score
    last = LeadStatusChange.objects.filter(lead=lead).last()
    assert last.reason == f"dispute 7: score {scored.quality_score} → {rescored.quality_score}"
    assert (last.from_status, last.to_status) == (scored.status, scored.status)


def test_scoring_time_is_observed_in_the_histogram(seller_user, solar):
    def count():
        return REGISTRY.get_sample_value("leadengine_lead_scoring_seconds_count") or 0

    before = count()
    for i in range(3):
        lead_score(lead_id=submitted(seller_user, i).pk)
    lead_score(lead_id=Lead.objects.first().pk)  # already scored: nothing timed
    assert count() == before + 3


def test_the_documentation_states_the_weights_in_the_code():
    doc = (Path(settings.BASE_DIR) / "docs" / "scoring.md").read_text()
    for name, weight in scoring.WEIGHTS.items():
        assert re.search(rf"\|\s*`{name}`\s*\|\s*{weight}\s*\|", doc), f"docs/scoring.md: {name} should weigh {weight}"
    for line_type, points in scoring.PHONE_POINTS.items():
        assert re.search(rf"`{line_type}`\s*\|\s*{points}\b", doc), line_type
    for source, share in scoring.SOURCE_TRUST.items():
        assert re.search(rf"`{source.value}`\s*\|\s*{share:g}\b", doc), source
    assert f"{scoring.CONSENT_DECAY_DAYS} days" in doc and f"{scoring.REPUTATION_PRIOR[0]} good" in doc


@pytest.mark.django_db(transaction=True)
def test_scoring_locks_only_the_lead_not_its_seller_or_vertical(seller_user, solar):
    """FOR UPDATE over a join would lock the seller's user row and the vertical too, serialising (and
    deadlocking) concurrent scoring of one seller's leads."""
    import threading

    from django.db import connection, transaction

    from accounts.models import User
    from verticals.models import Vertical

    lead = submitted(seller_user, 0)
    Lead.objects.filter(pk=lead.pk).update(status=LeadStatus.RECEIVED)
    locked, release, errors = threading.Event(), threading.Event(), []

    def score_and_hold():
        try:
            with transaction.atomic():
                lead_score(lead_id=lead.pk)
                locked.set()
                release.wait(timeout=30)
        except BaseException as exc:  # noqa: BLE001 - surfaced below: a thread's failure must fail the test
            errors.append(exc)
            locked.set()
        finally:
            connection.close()

    thread = threading.Thread(target=score_and_hold)
    thread.start()
    try:
        assert locked.wait(timeout=30)
        with transaction.atomic():  # nowait: raises at once if the scoring transaction holds the row
            User.objects.select_for_update(nowait=True).get(pk=seller_user.pk)
            Vertical.objects.select_for_update(nowait=True).get(pk=solar.pk)
    finally:
        release.set()
        thread.join(timeout=30)
    assert not errors, errors


@pytest.mark.django_db(transaction=True)
def test_concurrent_scoring_of_one_sellers_leads_all_succeed(seller_user, solar):
    from tests.leads.test_dedupe_race import run_at_once

    ids = [submitted(seller_user, i).pk for i in range(8)]
    Lead.objects.filter(pk__in=ids).update(status=LeadStatus.RECEIVED, quality_score=None)
    results = run_at_once(8, lambda i: lead_score(lead_id=ids[i]))
    assert all(r.quality_score is not None for r in results)
    assert not Lead.objects.filter(pk__in=ids, status=LeadStatus.RECEIVED).exists()
