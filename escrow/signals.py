"""What escrow tells others: higher layers connect in their AppConfig.ready (escrow imports none of
them), and escrow's own tasks, so that its services never import its tasks.

purchase_ready(sale_id, buyer_id): a sale's contact details became readable by its buyer (the money
reached escrow on chain, or the sale settled in the ledger only). Sent once the transaction that
made it so commits; integrations delivers the lead into the buyer's systems on it.

dispute_refund_decided(dispute_id): sent after the commit that decided a dispute for a refund;
escrow.tasks.disputes queues escrow.dispute_apply (connected in EscrowConfig.ready)."""

from django.db import transaction
from django.dispatch import Signal

purchase_ready = Signal()
dispute_refund_decided = Signal()


def purchase_ready_send(*, sale_id: int, buyer_id: int) -> None:
    """Send purchase_ready after the current transaction commits (at once outside one). Robust: a
    failing receiver is logged and never turns the committed settlement step into an error."""
    transaction.on_commit(
        lambda: purchase_ready.send_robust(sender=None, sale_id=sale_id, buyer_id=buyer_id), robust=True
    )
