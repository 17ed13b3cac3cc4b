"""The set-based bulk path (leads/bulk.py): the one-by-one loop's answers at a constant query count."""

import re

import pytest
from cryptography.exceptions import InvalidTag
from django.db import connection, transaction
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.metrics import REGISTRY
from leads import services, vault
from leads.bulk import lead_submit_many
from leads.caps import cap_used
from leads.choices import LeadStatus, RejectionReason
from leads.models import Lead, LeadPII, LeadStatusChange
from leads.services import Outcome, lead_submit, lock_ids
from leads.signals import leads_received
from tests.concurrency import run_threads
from tests.factories import UserFactory
from tests.leads.conftest import make_lead
from tests.leads.test_caps import cap_key

pytestmark = pytest.mark.django_db


class WorkerKilled(BaseException):
    """Stands in for SIGKILL: nothing in the batch may catch it."""


def person(i: int, **overrides) -> dict:
    return make_lead(**{"email": f"bulk{i}@gmail.com", "phone": f"+1415555{2000 + i:04d}", **overrides})


def outcomes(results) -> list[str]:
    return [r.outcome for r in results]


def test_a_batch_with_duplicates_inside_it_and_against_existing_leads(seller_user, solar):
    mine = lead_submit(seller=seller_user, data=person(0), source="api").lead
    theirs = lead_submit(seller=UserFactory(is_seller=True), data=person(1), source="api").lead
    items = [
        person(2),
        person(0),  # a duplicate of my stored lead
        person(1),  # a duplicate of another seller's lead: not named
        person(3),
        person(2, phone="+14155559999"),  # same email as item 0 of this batch
        person(4, email="bulk3@gmail.com"),  # same email as item 3
        person(5),
        person(5),  # an exact repeat inside the batch
    ]
    results = lead_submit_many(seller=seller_user, items=items)

    assert outcomes(results) == [
        Outcome.CREATED,
        Outcome.DUPLICATE,
        Outcome.DUPLICATE,
        Outcome.CREATED,
        Outcome.DUPLICATE,
        Outcome.DUPLICATE,
        Outcome.CREATED,
        Outcome.DUPLICATE,
    ]
    first_of = {1: mine.pk, 4: results[0].lead.pk, 5: results[3].lead.pk, 7: results[6].lead.pk}
    window = "the same phone or email in this vertical within 30 days"
    for index, first in first_of.items():
        dup = results[index]
        assert dup.duplicate_of_id == first
        assert dup.errors == {"non_field_errors": [f"Duplicate of your lead {first}: {window}."]}
        assert (dup.lead.status, dup.lead.rejection_reason) == (LeadStatus.REJECTED, RejectionReason.DUPLICATE)
        assert dup.lead.rejection_detail == {"duplicate_of": first} and dup.lead.duplicate_of_id == first
        assert [(c.to_status, c.reason) for c in dup.lead.history.all()] == [
            (LeadStatus.REJECTED, f"duplicate of lead {first}")
        ]
    other = results[2]
    assert other.duplicate_of_id is None and str(theirs.pk) not in str(other.errors)
    assert other.errors == {"non_field_errors": [f"Duplicate: {window}."]}
    assert other.lead.rejection_detail == {"duplicate_of_another_seller": True} and other.lead.duplicate_of_id is None
    assert [(c.to_status, c.reason) for c in other.lead.history.all()] == [(LeadStatus.REJECTED, "duplicate")]
    # Stored in the request's order; only accepted leads have contact details in the vault.
    ids = [r.lead.pk for r in results]
    assert ids == sorted(ids)
    accepted = [r.lead.pk for r in results if r.outcome == Outcome.CREATED]
    assert sorted(LeadPII.objects.exclude(lead__in=[mine, theirs]).values_list("lead_id", flat=True)) == accepted
    assert Lead.objects.filter(status=LeadStatus.RECEIVED, seller=seller_user).count() == 1 + 3


def test_a_batch_stores_what_the_single_path_stores(seller_user, solar):
    single = lead_submit(seller=seller_user, data=person(1, external_id="s-1", campaign="c"), source="api").lead
    batch = lead_submit_many(seller=seller_user, items=[person(2, external_id="b-1", campaign="c")])[0].lead
    single.refresh_from_db()
    batch.refresh_from_db()
    differ = {"id", "external_id", "phone_hash", "email_hash", "consent_at", "created_at", "updated_at"}
    assert {k: v for k, v in model_to_dict(single).items() if k not in differ} == {
        k: v for k, v in model_to_dict(batch).items() if k not in differ
    }
    assert (batch.status, batch.phone_hash) == (LeadStatus.RECEIVED, vault.keyed_hash("phone", "+14155552002"))
    # Sealed under the active key with the lead's own id bound: it opens for that id only.
    pii = LeadPII.objects.get(lead=batch)
    opened = vault.open_sealed(key_id=pii.key_id, blob=pii.ciphertext, context=str(batch.pk))
    assert opened["email"] == "bulk2@gmail.com" and opened["first_name"] == "Maria"
    assert b"bulk2" not in bytes(pii.ciphertext)
    with pytest.raises(InvalidTag):
        vault.open_sealed(key_id=pii.key_id, blob=pii.ciphertext, context=str(single.pk))
    assert [(c.from_status, c.to_status, c.reason) for c in batch.history.all()] == [
        ("", LeadStatus.RECEIVED, "via api")
    ]


def test_external_ids_are_answered_as_the_loop_answers_them(seller_user, solar):
    stored = lead_submit(seller=seller_user, data=person(0, external_id="e-0"), source="api").lead
    items = [
        person(1, external_id="e-0"),  # already submitted
        person(2, external_id="e-2"),
        person(3, external_id="e-2"),  # submitted by item 1 of this very batch
        person(2, external_id="e-4"),  # a duplicate, recorded under its external_id
        person(5, external_id="e-4"),  # … which answers with that rejected lead
    ]
    results = lead_submit_many(seller=seller_user, items=items)
    assert outcomes(results) == [
        Outcome.EXISTING,
        Outcome.CREATED,
        Outcome.EXISTING,
        Outcome.DUPLICATE,
        Outcome.EXISTING,
    ]
    assert results[0].lead.pk == stored.pk and results[0].accepted
    assert results[2].lead.pk == results[1].lead.pk and results[2].accepted
    assert results[4].lead.pk == results[3].lead.pk and not results[4].accepted
    assert Lead.objects.filter(seller=seller_user).count() == 3


def test_a_batch_crossing_the_daily_cap(seller_user, solar):
    solar.daily_cap_per_seller = 3
    solar.save(update_fields=["daily_cap_per_seller"])
    assert lead_submit(seller=seller_user, data=person(0), source="api").outcome == Outcome.CREATED
    items = [
        person(1),
        person(1),  # a duplicate takes no slot
        person(2),
        person(3, external_id="x-3"),
        person(3),  # its contact was capped, not stored: capped too, not a duplicate
        person(4, external_id="x-3"),  # its external_id was capped, not stored: capped too
        person(5, phone="12"),  # invalid stays invalid
    ]
    results = lead_submit_many(seller=seller_user, items=items)
    assert outcomes(results) == [
        Outcome.CREATED,
        Outcome.DUPLICATE,
        Outcome.CREATED,
        Outcome.CAPPED,
        Outcome.CAPPED,
        Outcome.CAPPED,
        Outcome.INVALID,
    ]
    capped = results[3]
    assert capped.lead is None and capped.cap == 3 and capped.cap_resets_at > timezone.now()
    assert capped.errors["non_field_errors"][0].startswith("Daily cap of 3 leads for this vertical reached; it resets")
    assert cap_used(seller=seller_user, vertical=solar, now=timezone.now()) == 3
    assert Lead.objects.exclude(rejection_reason=RejectionReason.DUPLICATE).count() == 3
    # The next single submission finds the cap used up.
    assert lead_submit(seller=seller_user, data=person(9), source="api").outcome == Outcome.CAPPED


@pytest.mark.django_db(transaction=True)  # the counter counts committed leads
def test_a_committed_batch_joins_the_days_counter_and_is_announced_once_for_scoring(seller_user, solar):
    from django.core.cache import cache

    solar.daily_cap_per_seller = 4
    solar.save(update_fields=["daily_cap_per_seller"])
    announced = []

    def receiver(*, lead_ids, **kwargs):
        announced.append(lead_ids)

    leads_received.connect(receiver, dispatch_uid="test_bulk.announced")
    try:
        results = lead_submit_many(seller=seller_user, items=[person(i) for i in range(6)])
    finally:
        leads_received.disconnect(dispatch_uid="test_bulk.announced")
    assert outcomes(results) == [Outcome.CREATED] * 4 + [Outcome.CAPPED] * 2
    assert announced == [[r.lead.pk for r in results[:4]]]  # once, for the batch
    # The pipeline took them (tasks run in process here): each was scored once.
    assert {lead.status for lead in Lead.objects.all()} <= {LeadStatus.SCORED, LeadStatus.LISTED, LeadStatus.REJECTED}
    assert all(lead.scored_at is not None for lead in Lead.objects.all())
    assert cache.get(cap_key(seller_user, solar)) == 4
    assert cap_used(seller=seller_user, vertical=solar, now=timezone.now()) == 4  # no pending left


@pytest.mark.django_db(transaction=True)
def test_a_batch_that_fails_stores_nothing_and_gives_its_slots_back_at_once(seller_user, solar, monkeypatch):
    solar.daily_cap_per_seller = 3
    solar.save(update_fields=["daily_cap_per_seller"])

    def dying_seal(items):
        raise WorkerKilled  # after the slots were reserved, before the INSERTs

    monkeypatch.setattr(vault, "seal_many", dying_seal)
    with pytest.raises(WorkerKilled):
        lead_submit_many(seller=seller_user, items=[person(i) for i in range(3)])
    monkeypatch.undo()
    assert not Lead.objects.exists()
    assert cap_used(seller=seller_user, vertical=solar, now=timezone.now()) == 0
    results = lead_submit_many(seller=seller_user, items=[person(i) for i in range(4)])
    assert outcomes(results) == [Outcome.CREATED] * 3 + [Outcome.CAPPED]


@pytest.mark.django_db(transaction=True)
def test_a_batch_inside_a_transaction_that_rolls_back_keeps_no_slot(seller_user, solar, settings):
    settings.LEAD_CAP_LEASE_SECONDS = 0  # as for single submits, the lease returns them: no waiting in a test
    solar.daily_cap_per_seller = 3
    solar.save(update_fields=["daily_cap_per_seller"])
    with pytest.raises(RuntimeError), transaction.atomic():
        assert (
            outcomes(lead_submit_many(seller=seller_user, items=[person(i) for i in range(3)])) == [Outcome.CREATED] * 3
        )
        raise RuntimeError("the chunk failed after the batch")
    assert not Lead.objects.exists()
    assert cap_used(seller=seller_user, vertical=solar, now=timezone.now()) == 0


def test_each_outcome_is_counted_once_in_the_metrics(seller_user, solar):
    def sample(outcome):
        return REGISTRY.get_sample_value("leadengine_leads_ingested_total", {"source": "api", "outcome": outcome}) or 0

    before = {o: sample(o) for o in (Outcome.CREATED, Outcome.DUPLICATE, Outcome.INVALID)}
    lead_submit_many(seller=seller_user, items=[person(1), person(1), person(2, phone="12"), "x"])
    assert {o: sample(o) - before[o] for o in before} == {Outcome.CREATED: 1, Outcome.DUPLICATE: 1, Outcome.INVALID: 2}


def test_the_batch_locks_the_same_ids_as_a_single_submission(seller_user, solar):
    keys = ["7:abc", "7:def", "8:abc"]
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        services._lock_contacts_and_draw_id(*keys)
    taken = [
        int(n) for q in queries.captured_queries for n in re.findall(r"pg_advisory_xact_lock\(\s*(-?\d+)\)", q["sql"])
    ]
    assert taken == lock_ids(keys)


def test_a_500_lead_batch_costs_a_constant_number_of_queries(seller_user, solar, django_assert_max_num_queries):
    solar.daily_cap_per_seller = 2000
    solar.save(update_fields=["daily_cap_per_seller"])
    lead_submit(seller=seller_user, data=person(999, external_id="old"), source="api")
    items = [person(i, external_id=f"n-{i}") for i in range(498)] + [person(0), person(998, external_id="old")]
    # The vertical and its schema (3), the savepoint and its release (2), the locks, the
    # external_ids, the dedupe, the seller's caps, the day's count to seed the cap counter
    # when it is not in Redis yet, the ids, and three COPYs (core.inserts.copy_insert).
    with django_assert_max_num_queries(14):
        results = lead_submit_many(seller=seller_user, items=items)
    assert outcomes(results) == [Outcome.CREATED] * 498 + [Outcome.DUPLICATE, Outcome.EXISTING]
    with CaptureQueriesContext(connection) as one:
        lead_submit_many(seller=seller_user, items=[person(1000, external_id="n-1000")])
    with CaptureQueriesContext(connection) as many:
        lead_submit_many(seller=seller_user, items=[person(i, external_id=f"n-{i}") for i in range(1001, 1500)])
    assert len(many) == len(one)
    assert Lead.objects.filter(status=LeadStatus.RECEIVED).count() == 1 + 498 + 1 + 499
    assert LeadStatusChange.objects.count() == Lead.objects.count()


@pytest.mark.django_db(transaction=True)
def test_batches_racing_single_submits_of_the_same_contacts_accept_each_contact_once(seller_user, solar):
    contacts = list(range(20))
    batch = [person(i) for i in contacts] + [person(100 + i) for i in range(30)]

    def submit(i: int):
        if i == 0:
            return lead_submit_many(seller=seller_user, items=batch)
        if i == 1:  # the same contacts in the opposite order, and other fillers
            return lead_submit_many(seller=seller_user, items=[person(200 + i) for i in range(10)] + batch[::-1])
        return [lead_submit(seller=seller_user, data=person(c), source="api") for c in contacts[i % 4 :: 4]]

    results = run_threads(6, submit)
    assert not [r for r in results if isinstance(r, BaseException)], results
    for i in contacts + [100 + i for i in range(30)]:
        accepted = Lead.objects.filter(phone_hash=vault.keyed_hash("phone", f"+1415555{2000 + i:04d}")).exclude(
            status=LeadStatus.REJECTED
        )
        assert accepted.count() == 1, i
    created = [r.lead.pk for batch_results in results for r in batch_results if r.outcome == Outcome.CREATED]
    assert len(created) == len(set(created)) == 20 + 30 + 10
    assert LeadPII.objects.count() == 60


def test_a_batch_counts_its_duplicates_in_the_sellers_reputation_like_single_submits(seller_user, solar):
    from leads.models import SellerReputationDay

    lead_submit(seller=seller_user, data=person(0), source="api")
    results = lead_submit_many(seller=seller_user, items=[person(0), person(1), person(1), person(2)])
    assert outcomes(results) == ["duplicate", "created", "duplicate", "created"]
    row = SellerReputationDay.objects.get(seller_id=seller_user.pk)
    assert (row.good, row.bad) == (0, 2)  # received leads count only once scored
