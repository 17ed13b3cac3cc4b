"""Escrow's Celery tasks. Celery's autodiscovery imports this package; importing the modules here
registers their tasks (settlement: escrow.settle_sale, escrow.advance, chain.mint_flush,
escrow.reconcile; funds: escrow.index_vault; disputes: escrow.dispute_apply)."""

from escrow.tasks import disputes, funds, settlement  # noqa: F401
