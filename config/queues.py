"""The pipeline's queues and the one routing table. Always add routes here.

Every task has an explicit, stable name; a test fails when a registered task has no route.
"""

from kombu import Exchange, Queue

# One queue per pipeline stage (ARCHITECTURE.md, "Pipeline").
STAGE_QUEUES = (
    "leads.ingest",
    "leads.score",
    "auctions.open",
    "auctions.close",
    "escrow.settle",
    "chain.mint",
    "chain.tx",
    "bounties.match",
    "notify",
    "analytics",
    "integrations.deliver",
)

# The periodic sweeps (beat, every few seconds) get a queue and a process of their own: on the
# close queue a sweep waited behind the very backlog it exists to catch and expired unrun.
CLOCK_QUEUES = ("auctions.clock",)

# Worker groups for the Procfile: each process consumes a set of queues, so a slow stage
# (chain) cannot starve a fast one (auctions).
WORKER_GROUPS = {
    "intake": ("leads.ingest", "leads.score"),
    "auctions": ("auctions.open", "auctions.close", "bounties.match"),
    "settlement": ("escrow.settle", "chain.mint", "chain.tx"),
    "background": ("notify", "analytics", "default"),
    "clock": CLOCK_QUEUES,
    # Deliveries wait on buyers' servers (up to the outbound timeouts): never behind the pipeline.
    "integrations": ("integrations.deliver",),
}

# Each queue has its own direct exchange and routing key: a message for one stage lands in
# that stage's queue only (on Redis and on RabbitMQ alike).
CELERY_TASK_QUEUES = tuple(
    Queue(name, Exchange(name, type="direct"), routing_key=name) for name in (*STAGE_QUEUES, *CLOCK_QUEUES, "default")
)

# task name -> queue
TASK_ROUTES: dict[str, str] = {
    "notify.send_welcome_email": "notify",
    "notify.send_verification_email": "notify",
    "notify.send_user_notice": "notify",
    "notify.send_email": "notify",
    "notify.send_digests": "notify",
    "analytics.refresh_rollups": "analytics",
    "leads.score_lead": "leads.score",
    "leads.score_leads": "leads.score",
    "leads.import_csv": "leads.ingest",
    "leads.process_ad_event": "leads.ingest",
    "leads.refresh_seller_reputation": "default",
    "auctions.open_auction": "auctions.open",
    "auctions.close_auction": "auctions.close",
    "auctions.close_due": "auctions.clock",
    "auctions.expire_buy_now": "auctions.clock",
    "auctions.autobid_tune": "default",
    "chain.send_tx": "chain.tx",
    "chain.poll_txs": "chain.tx",
    "escrow.settle_sale": "escrow.settle",
    "escrow.advance": "escrow.settle",
    "escrow.reconcile": "escrow.settle",
    "escrow.index_vault": "escrow.settle",
    "escrow.dispute_apply": "escrow.settle",
    "chain.mint_flush": "chain.mint",
    "integrations.deliver": "integrations.deliver",
    "integrations.deliver_due": "integrations.deliver",
}

CELERY_TASK_ROUTES = {name: {"queue": queue} for name, queue in TASK_ROUTES.items()}


def queue_for(task_name: str) -> str:
    return TASK_ROUTES.get(task_name, "default")
