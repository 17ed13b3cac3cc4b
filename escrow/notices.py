"""What escrow tells buyers and sellers (notifications.services.notify), in one place so each
service calls one line. No lead PII: sales, amounts and links only."""

from django.urls import reverse

from core.display import usdc_text
from notifications.choices import NotificationEvent
from notifications.services import notify


def purchase_ready_notify(*, sale_id: int, buyer_id: int) -> None:
    """The buyer may now read the lead's contact details (its money reached escrow)."""
    notify(
        user_id=buyer_id,
        event=NotificationEvent.PURCHASE_READY,
        title=f"Purchase {sale_id} is ready: the contact details are open",
        body="Your payment reached escrow. Open the purchase to read the lead's contact details.",
        url=reverse("escrow:purchase-detail", args=[sale_id]),
        key=f"purchase_ready:{sale_id}",
    )


def earnings_released_notify(*, settlement) -> None:
    notify(
        user_id=settlement.sale.seller_id,
        event=NotificationEvent.EARNINGS_RELEASED,
        title=f"{usdc_text(settlement.seller_amount)} released for sale {settlement.sale_id}",
        body="The dispute window is over and escrow paid you (any bounties of the sale come with it).",
        url=reverse("wallet"),
        key=f"released:{settlement.sale_id}",
    )


def deposit_credited_notify(*, user_id: int, event_id: int, amount) -> None:
    notify(
        user_id=user_id,
        event=NotificationEvent.DEPOSIT_CREDITED,
        title=f"Deposit of {usdc_text(amount)} credited",
        body="It is in your available balance.",
        url=reverse("wallet"),
        key=f"deposit:{event_id}",
    )


def withdrawal_paid_notify(*, withdrawal) -> None:
    notify(
        user_id=withdrawal.user_id,
        event=NotificationEvent.WITHDRAWAL_PAID,
        title=f"Withdrawal of {usdc_text(withdrawal.amount)} paid",
        body=f"The vault sent it to {withdrawal.to_address}.",
        url=reverse("wallet"),
        key=f"withdrawal:{withdrawal.pk}",
    )


_DISPUTE_EVENTS = {
    "opened": NotificationEvent.DISPUTE_OPENED,
    "answered": NotificationEvent.DISPUTE_ANSWERED,
    "decided": NotificationEvent.DISPUTE_DECIDED,
    "closed": NotificationEvent.DISPUTE_DECIDED,
}
_DISPUTE_TITLES = {
    "opened": "A buyer disputed your sale {sale}",
    "answered": "Dispute on sale {sale} answered",
    "decided": "Dispute on sale {sale} decided",
    "closed": "Refund of the dispute on sale {sale} done",
}


def dispute_notify(*, user_id: int, kind: str, dispute, text: str) -> None:
    """A party to a dispute is told what changed (opened, answered, decided, refund done); once per
    dispute, change and state."""
    notify(
        user_id=user_id,
        event=_DISPUTE_EVENTS[kind],
        title=_DISPUTE_TITLES[kind].format(sale=dispute.sale_id),
        body=text,
        url=reverse("dispute-detail", args=[dispute.pk]),
        key=f"dispute:{dispute.pk}:{kind}:{dispute.state}",
    )
