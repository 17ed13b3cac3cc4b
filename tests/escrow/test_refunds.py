"""Staff refunds of funded sales on anvil and PostgreSQL: refundDeal returns the price to the
buyer's vault balance and the ledger mirrors it once, bounty payouts go back to their funders, the
contact details lock, and only funded or minted sales can be refunded."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from escrow.models import Settlement
from escrow.services.settlement import settlement_fund, settlement_refund
from ledger.models import LedgerTransaction
from ledger.selectors import balance_for, ledger_check
from tests.escrow.settlement_helpers import checksum, make_sale, settle_rounds
from tests.escrow.test_settlement import contracts  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
State = Settlement.State


def _funded(contracts_):
    sale = make_sale(price=D("30"))
    settlement_fund(sale_id=sale.pk)
    settle_rounds(2)
    s = Settlement.objects.get(sale=sale)
    assert s.state in (State.FUNDED, State.MINTED)
    return sale, s


def test_a_refund_returns_the_price_to_the_buyer_on_chain_and_in_the_ledger_once(contracts):  # noqa: F811
    vault = contracts["EscrowVault"]
    sale, s = _funded(contracts)
    before_vault = vault.functions.balanceOf(checksum(s.buyer_address)).call()
    before = balance_for(user=sale.buyer)["available"]

    s = settlement_refund(settlement_id=s.pk, reason="invalid phone")
    assert s.state == State.REFUNDING and s.refund_reason == "invalid phone"
    assert settlement_refund(settlement_id=s.pk, reason="again").refund_tx_id == s.refund_tx_id  # once
    settle_rounds(3)

    s.refresh_from_db()
    assert s.state == State.REFUNDED and s.refunded_at is not None
    assert vault.functions.dealOf(sale.pk).call()[1] == 0
    assert vault.functions.balanceOf(checksum(s.buyer_address)).call() == before_vault + 30 * 10**6
    assert balance_for(user=sale.buyer)["available"] == before + D("30")
    sale.escrow_account.refresh_from_db()
    assert sale.escrow_account.balance == 0
    assert LedgerTransaction.objects.filter(idempotency_key=f"refund:{sale.pk}").count() == 1
    settle_rounds(2)  # nothing more: no release of a refunded deal
    assert Settlement.objects.get(pk=s.pk).state == State.REFUNDED
    assert ledger_check().ok


def test_a_refunded_purchase_locks_its_contact_details(client, contracts):  # noqa: F811
    sale, s = _funded(contracts)
    settlement_refund(settlement_id=s.pk, reason="no consent")
    settle_rounds(3)
    client.force_login(sale.buyer)

    page = client.get(reverse("escrow:purchase-detail", args=[sale.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert 'data-testid="contact-locked"' in body and "refunded" in body
    assert 'data-testid="contact"' not in body


def test_only_a_funded_or_minted_sale_can_be_refunded(contracts):  # noqa: F811
    sale = make_sale(price=D("30"))
    s = settlement_fund(sale_id=sale.pk)  # funding sent, not confirmed
    with pytest.raises(ValidationError, match="Only a funded or minted sale"):
        settlement_refund(settlement_id=s.pk, reason="too early")
    assert Settlement.objects.get(pk=s.pk).refund_tx_id is None


def test_staff_refund_from_admin(admin_client, contracts):  # noqa: F811
    sale, s = _funded(contracts)
    response = admin_client.post(
        reverse("admin:escrow_settlement_changelist"), {"action": "refund", "_selected_action": [s.pk]}, follow=True
    )
    assert response.status_code == 200 and "1 refund(s) sent" in response.content.decode()
    assert Settlement.objects.get(pk=s.pk).state == State.REFUNDING
