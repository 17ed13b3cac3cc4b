"""Thin settlement tasks: ids in, one service call. Routes: config/queues.py."""

import logging

from django.db import transaction

from chain.client import ChainUnavailable
from config.celery import app
from core.pipeline import PipelineTask, TransientError
from escrow.notices import purchase_ready_notify
from escrow.services.disputes import disputes_advance
from escrow.services.reconcile import reconcile as run
from escrow.services.settlement import mint_flush as flush
from escrow.services.settlement import settlement_advance, settlement_enabled, settlement_fund
from escrow.signals import purchase_ready_send

logger = logging.getLogger(__name__)


def settle_sale_schedule(sender, *, sale, **kwargs) -> None:
    """auctions.signals.sale_recorded (inside the sale's transaction; connected in EscrowConfig.ready):
    queue escrow.settle_sale once it commits, when sales settle on chain. A sale settled in the
    ledger only was paid with the sale: its buyer may read the contact details at once."""
    if not settlement_enabled():
        purchase_ready_notify(sale_id=sale.pk, buyer_id=sale.buyer_id)
        purchase_ready_send(sale_id=sale.pk, buyer_id=sale.buyer_id)
        return
    sale_id = sale.pk
    # robust: a broker (or, in the embedded profile, a chain node) that fails here must not turn
    # the committed sale into an error for whoever closed it; escrow.advance opens what was missed.
    transaction.on_commit(lambda: settle_sale.delay(sale_id=sale_id), robust=True)


@app.task(name="escrow.advance", base=PipelineTask)
def advance() -> dict:
    """Periodic (celery beat, every 2 s): move settlements on from confirmed transactions, flush
    mint batches, release deals past their dispute window, pass dispute deadlines and move decided
    disputes' refunds. Idempotent."""
    try:
        return {**settlement_advance(), **disputes_advance()}
    except ChainUnavailable as exc:  # a periodic task: the next beat tries again
        logger.warning("escrow.advance: %s", exc)
        return {}


def _transient(exc: Exception) -> Exception:
    return TransientError(f"chain unavailable: {exc}")


@app.task(name="escrow.settle_sale", base=PipelineTask)
def settle_sale(*, sale_id: int) -> str:
    """Stage escrow.settle: open the sale's settlement and send its escrow funding (idempotent).
    A node that is down retries with backoff, then dead-letters for replay."""
    try:
        return settlement_fund(sale_id=sale_id).state
    except ChainUnavailable as exc:
        raise _transient(exc) from exc


@app.task(name="chain.mint_flush", base=PipelineTask)
def mint_flush() -> int:
    """Stage chain.mint: send full (or old enough) batches of funded sales."""
    try:
        return flush()
    except ChainUnavailable as exc:
        raise _transient(exc) from exc


@app.task(name="escrow.reconcile", base=PipelineTask)
def reconcile() -> dict:
    """Periodic (celery beat, every minute): the books against the chain (escrow/services/reconcile.py)."""
    try:
        return run()
    except ChainUnavailable as exc:
        logger.warning("escrow.reconcile: %s", exc)
        return {}
