"""Returns and disputes (docs/disputes.md): a buyer returns a purchase within the vertical's dispute
window, automatic checks recommend, the seller answers by a deadline, staff arbitrate what is
contested, and the outcome moves the money once, on chain and in the ledger.

    open ──▶ awaiting_seller ──accept──────────────────────────▶ decided (full refund)
                    │ ──offer──▶ awaiting_buyer ──accept/deadline─▶ decided (partial refund)
                    │                    └──decline──▶ awaiting_staff
                    │ ──contest──────────────────────▶ awaiting_staff ──staff──▶ decided / closed
                    └ no answer by respond_by: the recommendation stands if it is a refund, else staff
    decided ──refund sent and mirrored (escrow.advance)──▶ closed;  dismissed ──▶ closed at once

Exactly once: every transition takes the dispute's row lock and checks the state it starts from,
so two staff decisions (or a decision and a deadline) cannot both apply; the money moves through
the settlement's idempotent refunds (`escrow.refund:<chain>:<sale>`, `escrow.partial_refund:…` on
chain, `refund:<sale>` / `refund:<sale>:partial` in the ledger), which `dispute_outcome_apply`
may run any number of times. Opening locks the settlement's row, which the release also locks
before sending: a dispute at the last second of the window and the release serialize there, and
whichever commits first wins.
"""

import logging
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from auctions.models import Sale
from core import correlation
from core.broadcast import group_send_on_commit
from core.errors import NotFoundError
from core.groups import user_group
from escrow import metrics
from escrow.choices import (
    OPEN_DISPUTE_STATES,
    ContactStatus,
    DisputeDecider,
    DisputeOutcome,
    DisputeParty,
    DisputeReason,
    DisputeRecommendation,
    DisputeResponse,
    DisputeState,
)
from escrow.models import Dispute, Settlement
from escrow.notices import dispute_notify
from escrow.selectors.disputes import buyer_return_rate
from escrow.selectors.purchases import AS_BUYER, purchase_contact_status_now
from escrow.services.dispute_checks import dispute_checks_run
from escrow.services.evidence import evidence_discard, evidence_files_check, evidence_store
from escrow.services.settlement import (
    REFUNDABLE,
    settlement_partial_refund,
    settlement_refund,
)
from escrow.signals import dispute_refund_decided
from leads.choices import LeadStatus
from leads.models import Lead
from leads.services import lead_transition, seller_reputation_dispute_decided, seller_reputation_dispute_opened

logger = logging.getLogger(__name__)

MAX_STATEMENT = 5000
MICRO = Decimal("0.000001")
State = Settlement.State


def _not_found(field: str = "dispute") -> ValidationError:
    return NotFoundError({field: "No such dispute of yours."})


def _statement(value, *, field: str, required: bool) -> str:
    text = (value or "").strip() if isinstance(value, str) else ""
    if required and not text:
        raise ValidationError({field: "Say in a few words what is wrong and why."})
    if len(text) > MAX_STATEMENT:
        raise ValidationError({field: f"At most {MAX_STATEMENT} characters (this is {len(text)})."})
    return text


def _amount(value, *, field: str, below: Decimal) -> Decimal:
    try:
        amount = Decimal(str(value)) if value not in (None, "") else None
    except (InvalidOperation, ValueError):
        amount = None
    if amount is None or not amount.is_finite():
        raise ValidationError({field: "Enter an amount in USDC, e.g. 12.50."})
    if amount != amount.quantize(MICRO):
        raise ValidationError({field: "USDC has at most 6 decimal places."})
    if not Decimal(0) < amount < below:
        raise ValidationError({field: f"More than 0 and less than the price ({below} USDC)."})
    return amount


def _disputable(s: Settlement | None, *, now) -> None:
    """ValidationError (field "sale") unless the settlement's deal is funded and in its window."""
    if s is None:
        raise ValidationError(
            {"sale": "This purchase was settled without escrow, so it cannot be disputed here: contact support."}
        )
    if s.state in (State.PENDING, State.FUNDING):
        raise ValidationError(
            {"sale": "Your payment is still on its way into escrow: you can open a dispute once it arrived."}
        )
    if s.state in (State.REFUNDING, State.REFUNDED) or s.refund_tx_id:
        raise ValidationError({"sale": "This purchase was refunded already."})
    if s.state in (State.RELEASING, State.RELEASED) or now >= s.release_after:
        when = timezone.localtime(s.release_after).strftime("%Y-%m-%d %H:%M %Z")
        raise ValidationError({"sale": f"The dispute window of this purchase closed at {when}."})
    if s.state == State.FAILED:
        raise ValidationError({"sale": "This purchase's escrow needs our staff's attention: contact support."})


def _tell(user_id: int, *, kind: str, dispute: Dispute, text: str) -> None:
    """Tell a party: a notification by the channels they chose (in-app, e-mail), and a message on
    their socket for the dispute's open page, both once the change commits."""
    dispute_notify(user_id=user_id, kind=kind, dispute=dispute, text=text)
    group_send_on_commit(
        group=user_group(user_id),
        payload={"type": f"dispute.{kind}", "dispute_id": dispute.pk, "sale_id": dispute.sale_id, "message": text},
    )


# ---------------------------------------------------------------- opening


def dispute_open(*, buyer, sale_id: int, reason: str, statement: str, files=(), now=None) -> Dispute:
    """The buyer of `sale_id` returns it with a reason, a statement and evidence files. Checks run
    and their recommendation is stored; above the vertical's return-rate threshold the dispute
    goes to staff first. ValidationError naming the field for bad input, someone else's or an
    unfunded purchase, a closed window, or a second dispute on one purchase; nothing is written then."""
    now = now or timezone.now()
    if reason not in DisputeReason.values:
        raise ValidationError({"reason": "Choose one of the listed reasons."})
    text = _statement(statement, field="statement", required=True)
    checked = evidence_files_check(files=files)
    sale = (
        Sale.objects.select_related("lead__vertical", "settlement").filter(pk=sale_id).first()
        if 0 < int(sale_id) < 2**63
        else None
    )
    role, status = purchase_contact_status_now(user=buyer, sale=sale) if sale is not None else (None, "")
    if sale is None or role != AS_BUYER or sale.buyer_id != buyer.pk:
        raise NotFoundError({"sale": "No such purchase of yours."})
    if Dispute.objects.filter(sale_id=sale.pk).exists():
        raise ValidationError({"sale": "You opened a dispute on this purchase already."})
    _disputable(getattr(sale, "settlement", None), now=now)
    if status != ContactStatus.AVAILABLE:
        raise ValidationError({"sale": "This purchase's contact details are not yours to read now."})
    stored: list[str] = []
    try:
        with transaction.atomic():
            s = Settlement.objects.select_for_update(of=("self",)).get(sale_id=sale.pk)
            _disputable(s, now=now)
            result = dispute_checks_run(sale=sale, reason=reason, dispute_ref=f"dispute on sale {sale.pk}")
            vertical = sale.lead.vertical
            rate = buyer_return_rate(buyer_id=buyer.pk, vertical_id=vertical.pk, now=now)
            staff_first = rate.known and rate.rate > vertical.return_rate_threshold
            dispute = Dispute.objects.create(
                sale=sale,
                settlement=s,
                buyer=buyer,
                seller_id=sale.seller_id,
                vertical=vertical,
                price=sale.price,
                reason=reason,
                statement=text,
                staff_first=staff_first,
                staff_first_reason=(
                    f"The buyer disputed {rate.disputes} of {rate.purchases} purchases in this vertical in 90 days, "
                    f"above the {vertical.return_rate_threshold:.0%} threshold."
                    if staff_first
                    else ""
                ),
                checks=result.checks,
                recommendation=result.recommendation,
                recommendation_reasons=result.reasons,
                respond_by=now + timedelta(hours=vertical.dispute_response_hours),
                correlation_id=correlation.get() or "",
                created_at=now,
            )
            evidence_store(dispute=dispute, party=DisputeParty.BUYER, uploaded_by=buyer, files=checked, stored=stored)
            _tell(dispute.seller_id, kind="opened", dispute=dispute, text=f"A buyer disputed your sale {sale.pk}.")
            # Last: it holds the seller's reputation row until commit (leads.services).
            seller_reputation_dispute_opened(seller_id=sale.seller_id, vertical_id=vertical.pk)
    except IntegrityError as exc:
        evidence_discard(stored)
        raise ValidationError({"sale": "You opened a dispute on this purchase already."}) from exc
    except BaseException:
        evidence_discard(stored)
        raise
    transaction.on_commit(lambda: metrics.DISPUTES_OPENED.labels(reason=reason).inc())
    logger.info("dispute opened", extra={"dispute_id": dispute.pk, "sale_id": sale.pk})
    return dispute


# ---------------------------------------------------------------- answers


def _locked_for(dispute_id: int, *, user_field: str, user) -> Dispute:
    dispute = (
        Dispute.objects.select_for_update(of=("self",)).filter(pk=dispute_id, **{user_field: user.pk}).first()
        if 0 < int(dispute_id) < 2**63
        else None
    )
    if dispute is None:
        raise _not_found()
    return dispute


def dispute_respond(
    *, seller, dispute_id: int, response: str, statement: str = "", offer_amount=None, files=(), now=None
) -> Dispute:
    """The seller answers by the deadline: accept (full refund), offer a partial refund (the buyer
    accepts or declines), or contest with a statement (staff decide)."""
    now = now or timezone.now()
    if response not in DisputeResponse.values:
        raise ValidationError({"response": "Choose accept, offer or contest."})
    text = _statement(statement, field="statement", required=response == DisputeResponse.CONTEST)
    checked = evidence_files_check(files=files)
    stored: list[str] = []
    try:
        with transaction.atomic():
            d = _locked_for(dispute_id, user_field="seller_id", user=seller)
            if d.state != DisputeState.AWAITING_SELLER:
                raise ValidationError({"dispute": f"This dispute is {d.get_state_display().lower()}: no answer now."})
            if now > d.respond_by:
                raise ValidationError({"dispute": "The deadline to answer this dispute has passed."})
            amount = (
                _amount(offer_amount, field="offer_amount", below=d.price)
                if response == DisputeResponse.OFFER
                else None
            )
            d.seller_response, d.seller_statement, d.responded_at = response, text, now
            evidence_store(dispute=d, party=DisputeParty.SELLER, uploaded_by=seller, files=checked, stored=stored)
            if response == DisputeResponse.ACCEPT:
                _decide(
                    d,
                    outcome=DisputeOutcome.REFUND_FULL,
                    amount=d.price,
                    decider=DisputeDecider.SELLER,
                    by=seller,
                    reason="The seller accepted the return.",
                    now=now,
                )
            elif response == DisputeResponse.OFFER:
                d.offer_amount, d.state = amount, DisputeState.AWAITING_BUYER
                d.respond_by = now + timedelta(hours=d.vertical.dispute_response_hours)
                d.save()
                _tell(d.buyer_id, kind="answered", dispute=d, text=f"The seller offers a refund of {amount} USDC.")
            else:
                d.state = DisputeState.AWAITING_STAFF
                d.save()
                _tell(d.buyer_id, kind="answered", dispute=d, text="The seller contests your dispute; staff decide.")
    except BaseException:
        evidence_discard(stored)
        raise
    return d


def dispute_offer_reply(*, buyer, dispute_id: int, accept: bool, now=None) -> Dispute:
    """The buyer accepts the seller's partial-refund offer (the outcome) or declines it (staff decide)."""
    now = now or timezone.now()
    with transaction.atomic():
        d = _locked_for(dispute_id, user_field="buyer_id", user=buyer)
        if d.state != DisputeState.AWAITING_BUYER:
            raise ValidationError({"dispute": "There is no offer of the seller's waiting for your answer."})
        d.buyer_reply, d.buyer_replied_at = ("accepted" if accept else "declined"), now
        if accept:
            _decide(
                d,
                outcome=DisputeOutcome.REFUND_PARTIAL,
                amount=d.offer_amount,
                decider=DisputeDecider.BUYER,
                by=buyer,
                reason=f"The buyer accepted the seller's offer of {d.offer_amount} USDC.",
                now=now,
            )
        else:
            d.state = DisputeState.AWAITING_STAFF
            d.save()
            _tell(d.seller_id, kind="answered", dispute=d, text="The buyer declined your offer; staff decide.")
    return d


def dispute_evidence_add(*, user, dispute_id: int, files) -> Dispute:
    """A party adds evidence files while the dispute is open."""
    checked = evidence_files_check(files=files)
    if not checked:
        raise ValidationError({"evidence": "Attach at least one file."})
    stored: list[str] = []
    try:
        with transaction.atomic():
            d = (
                Dispute.objects.select_for_update(of=("self",)).filter(pk=dispute_id).first()
                if 0 < int(dispute_id) < 2**63
                else None
            )
            if d is None or user.pk not in (d.buyer_id, d.seller_id):
                raise _not_found()
            if d.state not in OPEN_DISPUTE_STATES:
                raise ValidationError({"evidence": "This dispute is decided: no more evidence."})
            party = DisputeParty.BUYER if user.pk == d.buyer_id else DisputeParty.SELLER
            evidence_store(dispute=d, party=party, uploaded_by=user, files=checked, stored=stored)
            d.save(update_fields=["updated_at"])
    except BaseException:
        evidence_discard(stored)
        raise
    return d


# ---------------------------------------------------------------- decisions


def dispute_decide(*, staff, dispute_id: int, outcome: str, reason: str, refund_amount=None, now=None) -> Dispute:
    """Staff arbitration: full refund, partial refund (amount) or dismissal, with a written reason
    both parties read. Only an open dispute; of two decisions at once exactly one applies, the
    other gets a ValidationError."""
    now = now or timezone.now()
    if outcome not in DisputeOutcome.values:
        raise ValidationError({"outcome": "Choose full refund, partial refund or dismissal."})
    text = _statement(reason, field="reason", required=True)
    with transaction.atomic():
        d = Dispute.objects.select_for_update(of=("self",)).filter(pk=dispute_id).first()
        if d is None:
            raise _not_found()
        if d.state not in OPEN_DISPUTE_STATES:
            raise ValidationError({"outcome": f"This dispute was decided already ({d.get_outcome_display().lower()})."})
        if outcome == DisputeOutcome.REFUND_PARTIAL:
            amount = _amount(refund_amount, field="refund_amount", below=d.price)
        else:
            amount = d.price if outcome == DisputeOutcome.REFUND_FULL else None
        _decide(d, outcome=outcome, amount=amount, decider=DisputeDecider.STAFF, by=staff, reason=text, now=now)
    return d


def _decide(d: Dispute, *, outcome: str, amount, decider: str, by, reason: str, now) -> None:
    """Record the outcome (caller holds the dispute's row lock and checked it is open). A dismissal
    closes it at once (the release goes on); a refund waits for dispute_outcome_apply."""
    d.outcome, d.refund_amount, d.decider = outcome, amount, decider
    d.decided_by, d.decision_reason, d.decided_at = by, reason, now
    if outcome == DisputeOutcome.DISMISSED:
        d.state, d.closed_at = DisputeState.CLOSED, now
    else:
        d.state = DisputeState.DECIDED
    d.save()
    label = d.get_outcome_display()
    if amount is not None and outcome == DisputeOutcome.REFUND_PARTIAL:
        label = f"{label} of {amount} USDC"
    for party in (d.buyer_id, d.seller_id):
        _tell(party, kind="decided", dispute=d, text=f"Dispute on sale {d.sale_id} decided: {label}. {reason}")
    share = (amount / d.price).quantize(Decimal("0.000001")) if amount is not None else Decimal(0)
    seller_reputation_dispute_decided(
        seller_id=d.seller_id,
        vertical_id=d.vertical_id,
        outcome=outcome,
        refund_share=Decimal(1) if outcome == DisputeOutcome.REFUND_FULL else share,
    )
    dispute_id, seconds = d.pk, max((now - d.created_at).total_seconds(), 0)

    def after() -> None:
        metrics.DISPUTES_DECIDED.labels(outcome=outcome, decider=decider).inc()
        metrics.DISPUTE_DECISION_SECONDS.observe(seconds)
        if outcome != DisputeOutcome.DISMISSED:
            dispute_refund_decided.send(sender=Dispute, dispute_id=dispute_id)

    transaction.on_commit(after, robust=True)


def dispute_outcome_apply(*, dispute_id: int, now=None) -> str:
    """Move a decided refund's money (idempotent, any number of runs): send the refund once, and
    close the dispute once the ledger mirrored it. A full refund also returns the lead (status
    returned) so it can be sold again only as such. Returns the dispute's state."""
    now = now or timezone.now()
    d = Dispute.objects.select_related("settlement").get(pk=dispute_id)
    if d.state != DisputeState.DECIDED:
        return d.state
    s = d.settlement
    memo = f"Dispute {d.pk}: {d.get_reason_display()}"
    if d.outcome == DisputeOutcome.REFUND_FULL:
        if s.refund_tx_id is None and s.state in REFUNDABLE:
            s = settlement_refund(settlement_id=s.pk, reason=memo)
        done = s.state == State.REFUNDED
    else:
        if s.partial_refund_tx_id is None:
            s = settlement_partial_refund(settlement_id=s.pk, amount=d.refund_amount, reason=memo)
        done = s.partial_refunded_at is not None
    if not done:
        return d.state
    with transaction.atomic():
        d = Dispute.objects.select_for_update(of=("self",)).get(pk=dispute_id)
        if d.state != DisputeState.DECIDED:
            return d.state
        d.state, d.closed_at = DisputeState.CLOSED, now
        d.save(update_fields=["state", "closed_at", "updated_at"])
        if d.outcome == DisputeOutcome.REFUND_FULL:
            lead = Lead.objects.select_for_update(of=("self",), no_key=True).get(pk=d.sale.lead_id)
            if lead.status == LeadStatus.SOLD:
                lead_transition(lead=lead, to_status=LeadStatus.RETURNED, reason=f"dispute {d.pk}", returned_at=now)
        for party in (d.buyer_id, d.seller_id):
            _tell(party, kind="closed", dispute=d, text=f"The refund of dispute {d.pk} is done.")
    logger.info("dispute closed", extra={"dispute_id": d.pk, "sale_id": d.sale_id})
    return d.state


# ---------------------------------------------------------------- the periodic step


def dispute_deadlines_pass(*, now=None, limit: int = 100) -> int:
    """Disputes whose party did not answer in time: an unanswered seller leaves the automatic
    recommendation standing if it is a refund (else staff decide, and always when the buyer is
    above the return-rate threshold); an unanswered offer stands. One transaction per dispute,
    rows other workers hold skipped."""
    now = now or timezone.now()
    ids = list(
        Dispute.objects.filter(
            state__in=(DisputeState.AWAITING_SELLER, DisputeState.AWAITING_BUYER), respond_by__lt=now
        ).values_list("pk", flat=True)[:limit]
    )
    moved = 0
    for pk in ids:
        with transaction.atomic():
            d = (
                Dispute.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(pk=pk, respond_by__lt=now)
                .first()
            )
            if d is None or d.state not in (DisputeState.AWAITING_SELLER, DisputeState.AWAITING_BUYER):
                continue
            moved += 1
            if d.state == DisputeState.AWAITING_BUYER:
                _decide(
                    d,
                    outcome=DisputeOutcome.REFUND_PARTIAL,
                    amount=d.offer_amount,
                    decider=DisputeDecider.DEADLINE,
                    by=None,
                    reason=f"The buyer did not answer the seller's offer of {d.offer_amount} USDC in time: it stands.",
                    now=now,
                )
            elif d.recommendation == DisputeRecommendation.REFUND and not d.staff_first:
                _decide(
                    d,
                    outcome=DisputeOutcome.REFUND_FULL,
                    amount=d.price,
                    decider=DisputeDecider.DEADLINE,
                    by=None,
                    reason="The seller did not answer in time, and the automatic checks found: "
                    + " ".join(d.recommendation_reasons),
                    now=now,
                )
            else:
                d.state = DisputeState.AWAITING_STAFF
                d.save(update_fields=["state", "updated_at"])
    return moved


def disputes_advance(*, now=None) -> dict:
    """One pass (escrow.advance): deadlines, then every decided refund's money."""
    now = now or timezone.now()
    counts = {"deadlines": dispute_deadlines_pass(now=now)}
    closed = 0
    for pk in Dispute.objects.filter(state=DisputeState.DECIDED).order_by("id").values_list("pk", flat=True)[:100]:
        try:
            closed += dispute_outcome_apply(dispute_id=pk, now=now) == DisputeState.CLOSED
        except ValidationError as exc:  # e.g. the deal is minting: the next pass tries again
            logger.info("dispute %s: outcome waits: %s", pk, exc)
    counts["closed"] = closed
    return {k: v for k, v in counts.items() if v}
