"""Listing a lead in the transaction that scored it (the leads.score stage).

Opening the auction was a hop of its own: commit the score, publish auctions.open, a worker takes
it, locks the lead again and opens. The score stage now offers the lead to the listing app in the
scoring transaction (leads.signals.lead_accepted: leads never imports auctions). When that fails,
a savepoint undoes only the listing, the score commits, and the auctions.open stage takes the
lead from its queue with its own retries and dead letters, exactly as before.
"""

import logging

from django.db import InterfaceError, OperationalError, transaction

from leads.models import Lead
from leads.signals import lead_accepted

logger = logging.getLogger(__name__)


def lead_list_now(*, lead: Lead, schema: list) -> bool:
    """Offer a lead accepted by scoring to the listing app, in the caller's transaction (the caller
    holds the lead's row lock). True when a receiver listed it; False when none did or one failed
    (the lead is then as scoring left it, and the caller queues the listing stage)."""
    status = lead.status
    try:
        with transaction.atomic():
            responses = lead_accepted.send(sender=Lead, lead=lead, schema=schema)
    except (OperationalError, InterfaceError):
        raise  # the connection or the transaction is in trouble: the whole stage retries
    except Exception:
        if transaction.get_connection().needs_rollback:
            raise
        # A bug or a bad configuration: the listing stage's task retries it or dead-letters it.
        logger.exception("listing in the scoring transaction failed", extra={"lead_id": lead.pk})
        lead.status = status  # the savepoint undid the status change in the database, not in memory
        return False
    return any(response for _receiver, response in responses)
