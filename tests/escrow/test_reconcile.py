"""Reconciliation against anvil: agreement finds nothing; a deal missing or released behind the
books' back, a token moved by a resale, and the vault's total are each found, shown once, counted
in the metric, and resolved when they go away."""

from datetime import timedelta
from decimal import Decimal

import pytest

from chain.leadnft import token_id_for
from chain.wallets import wallet_custodial_account
from escrow.metrics import RECONCILIATION_DIFFERENCES
from escrow.models import ReconciliationIssue, Settlement
from escrow.services.reconcile import reconcile
from escrow.services.settlement import mint_flush, settlement_fund
from tests.escrow.settlement_helpers import _send_as, chain_buyer, checksum, deploy, make_sale, settle_rounds

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
Kind = ReconciliationIssue.Kind


@pytest.fixture
def contracts(settings):
    settings.CHAIN_SETTLEMENT = False  # driven step by step below
    return deploy()


def _minted_sale(buyer=None):
    sale = make_sale(buyer=buyer)
    settlement_fund(sale_id=sale.pk)
    settle_rounds(1)
    mint_flush(force=True)
    settle_rounds(2)
    s = Settlement.objects.get(sale=sale)
    assert s.state == Settlement.State.MINTED
    return s


def _resell(contracts, s: Settlement, buyer, *, to: str) -> str:
    """The buyer transfers the sale's LeadNFT to `to` on chain (their custodial key signs)."""
    nft = contracts["LeadNFT"]
    account = wallet_custodial_account(wallet=buyer.wallet)
    token = token_id_for(sale_id=s.sale_id, buyer=s.buyer_address)
    _send_as(nft.w3, account, nft.functions.transferFrom(account.address, checksum(to), token))
    return to


def _gauge(kind: str) -> float:
    return RECONCILIATION_DIFFERENCES.labels(kind=kind)._value.get()


def test_books_and_chain_in_agreement_find_nothing(contracts):
    _minted_sale()
    assert reconcile() == {}
    assert not ReconciliationIssue.objects.exists()
    assert _gauge(Kind.ESCROW_AMOUNT) == 0


def test_a_deal_amount_that_differs_is_one_open_issue_until_it_is_gone(contracts):
    s = _minted_sale()
    # The books say 26 USDC for a deal that holds 25 on chain (say, an edit made by hand).
    Settlement.objects.filter(pk=s.pk).update(amount=D("26"))
    assert reconcile() == {Kind.ESCROW_AMOUNT: 1, Kind.VAULT_BALANCE: 1}
    assert reconcile() == {Kind.ESCROW_AMOUNT: 1, Kind.VAULT_BALANCE: 1}  # seen again: still one issue each
    issue = ReconciliationIssue.objects.get(kind=Kind.ESCROW_AMOUNT)
    assert (issue.settlement_id, issue.expected, issue.actual) == (s.pk, "26000000 units", "25000000 units")
    assert _gauge(Kind.ESCROW_AMOUNT) == 1
    Settlement.objects.filter(pk=s.pk).update(amount=D("25"))
    assert reconcile() == {}
    issue.refresh_from_db()
    assert issue.resolved_at is not None and _gauge(Kind.ESCROW_AMOUNT) == 0


def test_a_released_deal_the_books_still_hold_is_found(contracts):
    s = _minted_sale()
    later = s.release_after + timedelta(seconds=1)
    settle_rounds(3, now=later)
    assert Settlement.objects.get(pk=s.pk).state == Settlement.State.RELEASED
    Settlement.objects.filter(pk=s.pk).update(state=Settlement.State.MINTED)  # the books lost the release
    found = reconcile()
    assert found[Kind.ESCROW_RELEASED] == 1


def test_a_resold_token_moves_pii_access_to_the_new_owner_and_is_kept_for_staff(contracts):
    buyer = chain_buyer()
    s = _minted_sale(buyer=buyer)
    new_owner = _resell(contracts, s, buyer, to="0x00000000000000000000000000000000000000bB")
    assert reconcile() == {}
    s.refresh_from_db()
    assert s.owner_address == checksum(new_owner)
    record = ReconciliationIssue.objects.get(kind=Kind.NFT_OWNER)
    assert (record.expected, record.actual) == (checksum(buyer.wallet.address), checksum(new_owner))
    assert record.resolved_at is not None  # followed, not an open difference


def test_a_transfer_moves_the_owner_at_the_next_advance_without_waiting_for_reconciliation(contracts):
    buyer = chain_buyer()
    s = _minted_sale(buyer=buyer)
    new_owner = _resell(contracts, s, buyer, to="0x00000000000000000000000000000000000000cC")
    settle_rounds(1)
    s.refresh_from_db()
    assert s.owner_address == checksum(new_owner)
    settle_rounds(1)  # applied once: the cursor moved on
    assert reconcile() == {} and not ReconciliationIssue.objects.exists()
