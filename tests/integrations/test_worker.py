"""Delivery through a real Celery worker on the integrations.deliver queue: retries on the
delivery's own schedule, and at-least-once when the worker process dies mid-send."""

import os
import signal
from pathlib import Path

import pytest

from integrations.models import Delivery
from integrations.tasks import on_purchase_ready
from tests.conftest import wait_for
from tests.integrations.helpers import ready_purchase, webhook_to

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def test_the_worker_retries_a_failing_target_and_delivers_once(celery_worker, receiver):
    sale = ready_purchase()
    webhook_to(receiver.url(f"/fail/3/{sale.pk}"), owner=sale.buyer)
    on_purchase_ready(None, sale_id=sale.pk, buyer_id=sale.buyer_id)
    delivery = wait_for(
        lambda: Delivery.objects.filter(sale=sale, state=Delivery.State.DELIVERED).first(),
        timeout=60,
        message="the delivery",
    )
    assert delivery.attempts == 4
    assert [a.outcome for a in delivery.attempt_log.order_by("number")] == ["failed"] * 3 + ["delivered"]
    assert [r.status for r in receiver.requests] == [500, 500, 500, 200]


def test_a_worker_killed_mid_delivery_delivers_at_least_once_and_the_log_says_so(celery_worker, receiver):
    sale = ready_purchase()
    webhook_to(receiver.url(f"/hang/{sale.pk}"), owner=sale.buyer)
    on_purchase_ready(None, sale_id=sale.pk, buyer_id=sale.buyer_id)
    wait_for(lambda: len(receiver.requests) == 1, timeout=60, message="the first send to arrive")

    for pid in _children(celery_worker.process.pid):  # the pool processes: one of them is sending
        os.kill(pid, signal.SIGKILL)

    delivery = wait_for(
        lambda: Delivery.objects.filter(sale=sale, state=Delivery.State.DELIVERED).first(),
        timeout=90,
        message="the delivery after the worker died",
    )
    log = list(delivery.attempt_log.order_by("number"))
    assert [a.outcome for a in log] == ["interrupted", "delivered"]
    assert "may have it" in log[0].error
    # The receiver saw it twice, with one Idempotency-Key to drop the repeat by.
    assert len(receiver.requests) == 2
    assert {r.headers["idempotency-key"] for r in receiver.requests} == {str(delivery.public_id)}
