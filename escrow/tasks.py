"""Thin settlement tasks: ids in, one service call. Routes: config/queues.py."""

import logging

from config.celery import app
from core.pipeline import PipelineTask
from escrow import tasks_funds  # noqa: F401 - deposits and withdrawals register their tasks there

logger = logging.getLogger(__name__)


@app.task(name="escrow.advance", base=PipelineTask)
def advance() -> dict:
    """Periodic (celery beat, every 2 s): move settlements on from confirmed transactions, flush
    mint batches, release deals past their dispute window. Idempotent."""
    from chain.client import ChainUnavailable
    from escrow.settlement import settlement_advance

    try:
        return settlement_advance()
    except ChainUnavailable as exc:  # a periodic task: the next beat tries again
        logger.warning("escrow.advance: %s", exc)
        return {}


def _transient(exc: Exception) -> Exception:
    from core.pipeline import TransientError

    return TransientError(f"chain unavailable: {exc}")


@app.task(name="escrow.settle_sale", base=PipelineTask)
def settle_sale(*, sale_id: int) -> str:
    """Stage escrow.settle: open the sale's settlement and send its escrow funding (idempotent).
    A node that is down retries with backoff, then dead-letters for replay."""
    from chain.client import ChainUnavailable
    from escrow.settlement import settlement_fund

    try:
        return settlement_fund(sale_id=sale_id).state
    except ChainUnavailable as exc:
        raise _transient(exc) from exc


@app.task(name="chain.mint_flush", base=PipelineTask)
def mint_flush() -> int:
    """Stage chain.mint: send full (or old enough) batches of funded sales."""
    from chain.client import ChainUnavailable
    from escrow.settlement import mint_flush as flush

    try:
        return flush()
    except ChainUnavailable as exc:
        raise _transient(exc) from exc


@app.task(name="escrow.reconcile", base=PipelineTask)
def reconcile() -> dict:
    """Periodic (celery beat, every minute): the books against the chain (escrow/reconcile.py)."""
    from chain.client import ChainUnavailable
    from escrow.reconcile import reconcile as run

    try:
        return run()
    except ChainUnavailable as exc:
        logger.warning("escrow.reconcile: %s", exc)
        return {}
