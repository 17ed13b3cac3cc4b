"""Thin tasks for deposits and withdrawals (escrow/services/deposits.py, escrow/services/withdrawals.py).
Routes: config/queues.py."""

import logging

from web3.exceptions import Web3RPCError

from chain.client import ChainMisconfigured, ChainUnavailable, chain_enabled
from config.celery import app
from core.pipeline import PipelineTask
from escrow.services.deposits import VaultUnavailable, vault_index
from escrow.services.exits import claims_cover
from escrow.services.sweeps import wallet_sweeps_retry
from escrow.services.withdrawals import withdrawal_advance

logger = logging.getLogger(__name__)


@app.task(name="escrow.index_vault", base=PipelineTask)
def index_vault() -> dict:
    """Periodic (celery beat, every 2 s): apply confirmed vault logs to the ledger, complete or
    refund withdrawals whose transaction is final, and cover the vault claims still open (exits,
    outflows). Idempotent. A node that is down or a vault that is not deployed is a no-op
    (logged): the next beat tries again."""
    if not chain_enabled():  # no node configured (the embedded profile): nothing to index
        return {"applied": 0}
    try:
        applied = vault_index()
    except VaultUnavailable as exc:
        logger.debug("escrow.index_vault: %s", exc)
        applied = 0
    except (ChainUnavailable, ChainMisconfigured, Web3RPCError) as exc:  # the node: retried next beat
        logger.warning("escrow.index_vault: %s", exc)
        return {"applied": 0}
    return {
        "applied": applied,
        **withdrawal_advance(),
        "claims_open": claims_cover(),
        **({"sweeps": n} if (n := wallet_sweeps_retry()) else {}),
    }
