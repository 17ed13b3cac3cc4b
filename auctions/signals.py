"""What auctions announce to the apps that build on them (escrow settles a sale), so that the
dependency keeps pointing one way: escrow imports auctions, never the reverse."""

from django.dispatch import Signal

# Sent inside the sale's transaction by auctions.sales.sale_record, kwargs: sale. Receivers that
# start work elsewhere must do it on commit.
sale_recorded = Signal()

# Checks an app above auctions adds (escrow, in its AppConfig.ready): each is called as
# check(buyer=<user or user id>, settle_by=datetime) before a bid, a buy-now or a bounty payout
# commits the buyer's money to a sale that must be paid by `settle_by`, and returns None or the
# reason (in words) the money cannot be promised; the bid or purchase is then refused with that
# reason, the bounty skipped.
FUNDS_CHECKS: list = []


def funds_check(*, buyer, settle_by) -> str | None:
    """The first reason any registered check gives, or None."""
    for check in FUNDS_CHECKS:
        reason = check(buyer=buyer, settle_by=settle_by)
        if reason:
            return reason
    return None
