"""Daily per-seller caps (Redis counter seeded from PostgreSQL) and the per-key ingest rate limit."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import api_key_create
from leads.caps import cap_used, day_bounds
from leads.choices import LeadStatus, RejectionReason
from leads.models import Lead, SellerCap
from leads.services import Outcome, lead_submit
from tests.leads.conftest import make_lead
from tests.leads.test_dedupe_race import run_at_once
from verticals.services import vertical_upsert

pytestmark = pytest.mark.django_db


def contact(i: int) -> dict:
    """A distinct consumer (so dedupe stays out of the way)."""
    return {"email": f"consumer{i}@gmail.com", "phone": f"+1415555{1000 + i:04d}"}


def post(client, i: int, **overrides):
    return client.post("/api/v1/leads/", make_lead(**{**contact(i), **overrides}), format="json")


def submit(seller, i: int, **overrides):
    return lead_submit(seller=seller, data=make_lead(**{**contact(i), **overrides}), source="api")


@pytest.fixture
def capped(solar):
    solar.daily_cap_per_seller = 3
    solar.save(update_fields=["daily_cap_per_seller"])
    return solar


def cap_key(seller, vertical) -> str:
    start, _ = day_bounds(timezone.now())
    return f"leadcap:{seller.pk}:{vertical.pk}:{start:%Y%m%d}"


def test_the_third_lead_is_accepted_and_the_fourth_gets_429_until_utc_midnight(seller_api, capped):
    for i in range(3):
        response = post(seller_api, i)
        assert response.status_code == 201, response.json()
    response = post(seller_api, 3)
    assert response.status_code == 429
    body = response.json()["error"]
    assert (body["type"], body["code"], body["cap"]) == ("rate_limit", "daily_cap_reached", 3)
    message = body["message"]
    assert "Daily cap of 3 leads" in message and "resets" in message
    assert body["retry_after"] == int(response["Retry-After"])
    now = datetime.now(UTC)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    assert datetime.fromisoformat(body["resets_at"]) == midnight
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 86400
    assert abs(retry_after - (midnight - now).total_seconds()) < 120
    assert Lead.objects.count() == 3


def test_the_cap_is_per_vertical(seller_user, capped):
    other = vertical_upsert(slug="solar-commercial", name="Commercial", parent=capped.parent, quality_floor=40)
    for i in range(3):
        assert submit(seller_user, i).outcome == Outcome.CREATED
    assert submit(seller_user, 3).outcome == Outcome.CAPPED
    assert submit(seller_user, 4, vertical=other.slug).outcome == Outcome.CREATED


def test_the_cap_is_per_seller(seller_user, capped):
    from tests.factories import UserFactory

    for i in range(3):
        submit(seller_user, i)
    assert submit(seller_user, 3).outcome == Outcome.CAPPED
    assert submit(UserFactory(is_seller=True), 3).outcome == Outcome.CREATED


def test_a_seller_cap_for_the_vertical_overrides_the_verticals_cap(seller_user, capped):
    SellerCap.objects.create(seller=seller_user, vertical=capped, daily_cap=5)
    SellerCap.objects.create(seller=seller_user, vertical=None, daily_cap=1)  # the specific one wins
    outcomes = [submit(seller_user, i).outcome for i in range(6)]
    assert outcomes == [Outcome.CREATED] * 5 + [Outcome.CAPPED]


def test_an_all_verticals_seller_cap_overrides_the_verticals_cap(seller_user, capped):
    SellerCap.objects.create(seller=seller_user, vertical=None, daily_cap=1)
    assert [submit(seller_user, i).outcome for i in range(2)] == [Outcome.CREATED, Outcome.CAPPED]


def test_a_zero_seller_cap_blocks_all_ingestion(seller_user, capped):
    SellerCap.objects.create(seller=seller_user, vertical=capped, daily_cap=0)
    result = submit(seller_user, 0)
    assert result.outcome == Outcome.CAPPED and result.cap == 0
    assert not Lead.objects.exists()


def test_duplicates_and_invalid_leads_do_not_consume_the_cap(seller_api, seller_user, capped):
    assert post(seller_api, 0).status_code == 201
    assert post(seller_api, 0).status_code == 409  # duplicate
    assert post(seller_api, 1, phone="12").status_code == 400  # invalid phone
    assert post(seller_api, 2, zip="10001").status_code == 400  # ZIP not in CA
    assert post(seller_api, 3).status_code == 201
    assert post(seller_api, 4).status_code == 201
    assert cap_used(seller=seller_user, vertical=capped, now=timezone.now()) == 3
    assert post(seller_api, 5).status_code == 429


def test_a_capped_lead_is_not_stored_and_leaves_the_counter_at_the_cap(seller_user, capped):
    for i in range(3):
        submit(seller_user, i)
    for i in range(3, 6):
        assert submit(seller_user, i).outcome == Outcome.CAPPED
    assert cap_used(seller=seller_user, vertical=capped, now=timezone.now()) == 3
    assert Lead.objects.count() == 3


def test_yesterdays_leads_do_not_count_today(seller_user, capped):
    yesterday = timezone.now() - timedelta(days=1)
    for i in range(3):
        data = make_lead(**contact(i))
        data["consent"]["timestamp"] = (yesterday - timedelta(hours=1)).isoformat()
        assert lead_submit(seller=seller_user, data=data, source="api", now=yesterday).outcome == Outcome.CREATED
    cache.clear()  # today's counter is seeded from the database, which holds only yesterday's
    assert submit(seller_user, 10).outcome == Outcome.CREATED


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("already", [0, 2])
def test_a_race_at_the_boundary_never_admits_more_than_the_cap(seller_user, capped, already):
    for i in range(already):
        assert submit(seller_user, 100 + i).outcome == Outcome.CREATED
    results = run_at_once(10, lambda i: submit(seller_user, i))
    created = [r for r in results if r.outcome == Outcome.CREATED]
    assert len(created) == 3 - already
    assert all(r.outcome == Outcome.CAPPED for r in results if r.outcome != Outcome.CREATED)
    assert Lead.objects.filter(seller=seller_user).count() == 3
    assert cap_used(seller=seller_user, vertical=capped, now=timezone.now()) == 3


@pytest.mark.django_db(transaction=True)
def test_a_race_after_the_redis_key_was_lost_still_respects_the_cap(seller_user, capped):
    submit(seller_user, 100)
    cache.delete(cap_key(seller_user, capped))
    results = run_at_once(8, lambda i: submit(seller_user, i))
    assert [r.outcome for r in results].count(Outcome.CREATED) == 2
    assert Lead.objects.filter(seller=seller_user).count() == 3


@pytest.mark.django_db(transaction=True)  # the counter counts committed leads
def test_the_counter_reseeds_from_the_database_after_the_redis_key_is_lost(seller_user, capped):
    for i in range(3):
        submit(seller_user, i)
    key = cap_key(seller_user, capped)
    assert cache.get(key) == 3
    cache.delete(key)
    assert submit(seller_user, 3).outcome == Outcome.CAPPED
    assert cache.get(key) == 3


@pytest.mark.django_db(transaction=True)
def test_the_reseeded_counter_matches_the_live_one(seller_user, capped):
    """Low-quality rejections took a slot when they were submitted; duplicates never did."""
    capped.daily_cap_per_seller = 5
    capped.save(update_fields=["daily_cap_per_seller"])
    first = submit(seller_user, 0).lead
    submit(seller_user, 1)
    assert submit(seller_user, 0).outcome == Outcome.DUPLICATE
    Lead.objects.filter(pk=first.pk).update(status=LeadStatus.REJECTED, rejection_reason=RejectionReason.LOW_QUALITY)
    key = cap_key(seller_user, capped)
    live = cache.get(key)
    assert live == 2
    cache.delete(key)
    submit(seller_user, 2)
    assert cache.get(key) == live + 1
    assert [submit(seller_user, i).outcome for i in (3, 4, 5)] == [Outcome.CREATED, Outcome.CREATED, Outcome.CAPPED]


def test_the_ingest_rate_limit_answers_429_per_api_key(seller_api, seller_user, solar, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "ingest": "3/60s"}
    assert post(seller_api, 0).status_code == 201
    assert post(seller_api, 1, phone="12").status_code == 400  # every request counts, whatever its outcome
    bulk = seller_api.post("/api/v1/leads/bulk/", {"leads": [make_lead(**contact(2))]}, format="json")
    assert bulk.status_code == 200  # a bulk request counts once
    response = post(seller_api, 3)
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1
    bulk = seller_api.post("/api/v1/leads/bulk/", {"leads": [make_lead(**contact(4))]}, format="json")
    assert bulk.status_code == 429
    assert Lead.objects.count() == 2
    # Reading is another scope; another key of the same seller has its own window.
    assert seller_api.get("/api/v1/leads/").status_code == 200
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(user=seller_user, name='second').secret}")
    assert post(other, 5).status_code == 201


@pytest.mark.django_db(transaction=True)
def test_a_slot_reserved_by_a_transaction_that_rolls_back_comes_back(seller_user, capped, settings):
    """A CSV chunk (or any outer transaction) that rolls back must not keep the day's slots."""
    from django.db import transaction

    settings.LEAD_CAP_LEASE_SECONDS = 0  # leases end at once: no waiting for them in a test
    with pytest.raises(RuntimeError), transaction.atomic():
        for i in range(3):
            assert submit(seller_user, i).outcome == Outcome.CREATED
        raise RuntimeError("the worker died mid-chunk")
    assert not Lead.objects.exists()
    assert cap_used(seller=seller_user, vertical=capped, now=timezone.now()) == 0
    assert [submit(seller_user, i).outcome for i in range(4)] == [Outcome.CREATED] * 3 + [Outcome.CAPPED]


def test_pending_reservations_count_until_their_transaction_commits(seller_user, capped):
    for i in range(3):
        submit(seller_user, i)  # inside the test's transaction: reserved, not yet committed
    assert cache.get(cap_key(seller_user, capped)) in (None, 0)
    assert cap_used(seller=seller_user, vertical=capped, now=timezone.now()) == 3
    assert submit(seller_user, 3).outcome == Outcome.CAPPED
