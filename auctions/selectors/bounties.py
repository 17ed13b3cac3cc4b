"""Reads for bounties: a buyer's bounties with their pool and paid totals, the open bounties sellers
can earn (never the buyer's identity), and a seller's bounty earnings.

Pool balances are the ledger's own (the bounty_pool account "bounty:<id>", kept in step with its
entries by ledger.services and proved by ledger_check); money decisions lock that row instead
(auctions.services.bounties).
"""

from decimal import Decimal

from django.db.models import CharField, Count, DecimalField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Cast, Coalesce, Concat

from auctions.choices import BountyStatus
from auctions.models import Bounty, BountyAward
from core.money import USDC_DECIMAL_PLACES, USDC_MAX_DIGITS
from ledger.choices import LedgerAccountKind
from ledger.models import LedgerAccount
from verticals.models import Vertical
from verticals.selectors import vertical_ancestors, vertical_open_to_q

ZERO = Decimal("0.000000")
_USDC = DecimalField(max_digits=USDC_MAX_DIGITS + 2, decimal_places=USDC_DECIMAL_PLACES)


def bounty_pool_reference(bounty_id: int) -> str:
    """The ledger reference of a bounty's pool account (kind bounty_pool, no owner)."""
    return f"bounty:{bounty_id}"


def _pool_balance_expr():
    reference = Concat(Value("bounty:"), Cast(OuterRef("pk"), CharField()), output_field=CharField())
    pool = LedgerAccount.objects.filter(kind=LedgerAccountKind.BOUNTY_POOL, owner__isnull=True, reference=reference)
    return Coalesce(Subquery(pool.values("balance")[:1]), Value(ZERO, output_field=_USDC), output_field=_USDC)


def bounty_with_pool_balance(queryset: QuerySet) -> QuerySet:
    """Annotate `pool_balance` (USDC; 0 before the pool exists). One subquery, no extra queries."""
    return queryset.annotate(pool_balance=_pool_balance_expr())


def bounty_with_totals(queryset: QuerySet) -> QuerySet:
    """Annotate pool_balance, paid_total and award_count (subqueries: no join fan-out)."""
    awards = BountyAward.objects.filter(bounty=OuterRef("pk")).order_by().values("bounty")
    paid = Subquery(awards.annotate(total=Sum("amount")).values("total"))
    count = Subquery(awards.annotate(n=Count("id")).values("n"))
    return bounty_with_pool_balance(queryset).annotate(
        paid_total=Coalesce(paid, Value(ZERO, output_field=_USDC), output_field=_USDC),
        award_count=Coalesce(count, Value(0)),
    )


def bounty_list_for_buyer(*, buyer) -> QuerySet:
    """The buyer's bounties with their vertical and totals, newest first ((created_at, id) cursor)."""
    return (
        bounty_with_totals(Bounty.objects.filter(buyer=buyer)).select_related("vertical").order_by("-created_at", "-id")
    )


def bounty_get_for_buyer(*, buyer, bounty_id: int) -> Bounty:
    """One of the buyer's bounties with its totals; Bounty.DoesNotExist for anyone else's."""
    return bounty_list_for_buyer(buyer=buyer).get(pk=bounty_id)


def bounty_pool_balance(*, bounty_id: int) -> Decimal:
    """The pool's balance for display (one query)."""
    balance = (
        LedgerAccount.objects.filter(
            kind=LedgerAccountKind.BOUNTY_POOL, owner__isnull=True, reference=bounty_pool_reference(bounty_id)
        )
        .values_list("balance", flat=True)
        .first()
    )
    return ZERO if balance is None else balance


def bounty_list_payable(*, vertical) -> QuerySet:
    """Active bounties that may pay for a lead of `vertical`: on it or on one of its ancestors,
    owned by a buyer `vertical` is open to (the exclusive-vertical rule, as autobid's rules: an
    award reveals the sale to its owner), with money left in the pool (stale-tolerant: the payout
    re-reads the pool under its lock); oldest first, the payout order."""
    ids = [v.pk for v in vertical_ancestors(vertical=vertical)]
    return (
        bounty_with_pool_balance(Bounty.objects.filter(status=BountyStatus.ACTIVE, vertical_id__in=ids))
        .filter(vertical_open_to_q(vertical=vertical.pk, user_id=OuterRef("buyer_id")))
        .filter(pool_balance__gt=0)
        .select_related("vertical")
        .order_by("created_at", "id")
    )


def bounty_list_open(*, vertical_slug: str = "") -> QuerySet:
    """Bounties a seller can earn now: active with money in the pool, newest first. With a
    vertical, those that pay for its leads: on it or on one of its ancestors (an unknown slug
    gives none). Callers show criteria and amounts only, never the buyer or the bounty's name."""
    qs = bounty_with_pool_balance(Bounty.objects.filter(status=BountyStatus.ACTIVE)).filter(pool_balance__gt=0)
    if vertical_slug:
        vertical = Vertical.objects.filter(slug=vertical_slug).first()
        if vertical is None:
            return qs.none()
        qs = qs.filter(vertical_id__in=[v.pk for v in vertical_ancestors(vertical=vertical)])
    return qs.select_related("vertical").order_by("-created_at", "-id")


def bounty_award_list_for_bounty(*, bounty: Bounty) -> QuerySet:
    """A bounty's payouts, newest first, with the sale and lead (for the owner: no seller identity)."""
    return (
        BountyAward.objects.filter(bounty=bounty).select_related("sale__lead__vertical").order_by("-created_at", "-id")
    )


def bounty_award_list_for_seller(*, seller) -> QuerySet:
    """What the seller's sales earned from bounties, newest first. The money sits in each sale's
    escrow until settlement pays the seller."""
    return (
        BountyAward.objects.filter(sale__seller=seller)
        .select_related("bounty__vertical", "sale")
        .order_by("-created_at", "-id")
    )


def bounty_earnings_for_seller(*, seller) -> dict:
    """{"total": USDC, "count": awards} over all the seller's bounty awards (one query)."""
    totals = BountyAward.objects.filter(sale__seller=seller).aggregate(
        total=Coalesce(Sum("amount"), Value(ZERO, output_field=_USDC), output_field=_USDC), count=Count("id")
    )
    return {"total": totals["total"], "count": totals["count"]}
