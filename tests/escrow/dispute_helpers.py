"""Builders for dispute tests: a funded (and minted) sale on anvil, evidence files, and a clock
moved past deadlines by passing `now`."""

from datetime import timedelta
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from escrow.models import Settlement
from escrow.services.settlement import mint_flush, settlement_fund
from tests.escrow.settlement_helpers import make_sale, settle_rounds

D = Decimal
# The smallest valid PNG (a 1×1 pixel): recognised by its content.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f0"
    "1f0005000201a5f5c8a30000000049454e44ae426082"
)


def minted_sale(*, price: Decimal = D("40"), **kwargs):
    """A sale whose escrow deal is funded and whose LeadNFT is minted (the usual disputed state)."""
    sale = make_sale(price=price, **kwargs)
    settlement_fund(sale_id=sale.pk)
    settle_rounds(2)
    mint_flush(force=True)
    settle_rounds(2)
    s = Settlement.objects.get(sale=sale)
    assert s.state == Settlement.State.MINTED, s.error
    return sale, s


def png(name: str = "screenshot.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PNG, content_type="image/png")


def after_window(s: Settlement) -> timezone.datetime:
    return s.release_after + timedelta(seconds=1)
