"""Builders for the dispute pages' and admin's tests, without the chain: a purchase whose escrow
deal is recorded as funded and minted (tests.escrow.test_purchases.settle), and a dispute opened
on it through the real service."""

from datetime import timedelta

from django.utils import timezone

from escrow.services.disputes import dispute_open
from tests.escrow.dispute_helpers import png
from tests.escrow.test_purchases import make_purchase, settle

EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64


def disputable(*, buyer=None, seller=None, t0=None):
    """A minted purchase in its dispute window: (sale, settlement). Its auction runs from `t0`
    (an hour ago; pass now where committed auctions close by their own task)."""
    sale = make_purchase(t0=t0 or timezone.now() - timedelta(hours=1), buyer=buyer, seller=seller)
    return sale, settle(sale)


def opened(sale, *, reason: str = "invalid_phone", statement: str = "The number is disconnected.", files=None):
    return dispute_open(
        buyer=sale.buyer, sale_id=sale.pk, reason=reason, statement=statement, files=[png()] if files is None else files
    )
