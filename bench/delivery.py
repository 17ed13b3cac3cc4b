"""Purchase → delivered to a local receiver (issue #14): p50/p95 with BENCH_DELIVERY_N purchases
(default 100) ready at once (target p95 ≤ 2 s).

Setup: the throwaway bench database; BENCH_DELIVERY_N ledger-settled purchases of one buyer with
contact details in the vault; a webhook destination to a local HTTP server (a thread of this
process, tests/integrations/receiver.py, answering 200 and checking the signature); one Celery
worker on integrations.deliver as the Procfile runs it (-c 4, prefetch 1).
Load: purchase_ready for every purchase at once (the signal's receiver, as escrow sends it). The
latency of each is from that moment to the delivery's delivered_at (the answer recorded).
Figures are printed only; nothing here asserts a timing.
"""

import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path

N = int(os.environ.get("BENCH_DELIVERY_N", "100"))
TARGET_P95_S = 2.0


def run() -> None:
    from django.utils import timezone

    from bench.common import header, print_table, row, throwaway_database
    from config.queues import WORKER_GROUPS
    from integrations.models import Delivery
    from integrations.tasks import on_purchase_ready
    from tests.conftest import wait_for
    from tests.escrow.test_purchases import make_purchase
    from tests.integrations.helpers import webhook_to
    from tests.integrations.receiver import start_receiver, stop_receiver
    from tests.workers import WorkerProcess

    print(header(f"delivery, {N} purchases at once"))
    with throwaway_database() as database_name:
        t0 = timezone.now().replace(microsecond=0) - timedelta(hours=1)
        first = make_purchase(t0=t0)
        sales = [first] + [make_purchase(t0=t0, buyer=first.buyer) for _ in range(N - 1)]
        receiver = start_receiver()
        _, receiver.secret = webhook_to(receiver.url("/ok"), owner=first.buyer)
        worker = WorkerProcess(
            database_name,
            Path(tempfile.mkdtemp(prefix="bench-delivery-")),
            concurrency=4,
            queues=list(WORKER_GROUPS["integrations"]),
        ).start()
        try:
            started = time.time()
            for sale in sales:
                on_purchase_ready(None, sale_id=sale.pk, buyer_id=sale.buyer_id)
            wait_for(
                lambda: Delivery.objects.filter(state=Delivery.State.DELIVERED).count() >= N,
                timeout=120 + N,
                interval=0.1,
                message="every delivery",
            )
            delivered = list(Delivery.objects.values_list("delivered_at", flat=True))
            latencies = [d.timestamp() - started for d in delivered]
            bad = sum(1 for r in receiver.requests if r.signature_ok is not True)
        finally:
            worker.stop()
            stop_receiver(receiver)
    r = row("purchase ready → delivered (webhook, local receiver)", N, latencies, per_s=N / max(latencies))
    print_table([r])
    print(
        f"bad signatures: {bad}; target p95 ≤ {TARGET_P95_S:.0f} s: {'met' if r['p95'] / 1000 <= TARGET_P95_S else 'MISSED'}"
    )
