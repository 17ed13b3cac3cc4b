"""Staff face of settlement: settlements, mint batches and reconciliation issues in admin, and
the retry of a failed settlement once its cause is fixed."""

from decimal import Decimal

import pytest

from escrow.models import ReconciliationIssue, Settlement
from escrow.services.settlement import settlement_fund
from tests.auctions.factories import funded_buyer
from tests.escrow.settlement_helpers import deploy, make_sale, settle_rounds, vault_deposit

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


@pytest.fixture
def contracts(settings):
    settings.CHAIN_SETTLEMENT = False
    return deploy()


def test_staff_see_settlements_batches_and_issues(client, staff, contracts):
    sale = make_sale()
    s = settlement_fund(sale_id=sale.pk)
    ReconciliationIssue.objects.create(
        chain_id=31337, kind=ReconciliationIssue.Kind.ESCROW_AMOUNT, settlement=s, expected="1", actual="2"
    )
    client.force_login(staff)
    for url in (
        "/admin/escrow/settlement/",
        f"/admin/escrow/settlement/{s.pk}/change/",
        "/admin/escrow/mintbatch/",
        "/admin/escrow/reconciliationissue/",
        "/admin/escrow/reconciliationissue/?resolved_at__isempty=1",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
    assert b"Deal amount differs" in client.get("/admin/escrow/reconciliationissue/").content


def test_a_failed_settlement_is_retried_by_staff_once_the_buyer_has_funds(client, staff, contracts):
    buyer = funded_buyer(D("100"))  # ledger money only: the vault cannot fund the deal
    sale = make_sale(buyer=buyer)
    s = settlement_fund(sale_id=sale.pk)
    assert s.state == Settlement.State.FAILED
    vault_deposit(buyer, D("100"))
    client.force_login(staff)
    response = client.post("/admin/escrow/settlement/", {"action": "retry", "_selected_action": [s.pk]}, follow=True)
    assert b"1 settlement(s) retried" in response.content
    s.refresh_from_db()
    assert (s.state, s.error) == (Settlement.State.FUNDING, "")
    settle_rounds(2)
    assert Settlement.objects.get(pk=s.pk).state in (Settlement.State.FUNDED, Settlement.State.MINTING)
    assert contracts["EscrowVault"].functions.dealOf(sale.pk).call()[1] == 25 * 10**6
