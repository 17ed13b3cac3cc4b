"""What auctions tell buyers and sellers (notifications.services.notify), in one place so each
service calls one line. No lead PII: auctions, sales, verticals and prices only."""

from decimal import Decimal

from django.urls import reverse

from core.display import usdc_text
from notifications.choices import NotificationEvent
from notifications.services import notify


def outbid_notify(*, auction_id: int, buyer_id: int, price: Decimal, sequence: int) -> None:
    notify(
        user_id=buyer_id,
        event=NotificationEvent.OUTBID,
        title=f"You were outbid on auction {auction_id}",
        body=f"The price is now {usdc_text(price)}. Raise your maximum to lead again.",
        url=reverse("auction-room", args=[auction_id]),
        key=f"outbid:{auction_id}:{sequence}",
    )


def result_notify(*, auction_id: int, buyer_id: int, won: bool, price: Decimal | None) -> None:
    if won:
        title = f"You won auction {auction_id}"
        body = f"You pay {usdc_text(price)}. The contact details open once your payment reaches escrow."
    else:
        title, body = f"Auction {auction_id} closed: you did not win", "Your held funds are released."
    notify(
        user_id=buyer_id,
        event=NotificationEvent.WON if won else NotificationEvent.LOST,
        title=title,
        body=body,
        url=reverse("my-wins") if won else reverse("auction-room", args=[auction_id]),
        key=f"result:{auction_id}",
    )


def lead_sold_notify(*, sale) -> None:
    """The seller's sale (a digest event: its emails are collected)."""
    notify(
        user_id=sale.seller_id,
        event=NotificationEvent.LEAD_SOLD,
        title=f"Lead {sale.lead_id} sold for {usdc_text(sale.price)}",
        body=f"Sale {sale.pk}. Your earnings are released after the dispute window.",
        url=reverse("seller-lead-detail", args=[sale.lead_id]),
        key=f"sold:{sale.pk}",
    )
