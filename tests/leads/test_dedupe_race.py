"""Dedupe by phone or email within a vertical's window, proven with real threads on PostgreSQL."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from leads.choices import LeadStatus, RejectionReason
from leads.models import Lead, LeadPII
from leads.services import Outcome, lead_submit
from tests.leads.conftest import make_lead
from verticals.services import vertical_upsert

# The phone in each form it could take; not "415" alone, which any id may contain (lead 5415 did).
PII_VALUES = (
    "Maria",
    "García",
    "maria.garcia@gmail.com",
    "(415)",
    "415-555",
    "4155552671",
    "555-2671",
    "+14155552671",
    "1 Market St",
)


def run_at_once(count: int, fn) -> list:
    """Run fn(i) in `count` threads released together; each thread has (and closes) its own connection."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list = []

    def worker(i):
        try:
            barrier.wait(timeout=30)
            results[i] = fn(i)
        except BaseException as exc:  # noqa: BLE001 - surfaced below: a thread's failure must fail the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a submission thread hung"
    assert not errors, errors
    return results


def lead_at(now, **overrides) -> dict:
    """make_lead with a consent given an hour before `now` (for an injected clock)."""
    data = make_lead(**overrides)
    data["consent"] = {**data["consent"], "timestamp": (now - timedelta(hours=1)).isoformat()}
    return data


def assert_no_pii(text: str) -> None:
    for value in PII_VALUES:
        assert value.lower() not in text.lower(), f"{value!r} leaked into {text!r}"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("threads", [2, 8])
def test_identical_submissions_at_the_same_instant_accept_exactly_one(seller_user, solar, threads):
    results = run_at_once(threads, lambda i: lead_submit(seller=seller_user, data=make_lead(), source="api"))

    created = [r for r in results if r.outcome == Outcome.CREATED]
    duplicates = [r for r in results if r.outcome == Outcome.DUPLICATE]
    assert len(created) == 1 and len(duplicates) == threads - 1
    first = created[0].lead.pk
    for dup in duplicates:
        assert dup.duplicate_of_id == first
        assert dup.lead.rejection_reason == RejectionReason.DUPLICATE
        assert dup.lead.rejection_detail == {"duplicate_of": first}
        message = " ".join(dup.errors["non_field_errors"])
        assert f"lead {first}" in message
        assert_no_pii(message)
    # (a worker may already have scored it: any status but rejected)
    assert list(Lead.objects.exclude(status=LeadStatus.REJECTED).values_list("pk", flat=True)) == [first]
    assert Lead.objects.filter(status=LeadStatus.REJECTED, duplicate_of_id=first).count() == threads - 1
    # Only the accepted lead has a vault row; duplicates keep no contact details.
    assert list(LeadPII.objects.values_list("lead_id", flat=True)) == [first]


@pytest.mark.django_db(transaction=True)
def test_racing_submissions_through_the_api_get_one_201_and_409s_naming_the_first(seller_user, solar):
    from rest_framework.test import APIClient

    from accounts.services import api_key_create

    secret = api_key_create(user=seller_user, name="race").secret
    # Load the middleware (django_prometheus registers its metrics once) before the race.
    APIClient().get("/healthz")

    def post(i):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
        response = client.post("/api/v1/leads/", make_lead(), format="json")
        return response.status_code, response.json()

    results = run_at_once(4, post)
    codes = sorted(code for code, _ in results)
    assert codes == [201, 409, 409, 409]
    first = next(body["id"] for code, body in results if code == 201)
    for code, body in results:
        if code == 409:
            assert body["error"]["duplicate_of"] == first and body["error"]["code"] == "duplicate"
            assert_no_pii(str(body["error"]))  # (the random request_id may hold any digits)


@pytest.mark.django_db(transaction=True)
def test_concurrent_same_external_id_returns_the_same_lead(seller_user, solar):
    results = run_at_once(
        6, lambda i: lead_submit(seller=seller_user, data=make_lead(external_id="crm-42"), source="api")
    )
    assert sorted(r.outcome for r in results).count(Outcome.CREATED) == 1
    assert all(r.outcome in (Outcome.CREATED, Outcome.EXISTING) for r in results)
    assert len({r.lead.pk for r in results}) == 1
    assert Lead.objects.filter(seller=seller_user, external_id="crm-42").count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_same_external_id_with_different_contacts_returns_the_same_lead(seller_user, solar):
    def submit(i):
        data = make_lead(external_id="crm-7", email=f"buyer{i}@gmail.com", phone=f"+1415555{3100 + i}")
        return lead_submit(seller=seller_user, data=data, source="api")

    results = run_at_once(6, submit)
    assert [r.outcome for r in results].count(Outcome.CREATED) == 1
    assert len({r.lead.pk for r in results}) == 1
    assert Lead.objects.filter(seller=seller_user).count() == 1


def _ids(result):
    return result.outcome, result.duplicate_of_id


@pytest.mark.django_db
def test_same_phone_with_another_email_is_a_duplicate(seller_user, solar):
    first = lead_submit(seller=seller_user, data=make_lead(), source="api")
    again = lead_submit(seller=seller_user, data=make_lead(email="someone.else@gmail.com"), source="api")
    assert first.outcome == Outcome.CREATED
    assert _ids(again) == (Outcome.DUPLICATE, first.lead.pk)


@pytest.mark.django_db
def test_same_email_with_another_phone_is_a_duplicate(seller_user, solar):
    first = lead_submit(seller=seller_user, data=make_lead(), source="api")
    again = lead_submit(seller=seller_user, data=make_lead(phone="+14155550299"), source="api")
    assert _ids(again) == (Outcome.DUPLICATE, first.lead.pk)


@pytest.mark.django_db
def test_email_case_and_phone_formatting_do_not_evade_dedupe(seller_user, solar):
    first = lead_submit(seller=seller_user, data=make_lead(phone=None), source="api")
    again = lead_submit(
        seller=seller_user, data=make_lead(email=" Maria.Garcia@GMAIL.com ", phone="+1 415-555-2671"), source="api"
    )
    assert _ids(again) == (Outcome.DUPLICATE, first.lead.pk)


@pytest.mark.django_db
def test_another_sellers_submission_of_the_same_consumer_is_a_duplicate_without_naming_the_lead(seller_user, solar):
    from tests.factories import UserFactory

    lead_submit(seller=seller_user, data=make_lead(), source="api")
    again = lead_submit(seller=UserFactory(is_seller=True), data=make_lead(), source="api")
    assert _ids(again) == (Outcome.DUPLICATE, None)
    assert again.lead.duplicate_of_id is None and again.lead.rejection_detail == {"duplicate_of_another_seller": True}


@pytest.mark.django_db
def test_the_same_consumer_in_another_vertical_is_not_a_duplicate(seller_user, solar):
    vertical_upsert(slug="solar-commercial", name="Commercial Solar", parent=solar.parent, quality_floor=40)
    first = lead_submit(seller=seller_user, data=make_lead(), source="api")
    other = lead_submit(seller=seller_user, data=make_lead(vertical="solar-commercial"), source="api")
    assert first.outcome == Outcome.CREATED and other.outcome == Outcome.CREATED


@pytest.mark.django_db
def test_outside_the_dedupe_window_the_consumer_is_accepted_again(seller_user, solar):
    assert solar.dedupe_window_days == 30
    t0 = timezone.now() - timedelta(days=60)
    first = lead_submit(seller=seller_user, data=lead_at(t0), source="api", now=t0)
    assert first.outcome == Outcome.CREATED

    inside = t0 + timedelta(days=29, hours=23)
    assert _ids(lead_submit(seller=seller_user, data=lead_at(inside), source="api", now=inside)) == (
        Outcome.DUPLICATE,
        first.lead.pk,
    )

    outside = t0 + timedelta(days=30, seconds=1)
    again = lead_submit(seller=seller_user, data=lead_at(outside), source="api", now=outside)
    assert again.outcome == Outcome.CREATED and again.lead.pk != first.lead.pk


@pytest.mark.django_db
def test_a_shorter_vertical_window_is_honoured(seller_user, solar):
    solar.dedupe_window_days = 7
    solar.save(update_fields=["dedupe_window_days"])
    t0 = timezone.now() - timedelta(days=20)
    lead_submit(seller=seller_user, data=lead_at(t0), source="api", now=t0)
    later = t0 + timedelta(days=8)
    assert lead_submit(seller=seller_user, data=lead_at(later), source="api", now=later).outcome == Outcome.CREATED


@pytest.mark.django_db
def test_a_rejected_duplicate_is_not_itself_a_dedupe_anchor(seller_user, solar):
    """Only accepted leads anchor dedupe: after the window, the next is compared to nothing rejected."""
    t0 = timezone.now() - timedelta(days=60)
    lead_submit(seller=seller_user, data=lead_at(t0), source="api", now=t0)
    t1 = t0 + timedelta(days=20)
    assert lead_submit(seller=seller_user, data=lead_at(t1), source="api", now=t1).outcome == Outcome.DUPLICATE
    t2 = t0 + timedelta(days=31)  # within 30 days of the rejected one, outside the accepted one's window
    assert lead_submit(seller=seller_user, data=lead_at(t2), source="api", now=t2).outcome == Outcome.CREATED


def test_a_duplicate_of_another_sellers_lead_names_no_lead(seller_api, solar):
    from leads.services import lead_submit
    from tests.factories import UserFactory
    from tests.leads.conftest import make_lead

    first = lead_submit(seller=UserFactory(is_seller=True), data=make_lead(), source="api").lead
    response = seller_api.post("/api/v1/leads/", make_lead(), format="json")
    body = response.json()
    error = body["error"]
    assert response.status_code == 409 and error["code"] == "duplicate" and error["duplicate_of"] is None
    assert str(first.pk) not in error["message"]
    detail = seller_api.get(f"/api/v1/leads/{error['lead_id']}/").json()
    assert detail["duplicate_of"] is None and str(first.pk) not in str(detail["rejection_detail"])
