"""What auctions announce to the apps that build on them (escrow settles a sale), so that the
dependency keeps pointing one way: escrow imports auctions, never the reverse."""

from django.dispatch import Signal

# What the auction services announce to the rest of their own app (auctions/apps.py connects the
# receivers), so that the services never import autobid or the tasks, which import them.
# After the transaction that opened an auction, or extended its deadline, commits; kwargs:
# auction_id, deadline. The close is queued for the deadline.
auction_deadline_set = Signal()
# After the transaction that opened an auction commits, kwargs: auction_id, vertical_ids (its
# vertical's chain, root first), seller_id. Autobid rules bid.
auction_opened = Signal()
# Inside auction_close's transaction, holding the auction row, before any ledger row is locked;
# kwargs: auction, winner_buyer_id, price (None when unsold), now. Autobid trues up its budgets.
auction_closing = Signal()

# Sent inside the sale's transaction by auctions.services.sales.sale_record, kwargs: sale. Receivers that
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
