"""The events a user can be notified of, and how each is delivered by default."""

from dataclasses import dataclass

from django.db import models


class NotificationEvent(models.TextChoices):
    OUTBID = "outbid", "Outbid"
    WON = "won", "Auction won"
    LOST = "lost", "Auction lost"
    LEAD_SOLD = "lead_sold", "Lead sold"
    PURCHASE_READY = "purchase_ready", "Purchase ready (contact details readable)"
    DISPUTE_OPENED = "dispute_opened", "Dispute opened"
    DISPUTE_ANSWERED = "dispute_answered", "Dispute answered"
    DISPUTE_DECIDED = "dispute_decided", "Dispute decided"
    IMPORT_FINISHED = "import_finished", "CSV import finished"
    DEPOSIT_CREDITED = "deposit_credited", "Deposit credited"
    WITHDRAWAL_PAID = "withdrawal_paid", "Withdrawal paid"
    EARNINGS_RELEASED = "earnings_released", "Earnings released"
    LOW_BALANCE = "low_balance", "Low balance"


class EmailStatus(models.TextChoices):
    NONE = "none", "Not emailed"
    QUEUED = "queued", "Queued"
    DIGEST = "digest", "Waiting for the digest"
    SENT = "sent", "Sent"


@dataclass(frozen=True)
class Channels:
    in_app: bool
    email: bool


E = NotificationEvent
# What a user gets when they have not chosen (no NotificationPreference row). Frequent events whose
# news the live pages already show (outbid, lost) stay off email; money and results go both ways.
DEFAULTS: dict[str, Channels] = {
    E.OUTBID: Channels(in_app=True, email=False),
    E.WON: Channels(in_app=True, email=True),
    E.LOST: Channels(in_app=True, email=False),
    E.LEAD_SOLD: Channels(in_app=True, email=True),
    E.PURCHASE_READY: Channels(in_app=True, email=True),
    E.DISPUTE_OPENED: Channels(in_app=True, email=True),
    E.DISPUTE_ANSWERED: Channels(in_app=True, email=True),
    E.DISPUTE_DECIDED: Channels(in_app=True, email=True),
    E.IMPORT_FINISHED: Channels(in_app=True, email=True),
    E.DEPOSIT_CREDITED: Channels(in_app=True, email=True),
    E.WITHDRAWAL_PAID: Channels(in_app=True, email=True),
    E.EARNINGS_RELEASED: Channels(in_app=True, email=True),
    E.LOW_BALANCE: Channels(in_app=True, email=True),
}

# High-volume events: their emails are collected and sent as one digest per period
# (notifications.services.digest_send_due); in the app each stays its own notification.
DIGEST_EVENTS = frozenset({E.LEAD_SOLD})
