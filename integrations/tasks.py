"""Thin delivery tasks (queue integrations.deliver; routes: config/queues.py) and the queueing
helpers the signal receiver, pages, API and admin use.

HTTP failures are not Celery retries: each delivery keeps its own schedule
(INTEGRATIONS_RETRY_SCHEDULE, up to ~24 h) on its row. A retry due soon is queued with a
countdown; a later one, and a send whose worker died, is picked up by the integrations.deliver_due
sweep (celery beat every 10 s; the embedded profile's sweeper thread). PipelineTask still retries
transient infrastructure errors (the database, the broker) and dead-letters the task after 3.
"""

import logging

from django.conf import settings
from django.db import transaction

from config.celery import app
from core.pipeline import PipelineTask
from integrations.services import deliveries

logger = logging.getLogger(__name__)


def delivery_queue(*, delivery_id: int, countdown: float = 0) -> None:
    """Queue one attempt of a delivery once the current transaction commits."""
    transaction.on_commit(
        lambda: deliver.apply_async(kwargs={"delivery_id": delivery_id}, countdown=countdown or None), robust=True
    )


def on_purchase_ready(sender, *, sale_id: int, buyer_id: int, **kwargs) -> None:
    """escrow.signals.purchase_ready (after commit; connected in IntegrationsConfig.ready): create
    the purchase's deliveries and queue them."""
    for delivery_id in deliveries.deliveries_create_for_sale(sale_id=sale_id):
        delivery_queue(delivery_id=delivery_id)


@app.task(name="integrations.deliver", base=PipelineTask)
def deliver(*, delivery_id: int, revive: bool = False) -> str:
    """Stage integrations.deliver: one attempt if due (idempotent), then queue the retry if it is
    due soon. `revive`: a staff replay of a dead-lettered delivery."""
    if revive:
        deliveries.delivery_revive(delivery_id=delivery_id)
    result = deliveries.delivery_attempt(delivery_id=delivery_id)
    wait = result.call_again_in
    if wait is not None and wait <= settings.INTEGRATIONS_COUNTDOWN_MAX and not app.conf.task_always_eager:
        deliver.apply_async(kwargs={"delivery_id": delivery_id}, countdown=max(wait, 0.05))
    return result.state


@app.task(name="integrations.deliver_due", base=PipelineTask)
def deliver_due() -> int:
    """Periodic: queue every delivery whose attempt is due or whose send lost its worker."""
    ids = deliveries.delivery_due_ids()
    for delivery_id in ids:
        deliver.apply_async(kwargs={"delivery_id": delivery_id})
    return len(ids)
