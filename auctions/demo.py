"""Demo auctions for `make run` (never production): the seeded leads' auctions spread out.

The 36 seeded leads are scored and listed in the same second, so their auctions would all close
together a couple of minutes later. demo_auctions_stagger gives them deadlines a few seconds
apart, as if the leads had arrived one by one; the demo seller's ticker (leads/demo.py) then
keeps new ones coming.
"""

import math
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from auctions.choices import AuctionStatus
from auctions.models import Auction


@transaction.atomic
def demo_auctions_stagger(*, seller, spacing_seconds: int = 20, now: datetime | None = None) -> int:
    """Spread the deadlines of the seller's open auctions: the k-th (oldest first) closes
    k × spacing_seconds after the first, which keeps its deadline. Only pushes deadlines later,
    so no auction closes earlier than its terms said. Returns how many auctions moved."""
    now = now or timezone.now()
    auctions = list(
        Auction.objects.select_for_update()
        .filter(seller=seller, status=AuctionStatus.OPEN, deadline__gt=now)
        .order_by("deadline", "id")
    )
    if not auctions:
        return 0
    first = auctions[0].deadline
    moved = 0
    for k, auction in enumerate(auctions):
        wanted = first + timedelta(seconds=k * spacing_seconds) - auction.opened_at
        duration = max(auction.duration_seconds, math.ceil(wanted.total_seconds()))
        if duration != auction.duration_seconds:  # whole seconds: deadline = opened_at + duration
            auction.duration_seconds = duration
            auction.deadline = auction.opened_at + timedelta(seconds=duration)
            auction.save(update_fields=["deadline", "duration_seconds"])
            moved += 1
    return moved
