"""Set-based ingestion of a batch of leads (the API's bulk endpoint), one transaction per batch.

The rules are lead_submit's (leads/services.py), applied to the items in their order, so each
item gets the answer the one-by-one loop would give it; only the cost changes: a constant number
of queries per batch instead of ~8 per lead.

1. Every item is validated in Python first (check_lead_input, one SchemaCache for the batch).
2. In one transaction: the advisory locks of every contact of the batch in one statement, in the
   same sorted order as lead_submit's (so batches and single submits of the same contact
   serialize and never deadlock), then one query for the external_ids already submitted, one
   for the accepted leads of the window that share a phone or email with the batch, the daily
   cap reserved for the batch at once, ids drawn from the sequence in one query, and three
   INSERTs (leads, vault rows sealed with their lead's id as associated data, status changes).
3. On commit: the cap slots join the day's counter and leads_received is sent once with the
   accepted leads' ids (lead_submit sends lead_received per lead): one message queues the
   batch's scoring, which a worker fans out into a leads.score_lead task per lead.

PII rule as in leads/services.py: nothing here logs, raises or stores a contact in plain text.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from core.inserts import copy_insert
from leads import vault
from leads.caps import CapGrant, CapSlot, cap_commit_many, cap_release_many, cap_reserve_many
from leads.choices import ACCEPTED_STATUSES, LeadSource, LeadStatus, RejectionReason
from leads.models import Lead, LeadPII, LeadStatusChange
from leads.reputation import reputation_count_new_many
from leads.services import (
    IngestResult,
    Outcome,
    SchemaCache,
    _count,
    lead_columns,
    lead_input_check,
    lead_submit,
    lock_ids,
)
from leads.signals import leads_received
from leads.validation import CleanLead
from verticals.models import Vertical


@dataclass
class _Item:
    """A valid item of the batch, waiting for the transaction."""

    index: int  # its position in the request
    vertical: Vertical
    clean: CleanLead
    phone_hash: str
    email_hash: str

    @property
    def contact_keys(self) -> list[tuple[int, str, str]]:
        return [
            (self.vertical.pk, kind, value)
            for kind, value in (("phone", self.phone_hash), ("email", self.email_hash))
            if value
        ]


@dataclass
class _Decision:
    outcome: str
    existing: Lead | None = None  # EXISTING: the stored lead with this external_id
    existing_of: int | None = None  # EXISTING: the earlier item of the batch stored with it
    duplicate_of: int | None = None  # DUPLICATE of a stored lead (its id)
    duplicate_own: bool = True  # … of this seller (otherwise it is not named)
    duplicate_of_item: int | None = None  # DUPLICATE of an earlier accepted item of the batch


def lead_submit_many(
    *,
    seller,
    items: list,
    source: str = LeadSource.API,
    now: datetime | None = None,
    vertical: Vertical | None = None,
    schemas: SchemaCache | None = None,
) -> list[IngestResult]:
    """Bulk: one result per item, in order, as lead_submit would answer each in turn.

    The valid items are stored in one transaction (a failure stores none of them); `vertical`
    as in lead_submit (every item's own "vertical" slug otherwise).
    """
    schemas = schemas or SchemaCache()
    now = now or timezone.now()
    results: list[IngestResult | None] = [None] * len(items)
    pending: list[_Item] = []
    for index, data in enumerate(items):
        checked = lead_input_check(data, vertical=vertical, schemas=schemas, now=now)
        if isinstance(checked, IngestResult):
            results[index] = checked
            continue
        item_vertical, clean = checked
        phone_hash, email_hash = vault.keyed_hash("phone", clean.phone), vault.keyed_hash("email", clean.email)
        pending.append(_Item(index, item_vertical, clean, phone_hash, email_hash))
    counted: set[int] = set()
    if pending:
        stored = None
        if connection.vendor == "postgresql":
            try:
                stored = _store_batch(seller=seller, pending=pending, source=source, now=now)
            except IntegrityError:
                # An external_id of the batch committed meanwhile by a single submit: the batch
                # rolled back whole; the one-by-one path answers those items with that lead.
                stored = None
        if stored is None:
            for item in pending:
                results[item.index] = lead_submit(
                    seller=seller, data=items[item.index], source=source, vertical=vertical, schemas=schemas, now=now
                )
                counted.add(item.index)
        else:
            for item, result in zip(pending, stored, strict=True):
                results[item.index] = result
    return [result if index in counted else _count(source, result) for index, result in enumerate(results)]


def _advisory_lock_many(keys) -> None:
    """Every lock of the batch in one statement, taken in ascending order (the sorted subquery
    feeds the lock calls row by row), as lead_submit takes a single submit's: no cycle."""
    ids = lock_ids(keys)
    if not ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(k) FROM (SELECT k FROM unnest(%s::bigint[]) AS u(k) ORDER BY k) AS sorted",
            [ids],
        )


def _store_batch(*, seller, pending: list[_Item], source: str, now: datetime) -> list[IngestResult]:
    """Dedupe, cap and store the valid items of a batch; one result per item of `pending`."""
    reserved: list[CapSlot] = []
    done = False
    try:
        with transaction.atomic():
            _advisory_lock_many(
                [f"{item.vertical.pk}:{h}" for item in pending for h in (item.phone_hash, item.email_hash) if h]
                # Two batches inserting the same external_ids in crossed orders would wait on
                # each other's unique-index entries: they serialize here instead.
                + [f"external_id:{seller.pk}:{item.clean.external_id}" for item in pending if item.clean.external_id]
            )
            existing = _existing_by_external_id(seller=seller, pending=pending)
            first = _first_accepted(pending=pending, now=now)

            # Pass 1 counts the items that need a slot if every one gets it; the cap is reserved
            # for them at once. Pass 2 decides with the slots actually granted: an item whose
            # anchor was capped may need one more (rare: reserved then, one at a time).
            wanted: Counter = Counter()

            def count_slot(vertical_id: int) -> bool:
                wanted[vertical_id] += 1
                return True

            _plan(pending, seller_id=seller.pk, existing=existing, first=first, take_slot=count_slot)
            verticals = {item.vertical.pk: item.vertical for item in pending}
            grants: dict[int, CapGrant] = {}
            left: dict[int, list[CapSlot]] = {}
            for vertical_id, count in wanted.items():
                grants[vertical_id] = grant = cap_reserve_many(
                    seller=seller, vertical=verticals[vertical_id], now=now, count=count
                )
                reserved += grant.slots
                left[vertical_id] = list(reversed(grant.slots))
            used: list[CapSlot] = []
            exhausted = {vertical_id: len(grants[vertical_id].slots) < count for vertical_id, count in wanted.items()}

            def take_slot(vertical_id: int) -> bool:
                if not left.get(vertical_id):
                    if exhausted.get(vertical_id):
                        return False
                    grants[vertical_id] = grant = cap_reserve_many(
                        seller=seller, vertical=verticals[vertical_id], now=now, count=1
                    )
                    reserved.extend(grant.slots)
                    left[vertical_id] = list(grant.slots)
                    if not grant.slots:
                        exhausted[vertical_id] = True
                        return False
                used.append(left[vertical_id].pop())
                return True

            decisions = _plan(pending, seller_id=seller.pk, existing=existing, first=first, take_slot=take_slot)
            unused = [slot for slots in left.values() for slot in slots]
            if unused:
                cap_release_many(unused)
                reserved = list(used)
            results = _insert(
                seller=seller, pending=pending, decisions=decisions, grants=grants, source=source, now=now
            )
            created_ids = [r.lead.pk for r in results if r.outcome == Outcome.CREATED]
            if used:
                transaction.on_commit(lambda: cap_commit_many(used))
            if created_ids:
                transaction.on_commit(lambda: leads_received.send(sender=Lead, lead_ids=created_ids))
            done = True
    except BaseException:
        if not done and reserved:
            cap_release_many(reserved)
        raise
    return results


def _existing_by_external_id(*, seller, pending: list[_Item]) -> dict[str, Lead]:
    external_ids = {item.clean.external_id for item in pending if item.clean.external_id}
    if not external_ids:
        return {}
    return {lead.external_id: lead for lead in Lead.objects.filter(seller=seller, external_id__in=external_ids)}


def _first_accepted(*, pending: list[_Item], now: datetime) -> dict[tuple, tuple]:
    """(vertical id, "phone"|"email", hash) → (created_at, id, seller_id) of the first accepted
    lead with it in that vertical's dedupe window: one query for the whole batch."""
    contacts: dict[int, tuple[set, set, Vertical]] = {}
    for item in pending:
        phones, emails, _ = contacts.setdefault(item.vertical.pk, (set(), set(), item.vertical))
        if item.phone_hash:
            phones.add(item.phone_hash)
        if item.email_hash:
            emails.add(item.email_hash)
    condition = Q()
    for vertical_id, (phones, emails, vertical) in contacts.items():
        contact = Q()
        # "<> ''" as in the partial indexes' predicate, so the planner can use them whatever the list's length.
        if phones:
            contact |= Q(phone_hash__in=sorted(phones)) & ~Q(phone_hash="")
        if emails:
            contact |= Q(email_hash__in=sorted(emails)) & ~Q(email_hash="")
        if contact:
            window_start = now - timedelta(days=vertical.dedupe_window_days)
            condition |= Q(vertical_id=vertical_id, created_at__gte=window_start) & contact
    if not condition:  # no contact at all: nothing to dedupe on (an empty Q would match every lead)
        return {}
    rows = (
        Lead.objects.filter(condition, status__in=ACCEPTED_STATUSES)
        .order_by("created_at", "id")
        .values_list("pk", "seller_id", "vertical_id", "phone_hash", "email_hash", "created_at")
    )
    first: dict[tuple, tuple] = {}
    for pk, seller_id, vertical_id, phone_hash, email_hash, created_at in rows:
        for kind, value in (("phone", phone_hash), ("email", email_hash)):
            if value:
                first.setdefault((vertical_id, kind, value), (created_at, pk, seller_id))
    return first


def _plan(pending: list[_Item], *, seller_id: int, existing: dict, first: dict, take_slot) -> list[_Decision]:
    """lead_submit's decisions for each item in turn, the earlier items of the batch counting as
    stored: an external_id already seen answers with that lead, a contact of an accepted earlier
    item is a duplicate of it (the first one wins), and only an item to accept takes a slot."""
    decisions: list[_Decision] = []
    stored_external: dict[str, int] = {}
    anchors: dict[tuple, int] = {}
    for position, item in enumerate(pending):
        external_id = item.clean.external_id
        if external_id and external_id in existing:
            decisions.append(_Decision(Outcome.EXISTING, existing=existing[external_id]))
            continue
        if external_id and external_id in stored_external:
            decisions.append(_Decision(Outcome.EXISTING, existing_of=stored_external[external_id]))
            continue
        keys = item.contact_keys
        stored = min((first[k] for k in keys if k in first), default=None)
        if stored is not None:
            _, lead_id, lead_seller_id = stored
            decision = _Decision(Outcome.DUPLICATE, duplicate_of=lead_id, duplicate_own=lead_seller_id == seller_id)
        else:
            earlier = min((anchors[k] for k in keys if k in anchors), default=None)
            if earlier is not None:
                decision = _Decision(Outcome.DUPLICATE, duplicate_of_item=earlier)
            elif take_slot(item.vertical.pk):
                decision = _Decision(Outcome.CREATED)
                for key in keys:
                    anchors.setdefault(key, position)
            else:
                decisions.append(_Decision(Outcome.CAPPED))
                continue
        if external_id:
            stored_external[external_id] = position
        decisions.append(decision)
    return decisions


def _next_ids(count: int) -> list[int]:
    """Lead ids drawn ahead from the table's sequence (one query), so that duplicates can name
    earlier items of the batch and each vault blob is sealed with its lead's id before the INSERT."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [Lead._meta.db_table, count],
        )
        return sorted(row[0] for row in cursor.fetchall())


def _insert(
    *, seller, pending: list[_Item], decisions: list[_Decision], grants: dict, source: str, now: datetime
) -> list[IngestResult]:
    stored = [p for p, d in enumerate(decisions) if d.outcome in (Outcome.CREATED, Outcome.DUPLICATE)]
    id_of = dict(zip(stored, _next_ids(len(stored)) if stored else [], strict=True))
    leads: dict[int, Lead] = {}
    results: list[IngestResult | None] = [None] * len(pending)
    changes: list[LeadStatusChange] = []
    sealed: list[tuple[dict, str]] = []
    for position in stored:
        item, decision, lead_id = pending[position], decisions[position], id_of[position]
        if decision.outcome == Outcome.CREATED:
            lead = _lead(item, lead_id=lead_id, seller=seller, source=source, now=now)
            sealed.append((item.clean.pii, str(lead_id)))
            changes.append(LeadStatusChange(lead_id=lead_id, to_status=LeadStatus.RECEIVED, reason=f"via {source}"))
            results[position] = IngestResult(Outcome.CREATED, lead=lead)
        else:
            if decision.duplicate_of_item is not None:
                first_id, own = id_of[decision.duplicate_of_item], True
            else:
                first_id, own = decision.duplicate_of, decision.duplicate_own
            window = f"the same phone or email in this vertical within {item.vertical.dedupe_window_days} days"
            message = f"Duplicate of your lead {first_id}: {window}." if own else f"Duplicate: {window}."
            lead = _lead(
                item,
                lead_id=lead_id,
                seller=seller,
                source=source,
                now=now,
                status=LeadStatus.REJECTED,
                rejection_reason=RejectionReason.DUPLICATE,
                rejection_detail={"duplicate_of": first_id} if own else {"duplicate_of_another_seller": True},
                duplicate_of_id=first_id if own else None,
            )
            reason = f"duplicate of lead {first_id}" if own else "duplicate"
            changes.append(LeadStatusChange(lead_id=lead_id, to_status=LeadStatus.REJECTED, reason=reason[:300]))
            results[position] = IngestResult(
                Outcome.DUPLICATE,
                lead=lead,
                duplicate_of_id=first_id if own else None,
                errors={"non_field_errors": [message]},
            )
        leads[position] = lead
    copy_insert(leads.values())
    copy_insert(
        LeadPII(lead_id=int(context), key_id=key_id, ciphertext=blob)
        for (_, context), (key_id, blob) in zip(sealed, vault.seal_many(sealed) if sealed else [], strict=True)
    )
    copy_insert(changes)
    reputation_count_new_many(leads=leads.values())
    for position, decision in enumerate(decisions):
        if decision.outcome == Outcome.EXISTING:
            lead = decision.existing if decision.existing is not None else leads[decision.existing_of]
            results[position] = IngestResult(Outcome.EXISTING, lead=lead)
        elif decision.outcome == Outcome.CAPPED:
            grant = grants[pending[position].vertical.pk]
            results[position] = IngestResult(
                Outcome.CAPPED,
                cap=grant.cap,
                cap_resets_at=grant.resets_at,
                errors={
                    "non_field_errors": [
                        f"Daily cap of {grant.cap} leads for this vertical reached; "
                        f"it resets at {grant.resets_at:%Y-%m-%d %H:%M} UTC."
                    ]
                },
            )
    return results


def _lead(
    item: _Item,
    *,
    lead_id: int,
    seller,
    source: str,
    now: datetime,
    status: str = LeadStatus.RECEIVED,
    **rejection,
) -> Lead:
    columns = lead_columns(
        clean=item.clean,
        vertical=item.vertical,
        seller=seller,
        source=source,
        phone_hash=item.phone_hash,
        email_hash=item.email_hash,
        now=now,
    )
    return Lead(**columns, id=lead_id, status=status, **rejection)
