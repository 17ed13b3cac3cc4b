"""Thin tasks for the auction stages: ids in, one service call. Routes: config/queues.py."""

from auctions.services.auctions import auction_close, auction_close_due, auction_open
from auctions.services.autobid_tuning import autobid_tune_due
from auctions.services.buynow import buy_now_expire_due
from config.celery import app
from core.pipeline import PipelineTask


@app.task(name="auctions.open_auction", base=PipelineTask)
def open_auction(*, lead_id: int) -> int | None:
    auction = auction_open(lead_id=lead_id)
    return auction.pk if auction else None


def close_auction_schedule(*, auction_id: int, deadline, **kwargs) -> None:
    """auctions.signals.auction_deadline_set (on commit): the close, queued for the deadline."""
    close_auction.apply_async(kwargs={"auction_id": auction_id}, eta=deadline)


def open_auction_queue(*, lead_id: int, listed: bool = False, **kwargs) -> None:
    """leads.signals.lead_scored (sent on commit): queue the auctions.open stage for the lead,
    unless the scoring transaction already opened its auction (auction_open_scored)."""
    if not listed:
        open_auction.delay(lead_id=lead_id)


@app.task(name="auctions.close_auction", base=PipelineTask)
def close_auction(*, auction_id: int) -> str | None:
    """Queued with eta=deadline when an auction opens or is extended; early runs are no-ops."""
    auction = auction_close(auction_id=auction_id)
    return auction.status if auction else None


@app.task(name="auctions.close_due", base=PipelineTask)
def close_due() -> int:
    """The periodic safety net (celery beat, every 5 s): close every overdue open auction."""
    return auction_close_due()


@app.task(name="auctions.expire_buy_now", base=PipelineTask)
def expire_buy_now() -> int:
    """Periodic (celery beat, every 60 s): expire open buy-now listings past their expiry."""
    return buy_now_expire_due()


@app.task(name="auctions.autobid_tune", base=PipelineTask)
def autobid_tune() -> int:
    """Periodic (celery beat, daily): move opted-in autobid rules' maxima to their suggestion
    within the buyer's bounds (auctions.services.autobid_tuning; at most once a day per rule)."""
    return autobid_tune_due()
