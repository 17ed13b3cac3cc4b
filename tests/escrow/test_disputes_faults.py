"""A worker SIGKILLed in the middle of applying a dispute's outcome, on anvil and PostgreSQL: the
replayed task (or the next escrow.advance pass) moves the refund exactly once, on chain and in
the ledger."""

from decimal import Decimal

import pytest

from chain.models import ChainTransaction
from escrow.choices import DisputeState
from escrow.models import Dispute, Settlement
from escrow.services.disputes import dispute_open, dispute_outcome_apply, disputes_advance
from escrow.services.reconcile import reconcile
from escrow.units import to_units
from ledger.models import LedgerTransaction
from ledger.selectors import balance_for, ledger_check
from tests.conftest import wait_for
from tests.escrow.dispute_helpers import minted_sale
from tests.escrow.settlement_helpers import settle_rounds
from tests.escrow.sigkill import child_kill_at, child_start
from tests.escrow.test_settlement import contracts  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


@pytest.mark.parametrize("outcome", ["refund_full", "refund_partial"])
@pytest.mark.parametrize("point", ["before-commit", "before-send"])
def test_a_worker_killed_mid_outcome_and_the_replay_apply_the_refund_once(contracts, point, outcome):  # noqa: F811
    vault = contracts["EscrowVault"]
    sale, s = minted_sale(price=D("40"))
    buyer_before = balance_for(user=sale.buyer)["available"]
    d = dispute_open(buyer=sale.buyer, sale_id=sale.pk, reason="invalid_phone", statement="Disconnected.")
    refund = D("40") if outcome == "refund_full" else D("15")
    # Decided as dispute_decide records it, without queuing escrow.dispute_apply to the suite's
    # workers: the child below is the worker that dies.
    Dispute.objects.filter(pk=d.pk).update(
        state=DisputeState.DECIDED, outcome=outcome, refund_amount=refund, decision_reason="Checked."
    )
    child_kill_at(child_start("dispute_child.py", str(d.pk), point), point)
    refunds = ChainTransaction.objects.filter(idempotency_key__contains="refund:")
    if point == "before-commit":
        wait_for(lambda: not refunds.exists(), timeout=10, message="the killed transaction to roll back")
    else:
        assert refunds.get().status == ChainTransaction.Status.PENDING  # committed, never broadcast
    dispute_outcome_apply(dispute_id=d.pk)  # the task's replay
    for _ in range(3):
        settle_rounds(1)
        disputes_advance()  # what escrow.advance does each beat
    d.refresh_from_db()
    assert d.state == DisputeState.CLOSED
    assert refunds.count() == 1 and refunds.get().status == ChainTransaction.Status.CONFIRMED
    assert vault.functions.dealOf(sale.pk).call()[1] == to_units(D("40") - refund)
    assert balance_for(user=sale.buyer)["available"] == buyer_before + refund
    assert LedgerTransaction.objects.filter(idempotency_key__startswith=f"refund:{sale.pk}").count() == 1
    assert ledger_check().ok and reconcile() == {}
    assert Settlement.objects.get(pk=s.pk).state == (
        Settlement.State.REFUNDED if outcome == "refund_full" else Settlement.State.MINTED
    )
    assert Dispute.objects.count() == 1
