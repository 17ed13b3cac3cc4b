"""Thin tasks for chain transactions: ids in, one service call. Routes: config/queues.py."""

from chain.transactions import chain_tx_poll_pending, chain_tx_send
from config.celery import app
from core.pipeline import PipelineTask


@app.task(name="chain.send_tx", base=PipelineTask)
def send_tx(*, tx_id: int) -> str:
    """Broadcast a pending ChainTransaction (a no-op once it is sent: safe to run twice)."""
    return chain_tx_send(tx_id=tx_id).status


@app.task(name="chain.poll_txs", base=PipelineTask)
def poll_txs() -> int:
    """Periodic (celery beat, every 5 s): confirmations, stuck and dropped re-sends."""
    return chain_tx_poll_pending()
