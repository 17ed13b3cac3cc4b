import itertools
from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from chain.models import ChainTransaction, Signer
from core.models import DeadLetter

_numbers = itertools.count(1)
CHAIN_ID = 31337


def scrape(client) -> dict[tuple[str, frozenset], float]:
    """A real GET /metrics, as {(sample name, labels): value}."""
    response = client.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def sample(samples: dict, name: str, **labels) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def dead_letter(*, queue: str, status: str = "pending") -> DeadLetter:
    n = next(_numbers)
    return DeadLetter.objects.create(
        task_name="escrow.settle_sale",
        task_id=f"task-{n}",
        queue=queue,
        kwargs={"sale_id": n},
        exception_type="ValueError",
        error="no such sale",
        status=status,
    )


def signer(address: str) -> Signer:
    return Signer.objects.create(address=address, chain_id=CHAIN_ID)


def chain_tx(*, signer: Signer, status: str, age: timedelta) -> ChainTransaction:
    n = next(_numbers)
    tx = ChainTransaction.objects.create(
        idempotency_key=f"alerts-{n}",
        chain_id=CHAIN_ID,
        signer=signer,
        nonce=n,
        to="0x" + "11" * 20,
        status=status,
    )
    ChainTransaction.objects.filter(pk=tx.pk).update(created_at=timezone.now() - age)  # created_at is auto_now_add
    return tx


@pytest.fixture
def scrape_sources(db):
    """Rows every database source of the scrape-time collector reports on."""
    dead_letter(queue="chain.tx")
    busy = signer("0x" + "aa" * 20)
    chain_tx(signer=busy, status=ChainTransaction.Status.SENT, age=timedelta(minutes=3))
