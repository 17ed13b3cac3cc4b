"""Signals escrow sends, so that its services never import its tasks (nor higher apps)."""

from django.dispatch import Signal

# Sent after the commit that decided a dispute for a refund; kwargs: dispute_id. escrow.tasks.disputes
# queues escrow.dispute_apply (connected in EscrowConfig.ready).
dispute_refund_decided = Signal()
