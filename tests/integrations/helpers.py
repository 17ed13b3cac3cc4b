"""Builders for the delivery tests: a ready purchase (ledger-only settlement: its contact details
are readable at once) and destinations."""

from datetime import timedelta

from django.utils import timezone

from integrations.services.destinations import destination_create
from tests.escrow.test_purchases import CONTACT, make_purchase

__all__ = ["CONTACT", "ready_purchase", "webhook_to"]


def ready_purchase(**kwargs):
    t0 = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    sale = make_purchase(t0=t0, **kwargs)
    sale.lead.correlation_id = f"cid-{sale.lead_id}"
    sale.lead.save(update_fields=["correlation_id"])
    return sale


def webhook_to(url: str, *, owner, **fields):
    """A webhook destination for `owner`; returns (destination, signing secret)."""
    return destination_create(owner=owner, kind="webhook", name="My CRM hook", url=url, **fields)
