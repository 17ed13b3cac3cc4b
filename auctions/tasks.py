"""Thin tasks for the auction stages: ids in, one service call. Routes: config/queues.py."""

from config.celery import app
from core.pipeline import PipelineTask


@app.task(name="auctions.open_auction", base=PipelineTask)
def open_auction(*, lead_id: int) -> int | None:
    from auctions.services import auction_open

    auction = auction_open(lead_id=lead_id)
    return auction.pk if auction else None


def open_auction_queue(*, lead_id: int, **kwargs) -> None:
    """leads.signals.lead_scored (sent on commit): queue the auctions.open stage for the lead."""
    open_auction.delay(lead_id=lead_id)


@app.task(name="auctions.close_auction", base=PipelineTask)
def close_auction(*, auction_id: int) -> str | None:
    """Queued with eta=deadline when an auction opens or is extended; early runs are no-ops."""
    from auctions.services import auction_close

    auction = auction_close(auction_id=auction_id)
    return auction.status if auction else None


@app.task(name="auctions.close_due", base=PipelineTask)
def close_due() -> int:
    """The periodic safety net (celery beat, every 5 s): close every overdue open auction."""
    from auctions.services import auction_close_due

    return auction_close_due()


@app.task(name="auctions.expire_buy_now", base=PipelineTask)
def expire_buy_now() -> int:
    """Periodic (celery beat, every 60 s): expire open buy-now listings past their expiry."""
    from auctions.buynow import buy_now_expire_due

    return buy_now_expire_due()
