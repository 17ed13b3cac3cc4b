"""Reads for dispositions: one purchase's disposition and its history, the buyer's return on
spend by vertical, and the webhook's recent calls. Only for the purchase's reader
(escrow.selectors.purchases, the one access rule); primary reads (they follow the buyer's writes)."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Q, Sum

from auctions.choices import CONTACTED_STATUSES, DispositionStatus
from auctions.models import Disposition, DispositionChange, DispositionWebhook, DispositionWebhookEvent, Sale
from config import db_router
from escrow.choices import ContactStatus
from escrow.selectors.purchases import contact_status_expression, purchase_get_for_reader, purchase_queryset_for_reader

HISTORY_LIMIT = 50
EVENTS_LIMIT = 50


def disposition_get_for_reader(*, user, sale_id) -> tuple[Sale, Disposition | None, list[DispositionChange]]:
    """(sale, current disposition or None, the last 50 changes newest first); Sale.DoesNotExist
    for a purchase the user does not read."""
    sale = purchase_get_for_reader(user=user, sale_id=sale_id)
    with db_router.primary():
        current = Disposition.objects.filter(sale_id=sale.pk).first()
        history = list(DispositionChange.objects.filter(sale_id=sale.pk).order_by("-at", "-id")[:HISTORY_LIMIT])
    return sale, current, history


def dispositions_for_sales(*, sale_ids: list[int]) -> dict[int, Disposition]:
    """The current dispositions of these sales (one query): for a page of My purchases."""
    with db_router.primary():
        return {d.sale_id: d for d in Disposition.objects.filter(sale_id__in=sale_ids)}


@dataclass(frozen=True)
class Outcomes:
    """What one vertical's purchases became, for their buyer: return on spend = revenue ÷ spend."""

    vertical: str
    vertical_name: str
    purchases: int
    spend: Decimal
    dispositions: int
    contacted: int
    sold: int
    revenue: Decimal

    @property
    def return_on_spend(self) -> Decimal | None:
        if not self.spend:
            return None
        return (self.revenue / self.spend).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)

    @property
    def contact_rate(self) -> Decimal | None:
        if not self.dispositions:
            return None
        return (Decimal(self.contacted) / self.dispositions).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def purchase_outcomes_for_reader(*, user) -> list[Outcomes]:
    """Per vertical (by name), over the purchases the user reads that were not refunded: how many,
    the price paid (spend), how many have a disposition, how many reached the consumer, how many
    sold and the revenue reported. Then a total row (vertical "") when there is more than one
    vertical. One query."""
    with db_router.primary():
        rows = list(
            purchase_queryset_for_reader(user=user)
            .annotate(contact_status=contact_status_expression())
            .exclude(contact_status=ContactStatus.REFUNDED)
            .values("lead__vertical__slug", "lead__vertical__name")
            .annotate(
                purchases=Count("id"),
                spend=Sum("price"),
                dispositions=Count("disposition"),
                contacted=Count("disposition", filter=Q(disposition__status__in=list(CONTACTED_STATUSES))),
                sold=Count("disposition", filter=Q(disposition__status=DispositionStatus.SOLD)),
                revenue=Sum("disposition__revenue"),
            )
            .order_by("lead__vertical__name")
        )
    outcomes = [
        Outcomes(
            vertical=row["lead__vertical__slug"],
            vertical_name=row["lead__vertical__name"],
            purchases=row["purchases"],
            spend=row["spend"] or Decimal(0),
            dispositions=row["dispositions"],
            contacted=row["contacted"],
            sold=row["sold"],
            revenue=row["revenue"] or Decimal(0),
        )
        for row in rows
    ]
    if len(outcomes) > 1:
        outcomes.append(
            Outcomes(
                vertical="",
                vertical_name="All verticals",
                **{
                    name: sum((getattr(o, name) for o in outcomes), start=type(getattr(outcomes[0], name))(0))
                    for name in ("purchases", "spend", "dispositions", "contacted", "sold", "revenue")
                },
            )
        )
    return outcomes


def disposition_webhook_for_buyer(*, buyer) -> tuple[DispositionWebhook | None, list[DispositionWebhookEvent]]:
    """The buyer's webhook (None before they create one) and its last 50 calls, newest first."""
    with db_router.primary():
        webhook = DispositionWebhook.objects.filter(buyer=buyer).first()
        events = list(webhook.events.order_by("-received_at", "-id")[:EVENTS_LIMIT]) if webhook else []
    return webhook, events
