"""Thin settlement tasks: ids in, one service call. Routes: config/queues.py."""

from config.celery import app
from escrow import tasks_funds  # noqa: F401 - deposits and withdrawals register their tasks there
from marketplace.pipeline import PipelineTask


@app.task(name="escrow.advance", base=PipelineTask)
def advance() -> dict:
    """Periodic (celery beat, every 2 s): move settlements on from confirmed transactions, flush
    mint batches, release deals past their dispute window. Idempotent."""
    from escrow.settlement import settlement_advance

    return settlement_advance()
