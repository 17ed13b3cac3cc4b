"""Reads for disputes: a party's disputes (buyer or seller, never another's), one dispute for a
party, the staff queue by age, and buyers' return rates per vertical (the abuse limit).

Disputes decide money, so these reads use the primary."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from auctions.models import Sale
from escrow.choices import OPEN_DISPUTE_STATES, ContactStatus, DisputeState
from escrow.models import Dispute, DisputeEvidence, Settlement

RETURN_RATE_DAYS = 90
# Below this many purchases in the window a buyer's rate says too little to act on.
RETURN_RATE_MIN_PURCHASES = 10


def dispute_list_for(*, user, role: str | None) -> QuerySet:
    """The disputes `user` opened (role "buyer"), received (role "seller") or both (None), newest first."""
    qs = Dispute.objects.select_related("vertical", "sale__lead")
    if role == "buyer":
        qs = qs.filter(buyer=user)
    elif role == "seller":
        qs = qs.filter(seller=user)
    else:
        qs = qs.filter(Q(buyer=user) | Q(seller=user))
    return qs.order_by("-created_at", "-id")


def dispute_get_for_party(*, user, dispute_id: int) -> tuple[Dispute | None, str | None]:
    """(dispute, "buyer" | "seller") when `user` is a party to it, else (None, None): anyone else
    is told it does not exist."""
    if not getattr(user, "is_authenticated", False) or not 0 < dispute_id < 2**63:
        return None, None
    dispute = (
        Dispute.objects.select_related("vertical", "sale__lead", "settlement", "buyer", "seller")
        .prefetch_related("evidence")
        .filter(Q(buyer=user) | Q(seller=user), pk=dispute_id)
        .first()
    )
    if dispute is None:
        return None, None
    return dispute, ("buyer" if dispute.buyer_id == user.pk else "seller")


def dispute_evidence_get_for_party(*, user, dispute_id: int, evidence_id: int) -> DisputeEvidence | None:
    """One evidence file of a dispute `user` is a party to (either party's file), else None."""
    if not getattr(user, "is_authenticated", False) or not (0 < dispute_id < 2**63 and 0 < evidence_id < 2**63):
        return None
    return (
        DisputeEvidence.objects.filter(Q(dispute__buyer=user) | Q(dispute__seller=user))
        .filter(pk=evidence_id, dispute_id=dispute_id)
        .first()
    )


def dispute_staff_queue() -> QuerySet:
    """Disputes waiting for staff, oldest first (the arbitration queue)."""
    return Dispute.objects.filter(state=DisputeState.AWAITING_STAFF).order_by("created_at", "id")


@dataclass(frozen=True)
class ReturnRate:
    disputes: int
    purchases: int

    @property
    def rate(self) -> Decimal:
        return Decimal(self.disputes) / Decimal(self.purchases) if self.purchases else Decimal(0)

    @property
    def known(self) -> bool:
        return self.purchases >= RETURN_RATE_MIN_PURCHASES


def buyer_return_rate(*, buyer_id: int, vertical_id: int, now=None) -> ReturnRate:
    """How many of the buyer's purchases in the vertical over the last RETURN_RATE_DAYS they
    disputed (any outcome; a dispute counts from its opening)."""
    since = (now or timezone.now()) - timedelta(days=RETURN_RATE_DAYS)
    purchases = Sale.objects.filter(buyer_id=buyer_id, lead__vertical_id=vertical_id, created_at__gte=since)
    disputes = Dispute.objects.filter(buyer_id=buyer_id, vertical_id=vertical_id, sale__created_at__gte=since)
    return ReturnRate(disputes=disputes.count(), purchases=purchases.count())


def buyer_return_rates(*, buyer_ids, now=None) -> dict[tuple[int, int], ReturnRate]:
    """ReturnRate per (buyer, vertical) for several buyers at once (pages, admin): two queries."""
    since = (now or timezone.now()) - timedelta(days=RETURN_RATE_DAYS)
    buyer_ids = list(buyer_ids)
    bought = (
        Sale.objects.filter(buyer_id__in=buyer_ids, created_at__gte=since)
        .values("buyer_id", "lead__vertical_id")
        .annotate(n=Count("id"))
    )
    disputed = (
        Dispute.objects.filter(buyer_id__in=buyer_ids, sale__created_at__gte=since)
        .values("buyer_id", "vertical_id")
        .annotate(n=Count("id"))
    )
    counts = {(r["buyer_id"], r["vertical_id"]): r["n"] for r in disputed}
    return {
        (r["buyer_id"], r["lead__vertical_id"]): ReturnRate(
            disputes=counts.get((r["buyer_id"], r["lead__vertical_id"]), 0), purchases=r["n"]
        )
        for r in bought
    }


def dispute_is_open(dispute: Dispute) -> bool:
    return dispute.state in OPEN_DISPUTE_STATES


def dispute_reputation_facts():
    """Every seller × vertical's dispute counts for the seller reputation's rebuild
    (leads.seller_reputation.DISPUTE_FACTS): opened, upheld (full or partial refunds), the sum of
    their refund shares, dismissed."""
    rows = (
        Dispute.objects.values("seller_id", "vertical_id")
        .annotate(
            opened=Count("id"),
            upheld=Count("id", filter=Q(outcome__in=("refund_full", "refund_partial"))),
            dismissed=Count("id", filter=Q(outcome="dismissed")),
        )
        .order_by()
    )
    shares: dict[tuple[int, int], Decimal] = {}
    for seller_id, vertical_id, amount, price in Dispute.objects.filter(
        outcome__in=("refund_full", "refund_partial")
    ).values_list("seller_id", "vertical_id", "refund_amount", "price"):
        key = (seller_id, vertical_id)
        shares[key] = shares.get(key, Decimal(0)) + (amount / price).quantize(Decimal("0.000001"))
    for row in rows:
        yield {**row, "refunds": shares.get((row["seller_id"], row["vertical_id"]), Decimal(0))}


def dispute_list_received(*, seller) -> QuerySet:
    """The seller's received disputes: those waiting for the seller's answer first, soonest
    deadline first; then the other open ones; then the decided and closed; newest first within."""
    rank = Case(
        When(state=DisputeState.AWAITING_SELLER, then=Value(0)),
        When(state__in=OPEN_DISPUTE_STATES, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return (
        Dispute.objects.select_related("vertical", "sale__lead")
        .filter(seller=seller)
        .annotate(open_rank=rank)
        .order_by("open_rank", Case(When(open_rank=0, then=F("respond_by"))), "-created_at", "-id")
    )


def dispute_evidence_get_for(*, user, evidence_id: int):
    """The evidence file when `user` is a party to its dispute or staff, else None."""
    if not getattr(user, "is_authenticated", False) or not 0 < evidence_id < 2**63:
        return None
    qs = DisputeEvidence.objects.select_related("dispute").filter(pk=evidence_id)
    if not user.is_staff:
        qs = qs.filter(Q(dispute__buyer=user) | Q(dispute__seller=user))
    return qs.first()


def dispute_for_purchase(*, sale_id: int, buyer) -> Dispute | None:
    """The dispute `buyer` opened on the sale, if any (the purchase page shows its state)."""
    return Dispute.objects.filter(sale_id=sale_id, buyer=buyer).only("id", "state", "outcome", "sale_id").first()


# ---------------------------------------------------------------- the checks in words

CONSENT_PART_LABELS = {
    "text": "consent text",
    "timestamp": "time of consent",
    "ip": "IP address",
    "user_agent": "browser",
    "page_url": "page address",
    "certificate_url": "certificate link",
}


def _times(n) -> str:
    return "once" if n == 1 else f"{n} times"


def dispute_checks_display(checks: dict) -> list[tuple[str, str]]:
    """The automatic checks stored with a dispute (escrow.services.dispute_checks) as (label,
    sentence) pairs for people: no raw keys, units spelled out. Unknown or missing parts are left out."""
    rows: list[tuple[str, str]] = []
    checks = checks if isinstance(checks, dict) else {}
    phone = checks.get("phone")
    if isinstance(phone, dict):
        if not phone.get("present"):
            text = "The lead has no phone number."
        elif not phone.get("valid"):
            text = "Not a valid number by the numbering plan."
        else:
            kind = (phone.get("line_type") or "unknown").replace("_", " ")
            text = f"Valid by the numbering plan; line type: {kind}. Whether it is connected cannot be checked here."
        rows.append(("Phone number", text))
    contact = checks.get("contact")
    if isinstance(contact, dict):
        if not contact.get("compared"):
            text = "Not compared: the lead has neither phone nor e-mail."
        else:
            days = contact.get("window_days")
            text = (
                f"In the {days} days before this sale the same phone or e-mail was sold to the buyer "
                f"{_times(contact.get('sold_to_you_before', 0))} and to others "
                f"{_times(contact.get('sold_to_others_before', 0))}; it appears in "
                f"{contact.get('other_leads', 0)} other lead(s) here."
            )
        rows.append(("Earlier sales of the same contact", text))
    consent = checks.get("consent")
    if isinstance(consent, dict):
        parts = consent.get("parts") or {}
        have = [CONSENT_PART_LABELS.get(k, k.replace("_", " ")) for k, v in parts.items() if v]
        missing = [CONSENT_PART_LABELS.get(k, k.replace("_", " ")) for k in consent.get("missing") or []]
        text = "Has " + (", ".join(have) if have else "nothing") + "."
        if missing:
            text += " Missing: " + ", ".join(missing) + "."
        age = consent.get("age_days_at_sale")
        if age is not None:
            text += f" {age} days old at the sale (at most {consent.get('max_age_days')} days allowed)."
        rows.append(("Consent record", text))
    listing = checks.get("listing")
    if isinstance(listing, dict):
        zip_ok = listing.get("zip_in_state")
        rows.append(
            (
                "Location as listed",
                "The ZIP code is in the listed state."
                if zip_ok
                else "The ZIP code is not in the listed state."
                if zip_ok is False
                else "The ZIP code could not be checked.",
            )
        )
    rescore = checks.get("rescore")
    if isinstance(rescore, dict) or isinstance(listing, dict):
        before = (rescore or {}).get("before", (listing or {}).get("score_at_sale"))
        after = (rescore or {}).get("after", (listing or {}).get("score_now"))
        floor = (listing or {}).get("quality_floor")

        def score(v):
            return "—" if v is None else f"{v}/100"

        text = f"{score(before)} at the sale, {score(after)} re-scored at the dispute"
        text += f" (the vertical's quality floor: {score(floor)})." if floor is not None else "."
        rows.append(("Quality score", text))
    return rows


def dispute_can_open(*, user, sale, settlement, now=None) -> bool:
    """Whether the page offers `user` to return `sale`: their own purchase, funded in escrow and
    within its window, no refund (the caller checked there is no dispute yet). No query:
    escrow.services.disputes.dispute_open decides; this only chooses what the page shows."""
    now = now or timezone.now()
    return (
        settlement is not None
        and sale.buyer_id == user.pk
        and settlement.state in (Settlement.State.FUNDED, Settlement.State.MINTING, Settlement.State.MINTED)
        and settlement.refund_tx_id is None
        and now < settlement.release_after
        and getattr(sale, "contact_status", ContactStatus.AVAILABLE) == ContactStatus.AVAILABLE
    )
