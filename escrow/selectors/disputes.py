"""Reads for disputes: a party's disputes (buyer or seller, never another's), one dispute for a
party, the staff queue by age, and buyers' return rates per vertical (the abuse limit).

Disputes decide money, so these reads use the primary."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from auctions.models import Sale
from escrow.choices import OPEN_DISPUTE_STATES, DisputeState
from escrow.models import Dispute, DisputeEvidence

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
