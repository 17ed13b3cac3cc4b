"""Writes for leads: ingestion (every channel), dedupe, caps, status changes, scoring.

PII rule: nothing here logs, raises or stores in plain text a consumer's name, email, phone
or street address. They go to the vault (LeadPII) and become keyed hashes on the lead.
"""

import hashlib
import logging
import re
import secrets
import struct
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import BooleanField, ExpressionWrapper, Q, Value
from django.utils import timezone

from core import correlation
from core.errors import NotFoundError
from core.inserts import insert_together, next_id_sql
from leads import vault
from leads.caps import CapExceeded, cap_release, cap_reserve
from leads.choices import ACCEPTED_STATUSES, TRANSITIONS, LeadStatus, RejectionReason
from leads.listing import lead_list_now
from leads.metrics import LEADS_INGESTED, SCORING_SECONDS
from leads.models import Lead, LeadPII, LeadStatusChange, SellerFormToken
from leads.reputation import lead_outcome, reputation_count_change, reputation_count_new
from leads.scoring import compute_score
from leads.selectors import lead_pii_read
from leads.seller_reputation import dispute_decision_counts, seller_reputation_move
from leads.signals import lead_received, lead_scored
from leads.validation import CleanLead, LeadInvalid, check_lead_input
from verticals.choices import VerticalStatus
from verticals.models import Vertical
from verticals.selectors import vertical_by_slug_cached, vertical_schema_cached

logger = logging.getLogger(__name__)

# Vertical slugs are ASCII slugs; anything else (NUL, unpaired surrogates) must not reach a query.
_SLUG = re.compile(r"^[-a-zA-Z0-9_]{1,80}\Z")


class Outcome:
    CREATED = "created"
    EXISTING = "existing"  # the seller's external_id was already submitted
    DUPLICATE = "duplicate"
    INVALID = "invalid"
    CAPPED = "capped"


UNKNOWN_VERTICAL = "Unknown vertical."


@dataclass
class IngestResult:
    outcome: str
    lead: Lead | None = None
    errors: dict = field(default_factory=dict)
    duplicate_of_id: int | None = None
    cap: int | None = None
    cap_resets_at: datetime | None = None

    @property
    def accepted(self) -> bool:
        # An external_id resubmission is accepted only when that first submission was.
        if self.outcome == Outcome.EXISTING:
            return self.lead is not None and self.lead.status != LeadStatus.REJECTED
        return self.outcome == Outcome.CREATED


class SchemaCache:
    """Effective schemas by vertical slug for one request or import (bulk shares them), read
    through the process-wide memo of verticals.selectors (no query while it is warm)."""

    def __init__(self):
        self._verticals: dict[str, Vertical | None] = {}

    def vertical(self, slug) -> Vertical | None:
        if not isinstance(slug, str) or not _SLUG.match(slug):
            return None
        if slug not in self._verticals:
            self._verticals[slug] = vertical_by_slug_cached(slug=slug)
        return self._verticals[slug]

    def schema(self, vertical: Vertical) -> list:
        return vertical_schema_cached(vertical_id=vertical.pk)


def lock_ids(keys) -> list[int]:
    """The advisory lock ids of contact keys, sorted (both intake paths lock by these)."""
    return sorted({struct.unpack(">q", hashlib.sha256(k.encode()).digest()[:8])[0] for k in keys if k})


def _lock_contacts_and_draw_id(*keys: str) -> int | None:
    """Serialize transactions that dedupe on the same contact, and draw the id of the lead about
    to be stored, in one statement (PostgreSQL; SQLite serializes writers and numbers on insert)."""
    if connection.vendor != "postgresql":
        return None
    ids = lock_ids(keys)
    # PostgreSQL evaluates a select list left to right, so the locks are taken in sorted order:
    # two transactions never wait on each other in a cycle.
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join([next_id_sql(Lead)] + ["pg_advisory_xact_lock(%s)"] * len(ids)), ids)
        return cursor.fetchone()[0]


def _status_change(lead: Lead, to_status: str, reason: str = "", from_status: str = "") -> LeadStatusChange:
    return LeadStatusChange(lead=lead, from_status=from_status, to_status=to_status, reason=reason[:300])


def _record_status(lead: Lead, to_status: str, reason: str = "", from_status: str = "") -> LeadStatusChange:
    change = _status_change(lead, to_status, reason, from_status)
    change.save(force_insert=True)
    return change


def lead_input_check(data, *, vertical: Vertical | None, schemas: SchemaCache, now: datetime):
    """(vertical, CleanLead) for a valid submission, else its INVALID result: the checks every
    intake path runs before storing (lead_submit here, lead_submit_many in leads.bulk)."""
    if not isinstance(data, dict):
        return IngestResult(Outcome.INVALID, errors={"non_field_errors": ["Each lead must be a JSON object."]})
    if vertical is None:
        vertical = schemas.vertical(data.get("vertical"))
        if vertical is None:
            return IngestResult(Outcome.INVALID, errors={"vertical": [UNKNOWN_VERTICAL]})
    if vertical.status != VerticalStatus.ACTIVE:
        return IngestResult(Outcome.INVALID, errors={"vertical": ["This vertical is not accepting leads."]})
    try:
        clean = check_lead_input(data, schema=schemas.schema(vertical), now=now, allow_keys={"vertical"})
    except LeadInvalid as exc:
        return IngestResult(Outcome.INVALID, errors=exc.errors)
    return vertical, clean


def lead_submit(
    *,
    seller,
    data,
    source: str,
    vertical: Vertical | None = None,
    schemas: SchemaCache | None = None,
    now: datetime | None = None,
) -> IngestResult:
    """Validate, dedupe, cap and store one lead; queue its scoring on commit.

    `data` is the submitted object (see leads/validation.py); its "vertical" slug is used
    unless `vertical` is given (hosted forms, CSV imports).
    """
    schemas = schemas or SchemaCache()
    now = now or timezone.now()
    checked = lead_input_check(data, vertical=vertical, schemas=schemas, now=now)
    if isinstance(checked, IngestResult):
        return _count(source, checked)
    vertical, clean = checked
    try:
        result = _store(seller=seller, vertical=vertical, clean=clean, source=source, now=now)
    except IntegrityError:
        # The same external_id committed concurrently: answer with that lead.
        existing = (
            Lead.objects.filter(seller=seller, external_id=clean.external_id).first() if clean.external_id else None
        )
        if existing is None:
            raise
        result = IngestResult(Outcome.EXISTING, lead=existing)
    return _count(source, result)


def _count(source: str, result: IngestResult) -> IngestResult:
    LEADS_INGESTED.labels(source=source, outcome=result.outcome).inc()
    if result.outcome != Outcome.EXISTING:
        logger.info(
            "lead submission",
            extra={
                "outcome": result.outcome,
                "source": source,
                "lead_id": result.lead.pk if result.lead else None,
                "vertical_id": result.lead.vertical_id if result.lead else None,
                "error_fields": ",".join(sorted(result.errors)) if result.errors else None,
            },
        )
    return result


def lead_columns(*, clean: CleanLead, vertical, seller, source: str, phone_hash: str, email_hash: str, now) -> dict:
    """A new lead's columns from its checked input: the one mapping both intake paths store
    (lead_submit here, lead_submit_many in leads.bulk)."""
    return dict(
        vertical=vertical,
        seller=seller,
        source=source,
        campaign=clean.campaign,
        sub_id=clean.sub_id,
        external_id=clean.external_id,
        country=clean.country,
        state=clean.state,
        zip=clean.zip,
        city=clean.city,
        fields=clean.fields,
        consent_text=clean.consent_text,
        consent_at=clean.consent_at,
        consent_ip=clean.consent_ip,
        consent_user_agent=clean.consent_user_agent,
        consent_page_url=clean.consent_page_url,
        consent_certificate_url=clean.consent_certificate_url,
        has_phone=bool(clean.phone),
        has_email=bool(clean.email),
        phone_type=clean.phone_type,
        phone_hash=phone_hash,
        email_hash=email_hash,
        correlation_id=correlation.get() or "",
        created_at=now,
    )


def _store(*, seller, vertical: Vertical, clean: CleanLead, source: str, now: datetime) -> IngestResult:
    phone_hash = vault.keyed_hash("phone", clean.phone)
    email_hash = vault.keyed_hash("email", clean.email)
    common = lead_columns(
        clean=clean,
        vertical=vertical,
        seller=seller,
        source=source,
        phone_hash=phone_hash,
        email_hash=email_hash,
        now=now,
    )
    slot = None
    try:
        with transaction.atomic():
            lead_id = _lock_contacts_and_draw_id(*(f"{vertical.pk}:{h}" for h in (phone_hash, email_hash) if h))
            window_start = now - timedelta(days=vertical.dedupe_window_days)
            contact = Q()
            if phone_hash:
                contact |= Q(phone_hash=phone_hash)
            if email_hash:
                contact |= Q(email_hash=email_hash)
            # One query answers both questions: was this external_id already submitted (that lead
            # first), else which accepted lead in the window has the same contact. An empty Q()
            # would match every lead: without a contact there is nothing to dedupe on.
            match, resubmitted = Q(), Value(False)
            if contact:
                match |= Q(contact, vertical=vertical, status__in=ACCEPTED_STATUSES, created_at__gte=window_start)
            if clean.external_id:
                match |= Q(seller=seller, external_id=clean.external_id)
                resubmitted = ExpressionWrapper(
                    Q(seller=seller, external_id=clean.external_id), output_field=BooleanField()
                )
            first = (
                Lead.objects.filter(match)
                .annotate(resubmitted=resubmitted)
                .order_by("-resubmitted", "created_at", "id")
                .values_list("pk", "seller_id", "resubmitted")
                .first()
                if match
                else None
            )
            if first is not None and first[2]:
                return IngestResult(Outcome.EXISTING, lead=Lead.objects.get(pk=first[0]))
            if first is not None:
                first_id, first_seller_id, _ = first
                # Another seller's lead is neither named nor linked: ids would reveal its volume,
                # and a named match would let anyone probe whether a contact is already a lead.
                own = first_seller_id == seller.pk
                window = f"the same phone or email in this vertical within {vertical.dedupe_window_days} days"
                message = f"Duplicate of your lead {first_id}: {window}." if own else f"Duplicate: {window}."
                # Recorded (without PII) so the seller sees it and scoring sees the history.
                lead = Lead(
                    **common,
                    id=lead_id,
                    status=LeadStatus.REJECTED,
                    rejection_reason=RejectionReason.DUPLICATE,
                    rejection_detail={"duplicate_of": first_id} if own else {"duplicate_of_another_seller": True},
                    duplicate_of_id=first_id if own else None,
                )
                reason = f"duplicate of lead {first_id}" if own else "duplicate"
                insert_together(lead, _status_change(lead, LeadStatus.REJECTED, reason))
                reputation_count_new(lead=lead)
                return IngestResult(
                    Outcome.DUPLICATE,
                    lead=lead,
                    duplicate_of_id=first_id if own else None,
                    errors={"non_field_errors": [message]},
                )
            slot = cap_reserve(seller=seller, vertical=vertical, now=now)
            lead = Lead(**common, id=lead_id, status=LeadStatus.RECEIVED)
            if lead_id is None:  # SQLite: the id comes from the insert, and the vault needs it
                lead.save(force_insert=True)
            key_id, blob = vault.seal(clean.pii, context=str(lead.pk))
            pii = LeadPII(lead=lead, key_id=key_id, ciphertext=blob)
            change = _status_change(lead, LeadStatus.RECEIVED, f"via {source}")
            insert_together(*([lead] if lead_id is not None else []), pii, change)
            lead_id = lead.pk
            transaction.on_commit(lambda: lead_received.send(sender=Lead, lead_id=lead_id))
    except CapExceeded as exc:
        return IngestResult(
            Outcome.CAPPED,
            cap=exc.cap,
            cap_resets_at=exc.resets_at,
            errors={
                "non_field_errors": [
                    f"Daily cap of {exc.cap} leads for this vertical reached; "
                    f"it resets at {exc.resets_at:%Y-%m-%d %H:%M} UTC."
                ]
            },
        )
    except BaseException:
        if slot is not None:
            cap_release(slot)
        raise
    return IngestResult(Outcome.CREATED, lead=lead)


# ---------------------------------------------------------------- status and scoring


def lead_transition(*, lead: Lead, to_status: str, reason: str = "", **changes) -> Lead:
    """Move a lead to another status (caller holds select_for_update on the lead); the seller's
    reputation rollup follows in the same transaction, and a sale (to SOLD) adds to the seller's
    reputation in the lead's vertical (leads.seller_reputation: its row stays locked until the
    transaction ends, so sell last)."""
    if to_status not in TRANSITIONS[LeadStatus(lead.status)]:
        raise ValueError(f"A {lead.status} lead cannot become {to_status}.")
    from_status, was = lead.status, lead_outcome(status=lead.status, rejection_reason=lead.rejection_reason)
    lead.status = to_status
    for name, value in changes.items():
        setattr(lead, name, value)
    lead.save(update_fields=["status", "updated_at", *changes])
    change = _record_status(lead, to_status, reason, from_status)
    reputation_count_change(lead=lead, was=was)
    if to_status == LeadStatus.SOLD and from_status != LeadStatus.SOLD:
        # The sale's time is its status change's, as the rebuild reads it back from the history.
        seller_reputation_move(seller_id=lead.seller_id, vertical_id=lead.vertical_id, sales=1, now=change.at)
    return lead


@transaction.atomic
def lead_score(*, lead_id: int, list_now: bool = False) -> Lead | None:
    """The leads.score stage: score a received lead once; below the floor it is rejected.
    list_now (the stage's task): an accepted lead is listed in the same transaction when the
    listing app can (leads.listing), else on commit it goes to the listing stage's queue."""
    # NO KEY UPDATE: a duplicate of this lead being stored checks its duplicate_of key (KEY SHARE)
    # at commit while holding the seller's reputation counter, which this transaction moves too.
    # The vertical's ancestors and the PII come in the same query (the schema and field
    # completeness need them).
    lead = (
        Lead.objects.select_for_update(of=("self",), no_key=True)
        .select_related("vertical__parent__parent", "pii")
        .filter(pk=lead_id)
        .first()
    )
    if lead is None or lead.status != LeadStatus.RECEIVED:
        return lead  # already scored (a redelivered task) or gone
    with SCORING_SECONDS.time():
        schema = vertical_schema_cached(vertical_id=lead.vertical_id)
        score, breakdown = compute_score(lead, schema=schema)
    floor = lead.vertical.quality_floor
    common = {"quality_score": score, "score_breakdown": breakdown, "scored_at": timezone.now()}
    if score < floor:
        lead_transition(
            lead=lead,
            to_status=LeadStatus.REJECTED,
            reason=f"score {score} below floor {floor}",
            rejection_reason=RejectionReason.LOW_QUALITY,
            rejection_detail={"score": score, "floor": floor},
            **common,
        )
    else:
        lead_transition(lead=lead, to_status=LeadStatus.SCORED, reason=f"score {score}", **common)
        listed = list_now and lead_list_now(lead=lead, schema=schema)
        transaction.on_commit(lambda: lead_scored.send(sender=Lead, lead_id=lead.pk, listed=listed))
    logger.info("lead scored", extra={"lead_id": lead.pk, "score": score, "status": lead.status})
    return lead


@transaction.atomic
def lead_rescore(*, lead_id: int, reason: str = "rescore") -> Lead:
    """Recompute a lead's score now (disputes): the status stays, the history notes it."""
    lead = Lead.objects.select_for_update(of=("self",)).select_related("vertical", "seller").get(pk=lead_id)
    score, breakdown = compute_score(lead)
    previous = lead.quality_score
    lead.quality_score, lead.score_breakdown, lead.scored_at = score, breakdown, timezone.now()
    lead.save(update_fields=["quality_score", "score_breakdown", "scored_at", "updated_at"])
    _record_status(lead, lead.status, f"{reason}: score {previous} → {score}", lead.status)
    return lead


@transaction.atomic
def lead_relist_returned(*, seller, lead_id: int, now=None) -> Lead:
    """Offer a lead returned by its buyer (a dispute refunded it in full) again, as a returned
    lead: a new lead with the same fields, consent and contact details (re-sealed under its own
    id), `returned_at` and `returned_from` set so every listing shows it as returned, scored and
    listed like any other. Once per returned lead; ValidationError for any other lead."""
    now = now or timezone.now()
    original = (
        Lead.objects.select_for_update(of=("self",), no_key=True)
        .select_related("pii")
        .filter(pk=lead_id, seller=seller)
        .first()
    )
    if original is None:
        raise NotFoundError({"lead": "No such lead of yours."})
    if original.status != LeadStatus.RETURNED:
        raise ValidationError({"lead": "Only a lead its buyer returned (refunded in full) can be offered again."})
    if Lead.objects.filter(returned_from=original).exists():
        raise ValidationError({"lead": "This returned lead is offered again already."})
    copy = Lead(
        **{
            f.attname: getattr(original, f.attname)
            for f in Lead._meta.concrete_fields
            if f.attname
            not in {
                "id",
                "status",
                "rejection_reason",
                "rejection_detail",
                "duplicate_of_id",
                "quality_score",
                "score_breakdown",
                "price",
                "external_id",
                "created_at",
                "updated_at",
                "scored_at",
                "returned_from_id",
                "correlation_id",
            }
        },
        returned_from=original,
        status=LeadStatus.RECEIVED,
        correlation_id=correlation.get() or "",
        created_at=now,
    )
    copy.save(force_insert=True)
    pii = lead_pii_read(lead=original)
    if pii:
        key_id, blob = vault.seal(pii, context=str(copy.pk))
        LeadPII.objects.create(lead=copy, key_id=key_id, ciphertext=blob)
    _record_status(copy, LeadStatus.RECEIVED, f"returned lead {original.pk} offered again")
    reputation_count_new(lead=copy)
    transaction.on_commit(lambda: lead_received.send(sender=Lead, lead_id=copy.pk))
    logger.info("returned lead offered again", extra={"lead_id": copy.pk, "returned_from": original.pk})
    return copy


# ---------------------------------------------------------------- seller reputation (disputes)
# Called by the escrow app (above leads in the layers) from its dispute services, inside the
# dispute's transaction. Each takes the seller's reputation row in the vertical FOR UPDATE until
# that transaction ends: call it as the transaction's last write (after the ledger postings), so
# that a sale of the same seller waiting on the row never holds a lock the dispute still needs.


@transaction.atomic
def seller_reputation_dispute_opened(*, seller_id: int, vertical_id: int) -> None:
    """A buyer opened a dispute about a sale of the seller's lead in the vertical. Counted (for
    staff and analytics) but it does not move the score until it is decided."""
    seller_reputation_move(seller_id=seller_id, vertical_id=vertical_id, opened=1)


@transaction.atomic
def seller_reputation_dispute_decided(*, seller_id: int, vertical_id: int, outcome: str, refund_share: Decimal) -> None:
    """A dispute was decided (leads.choices.DisputeOutcomeForReputation): refund_full (refund_share
    1) and refund_partial (refund_share = refunded amount / price, 0–1) count as upheld, weighted by
    the share; dismissed (refund_share 0) counts for nothing against the seller. The score is
    recomputed at once. ValueError for an unknown outcome or a share that does not fit it."""
    counts = dispute_decision_counts(outcome=outcome, refund_share=refund_share)
    seller_reputation_move(seller_id=seller_id, vertical_id=vertical_id, **counts)


@transaction.atomic
def seller_reputation_disposition_recorded(
    *, seller_id: int, vertical_id: int, contacted: bool, was_contacted: bool | None
) -> None:
    """A buyer reported (or changed) what became of a purchase of the seller's lead in the
    vertical: `was_contacted` None for a first report, else whether the previous one counted as
    contacted. Moves the dispositions and contacted counters (the contact rate), not the score.
    Called by auctions.services.dispositions as the transaction's last write."""
    moved = int(contacted) - int(bool(was_contacted))
    first = 1 if was_contacted is None else 0
    if not (moved or first):
        return
    seller_reputation_move(seller_id=seller_id, vertical_id=vertical_id, dispositions=first, contacted=moved)


# ---------------------------------------------------------------- hosted forms


def seller_form_token_get_or_create(*, seller) -> SellerFormToken:
    token = SellerFormToken.objects.filter(seller=seller).first()
    if token is not None:
        return token
    try:
        with transaction.atomic():
            return SellerFormToken.objects.create(seller=seller, token=secrets.token_urlsafe(16)[:22])
    except IntegrityError:
        return SellerFormToken.objects.get(seller=seller)


@transaction.atomic
def seller_form_token_rotate(*, seller) -> SellerFormToken:
    """A new token; links with the old one stop working (e.g. after it leaked).

    An update of the one row, not delete-and-insert: two rotations at once (a double click)
    then both succeed, the later one winning, instead of one failing on the unique seller.
    """
    seller_form_token_get_or_create(seller=seller)
    SellerFormToken.objects.filter(seller=seller).update(
        token=secrets.token_urlsafe(16)[:22], created_at=timezone.now()
    )
    return SellerFormToken.objects.get(seller=seller)
