"""The embedded profile's settlement beat (`make run` has no celery beat): config/asgi.py hands
it to the embedded sweeper thread (auctions/clock.py), which calls it every second; runs what CELERY_BEAT_SCHEDULE runs in
production — the chain poller and escrow.advance every 2 s, the vault indexer every 2 s,
reconciliation every minute — while a chain node answers. Quiet when there is none."""

import logging
import time

from django.conf import settings

from chain.client import ChainUnavailable
from chain.transactions import chain_tx_poll_pending
from escrow.services.reconcile import reconcile
from escrow.services.settlement import settlement_advance, settlement_enabled
from escrow.tasks.funds import index_vault

logger = logging.getLogger(__name__)

_last: dict[str, float] = {}
_node_down_logged = False


def _due(name: str, every: float) -> bool:
    now = time.monotonic()
    if now - _last.get(name, 0.0) >= every:
        _last[name] = now
        return True
    return False


def settlement_tick() -> None:
    global _node_down_logged
    if not settlement_enabled():
        return
    try:
        if _due("advance", 2.0):
            chain_tx_poll_pending()
            settlement_advance()
        if _due("index", 2.0):
            index_vault.run()
        if _due("reconcile", 60.0):
            reconcile()
        _node_down_logged = False
    except ChainUnavailable as exc:
        if not _node_down_logged:
            logger.warning("settlement paused: no chain node at %s (%s)", settings.CHAIN_RPC_URL, exc)
            _node_down_logged = True
