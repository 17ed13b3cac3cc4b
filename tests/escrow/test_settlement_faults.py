"""Faults the settlement must survive, on anvil and PostgreSQL: the node down (retries, a dead
letter, a replay that completes each sale once), a worker SIGKILLed in the middle of a mint
batch, and two workers minting at once from the signer pool."""

from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection

from chain.leadnft import token_id_for
from chain.models import ChainTransaction
from chain.transactions import chain_tx_poll_pending
from core.models import DeadLetter
from core.services import dead_letter_replay
from escrow.models import MintBatch, Settlement
from escrow.services.settlement import mint_flush, settlement_fund
from escrow.tasks.settlement import advance
from tests.concurrency import run_threads
from tests.conftest import wait_for
from tests.escrow.settlement_helpers import chain_buyer, checksum, deploy, make_sale, settle_rounds
from tests.escrow.sigkill import child_kill_at, child_start

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
State = Settlement.State
DEAD_NODE = "http://127.0.0.1:9"  # discard port: connection refused


@pytest.fixture
def contracts(settings):
    settings.CHAIN_SETTLEMENT = True
    return deploy()


def _funded_sales(count: int, buyer=None) -> list:
    buyer = buyer or chain_buyer(D("25") * count)
    sales = [make_sale(buyer=buyer) for _ in range(count)]
    for sale in sales:
        settlement_fund(sale_id=sale.pk)
    settle_rounds(1, now=None)
    assert (
        Settlement.objects.filter(state=State.FUNDED).count()
        >= count - Settlement.objects.filter(state__in=(State.MINTING, State.MINTED)).count()
    )
    return sales


def _assert_one_token_each(contracts, sales) -> None:
    nft = contracts["LeadNFT"]
    settlements = Settlement.objects.filter(sale__in=sales)
    assert {s.state for s in settlements} == {State.MINTED}
    for s in settlements:
        assert nft.functions.ownerOf(token_id_for(sale_id=s.sale_id, buyer=s.buyer_address)).call() == checksum(
            s.buyer_address
        )
    per_buyer = Counter(s.buyer_address for s in settlements)
    for address, count in per_buyer.items():
        assert nft.functions.balanceOf(checksum(address)).call() == count
    # Exactly one batch transaction confirmed per token: no batch minted twice.
    confirmed = MintBatch.objects.filter(status=MintBatch.Status.CONFIRMED)
    assert sum(b.size for b in confirmed) == len(sales)


@pytest.fixture
def worker_on_a_dead_node(settings, tmp_path, monkeypatch):
    """A settlement worker whose chain node is down, on a broker of its own (the session's worker
    must not take these tasks); yields a client that sends to it."""
    import redis
    from celery import Celery

    from config.queues import CELERY_TASK_QUEUES, CELERY_TASK_ROUTES
    from tests.workers import WorkerProcess

    url = settings.TEST_SPARE_REDIS_URL
    redis.Redis.from_url(url).flushdb()
    monkeypatch.setenv("CELERY_BROKER_URL", url)  # Celery lets this variable win over any config
    client = Celery("dead-node-client", broker=url, backend=settings.CELERY_RESULT_BACKEND)
    client.conf.task_queues, client.conf.task_routes = CELERY_TASK_QUEUES, CELERY_TASK_ROUTES
    worker = WorkerProcess(
        connection.settings_dict["NAME"],
        tmp_path,
        concurrency=1,
        control_app=client,
        queues=["escrow.settle"],
        extra_env={"CELERY_BROKER_URL": url, "CHAIN_RPC_URL": DEAD_NODE},
    )
    worker.start()
    try:
        yield client
    finally:
        worker.stop()
        client.close()
        redis.Redis.from_url(url).flushdb()


@pytest.mark.worker
def test_node_down_retries_then_dead_letters_and_the_replay_settles_each_sale_once(
    contracts, settings, monkeypatch, worker_on_a_dead_node, celery_worker
):
    buyer = chain_buyer(D("75"))
    settings.CHAIN_SETTLEMENT = False  # the test sends each sale's task itself, below
    sales = [make_sale(buyer=buyer) for _ in range(3)]
    for sale in sales:
        worker_on_a_dead_node.send_task("escrow.settle_sale", kwargs={"sale_id": sale.pk})
    letters = DeadLetter.objects.filter(task_name="escrow.settle_sale")
    wait_for(lambda: letters.count() == 3, timeout=90, message="the three tasks to retry and dead-letter")
    assert all(letter.attempts > 1 for letter in letters)  # retried before giving up
    assert not Settlement.objects.exists() and not ChainTransaction.objects.exists()  # nothing half-done
    node = settings.CHAIN_RPC_URL
    settings.CHAIN_RPC_URL = DEAD_NODE
    assert advance() == {}  # the beat (escrow.advance) copes with the node being down
    settings.CHAIN_RPC_URL = node

    # The node is back (the session's worker reaches it): replay, through the suite's broker.
    monkeypatch.setenv("CELERY_BROKER_URL", settings.CELERY_BROKER_URL)
    for letter in letters:
        dead_letter_replay(dead_letter_id=letter.pk)
    wait_for(
        lambda: Settlement.objects.filter(state=State.FUNDING).count() == 3,
        timeout=60,
        message="the replayed tasks (on the worker) to fund the deals",
    )
    for letter in DeadLetter.objects.filter(task_name="escrow.settle_sale"):  # a second replay is harmless
        DeadLetter.objects.filter(pk=letter.pk).update(status="pending")
        dead_letter_replay(dead_letter_id=letter.pk)
    settle_rounds(2)
    mint_flush(force=True)
    settle_rounds(2)
    vault = contracts["EscrowVault"]
    for sale in sales:
        assert vault.functions.dealOf(sale.pk).call()[1] == 25 * 10**6
        assert ChainTransaction.objects.filter(idempotency_key__startswith=f"escrow.fund:31337:{sale.pk}").count() == 1
    _assert_one_token_each(contracts, sales)


def test_a_transaction_recorded_while_the_node_goes_away_is_sent_when_it_returns(contracts, settings):
    sale = make_sale()
    s = settlement_fund(sale_id=sale.pk)
    node = settings.CHAIN_RPC_URL
    settings.CHAIN_RPC_URL = DEAD_NODE
    for _ in range(2):  # what the beat runs: polls fail (logged), escrow.advance skips the pass
        chain_tx_poll_pending()
        assert advance() == {}
    assert Settlement.objects.get(pk=s.pk).state == State.FUNDING
    settings.CHAIN_RPC_URL = node
    settle_rounds(2)
    mint_flush(force=True)
    settle_rounds(2)
    _assert_one_token_each(contracts, [sale])


@pytest.mark.parametrize("point", ["before-commit", "before-send"])
def test_a_worker_killed_in_the_middle_of_a_mint_batch_leaves_every_sale_with_one_token(contracts, point):
    sales = _funded_sales(4)
    child_kill_at(child_start("mint_child.py", point), point)
    if point == "before-commit":
        # The dead session's transaction rolled back: no batch, no transaction, sales still funded.
        wait_for(lambda: not MintBatch.objects.exists(), timeout=10, message="the killed transaction to roll back")
        assert not ChainTransaction.objects.filter(idempotency_key__startswith="lead.mint:").exists()
        assert set(Settlement.objects.values_list("state", flat=True)) == {State.FUNDED}
    else:
        # Committed but never broadcast: the poller sends the recorded transaction.
        batch = MintBatch.objects.get()
        assert batch.tx.status == ChainTransaction.Status.PENDING and batch.tx.tx_hash == ""
    mint_flush(force=True)
    settle_rounds(3)
    mint_flush(force=True)
    settle_rounds(2)
    _assert_one_token_each(contracts, sales)
    assert MintBatch.objects.count() == 1


def test_two_workers_minting_at_once_use_the_signer_pool_without_nonce_collisions(contracts, settings):
    settings.CHAIN_MINT_BATCH = 3
    buyer = chain_buyer(D("25") * 12)
    sales = [make_sale(buyer=buyer) for _ in range(12)]
    for sale in sales:
        settlement_fund(sale_id=sale.pk)
    settle_rounds(1)
    results = run_threads(2, lambda i: mint_flush(force=True))
    assert not [r for r in results if isinstance(r, Exception)], results
    settle_rounds(3)
    mint_flush(force=True)
    settle_rounds(2)
    txs = ChainTransaction.objects.filter(idempotency_key__startswith="lead.mint:")
    pairs = list(txs.values_list("signer_id", "nonce"))
    assert len(pairs) == len(set(pairs))
    assert set(txs.values_list("status", flat=True)) == {ChainTransaction.Status.CONFIRMED}
    _assert_one_token_each(contracts, sales)
