"""What auctions announce to the apps that build on them (escrow settles a sale), so that the
dependency keeps pointing one way: escrow imports auctions, never the reverse."""

from django.dispatch import Signal

# Sent inside the sale's transaction by auctions.sales.sale_record, kwargs: sale. Receivers that
# start work elsewhere must do it on commit.
sale_recorded = Signal()
