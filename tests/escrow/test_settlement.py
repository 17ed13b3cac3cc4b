"""The settlement pipeline on the real dev chain (anvil) and PostgreSQL: a sale funded in escrow,
minted as a LeadNFT to the buyer's address in batches, released after the dispute window with
the split, mirrored in the ledger — each exactly once."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from chain.leadnft import token_id_for
from chain.models import ChainTransaction
from escrow.models import MintBatch, Settlement
from escrow.services.settlement import mint_flush, settlement_fund, to_units
from ledger.choices import LedgerAccountKind
from ledger.services import account_for, platform_account_for
from tests.escrow.settlement_helpers import chain_buyer, checksum, deploy, make_sale, settle_rounds

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
State = Settlement.State


@pytest.fixture
def contracts(settings):
    settings.CHAIN_SETTLEMENT = True
    return deploy()


def test_a_sale_is_funded_minted_to_the_buyer_and_released_with_the_split(contracts):
    from tests.auctions.factories import make_vertical

    vault, nft = contracts["EscrowVault"], contracts["LeadNFT"]
    owner = "0x00000000000000000000000000000000000000Aa"
    sale = make_sale(price=D("40"), vertical=make_vertical(reserve_price=D("40"), owner_address=owner))
    s = settlement_fund(sale_id=sale.pk)
    assert s.state == State.FUNDING
    settle_rounds(2)
    s.refresh_from_db()
    assert s.state in (State.FUNDED, State.MINTING, State.MINTED)
    assert vault.functions.dealOf(sale.pk).call() == [checksum(s.buyer_address), to_units(D("40"))]

    mint_flush(force=True)
    settle_rounds(2)
    s.refresh_from_db()
    assert s.state == State.MINTED
    token = token_id_for(sale_id=sale.pk, buyer=s.buyer_address)
    assert int(s.token_id) == token
    assert nft.functions.ownerOf(token).call() == checksum(s.buyer_address)
    batch = s.mint_batch
    assert (batch.status, batch.size) == (MintBatch.Status.CONFIRMED, 1) and batch.gas_used > 0 and batch.root

    # Not before the dispute window is over.
    settle_rounds(1)
    assert Settlement.objects.get(pk=s.pk).state == State.MINTED
    later = s.release_after + timedelta(seconds=1)
    settle_rounds(3, now=later)
    s.refresh_from_db()
    assert s.state == State.RELEASED
    assert (s.platform_fee, s.vertical_royalty, s.seller_amount) == (D("2"), D("0.8"), D("37.2"))
    assert vault.functions.dealOf(sale.pk).call()[1] == 0
    assert vault.functions.balanceOf(checksum(s.seller_address)).call() == to_units(D("37.2"))
    assert vault.functions.balanceOf(checksum(owner)).call() == to_units(D("0.8"))
    # The ledger pays the same legs out of the sale's escrow.
    sale.escrow_account.refresh_from_db()
    assert sale.escrow_account.balance == 0
    assert account_for(user=sale.seller).balance == D("37.2")
    assert platform_account_for(kind=LedgerAccountKind.PLATFORM_FEES).balance == D("2")
    assert platform_account_for(
        kind=LedgerAccountKind.ROYALTIES, reference=f"vertical:{sale.lead.vertical_id}"
    ).balance == D("0.8")


def test_every_step_is_idempotent(contracts):
    sale = make_sale()
    first = settlement_fund(sale_id=sale.pk)
    again = settlement_fund(sale_id=sale.pk)
    assert first.fund_tx_id == again.fund_tx_id
    settle_rounds(2)
    assert mint_flush(force=True) == 1
    assert mint_flush(force=True) == 0
    settle_rounds(2)
    later = Settlement.objects.get(pk=first.pk).release_after + timedelta(seconds=1)
    settle_rounds(3, now=later)
    settle_rounds(2, now=later)
    s = Settlement.objects.get(pk=first.pk)
    assert s.state == State.RELEASED
    keys = list(ChainTransaction.objects.values_list("idempotency_key", flat=True))
    assert len([k for k in keys if k.startswith("escrow.fund:")]) == 1
    assert len([k for k in keys if k.startswith("lead.mint:")]) == 1
    assert len([k for k in keys if k.startswith("escrow.release:")]) == 1
    assert account_for(user=sale.seller).balance == D("23.75")  # 25 - 5 % (no vertical owner)


def test_mint_batches_flush_when_full_or_when_the_oldest_has_waited(contracts, settings):
    settings.CHAIN_MINT_BATCH, settings.CHAIN_MINT_FLUSH_SECONDS = 3, 30
    buyer = chain_buyer(D("500"))
    sales = [make_sale(buyer=buyer) for _ in range(4)]
    for sale in sales:
        settlement_fund(sale_id=sale.pk)
    settle_rounds(1)  # confirms funding; the flush sends one full batch of 3 and keeps 1 waiting
    assert MintBatch.objects.count() == 1 and MintBatch.objects.get().size == 3
    assert Settlement.objects.filter(state=State.FUNDED).count() == 1
    settle_rounds(1, now=timezone.now() + timedelta(seconds=31))  # the last one has waited long enough
    settle_rounds(2)
    assert sorted(MintBatch.objects.values_list("size", flat=True)) == [1, 3]
    assert set(Settlement.objects.values_list("state", flat=True)) == {State.MINTED}
    nft = contracts["LeadNFT"]
    assert nft.functions.balanceOf(checksum(Settlement.objects.first().buyer_address)).call() == 4


def test_a_buyer_without_vault_funds_fails_the_settlement_for_staff(contracts):
    from tests.auctions.factories import funded_buyer

    sale = make_sale(buyer=funded_buyer(D("100")))  # ledger money, nothing in the vault
    s = settlement_fund(sale_id=sale.pk)
    assert s.state == State.FAILED and "InsufficientBalance" in s.error
    assert s.fund_tx.status == ChainTransaction.Status.FAILED and s.fund_tx.nonce is None


def test_a_sale_whose_settle_task_was_lost_is_settled_by_the_periodic_step(contracts, settings):
    from escrow.services.settlement import settlement_advance

    settings.CHAIN_SETTLEMENT = False
    sale = make_sale()  # its settle task is never sent (a broker that refused it)
    settings.CHAIN_SETTLEMENT = True
    assert settlement_advance(now=sale.created_at) == {}  # not before a minute has passed
    result = settlement_advance(now=sale.created_at + timedelta(seconds=61))
    assert result.get("opened") == 1
    assert Settlement.objects.get(sale=sale).state == State.FUNDING


def test_a_deal_already_funded_on_chain_is_adopted_not_failed(contracts):
    sale = make_sale()  # settled on commit: the deal is funded on chain
    settle_rounds(1)
    Settlement.objects.filter(sale=sale).delete()  # a database restored from before the funding
    ChainTransaction.objects.all().delete()
    s = settlement_fund(sale_id=sale.pk)
    assert s.state == State.FUNDED and s.funded_at is not None
    assert ChainTransaction.objects.get().status == ChainTransaction.Status.FAILED  # the refused repeat, kept


def test_a_bounty_payout_is_its_own_deal_from_the_funder_released_to_the_seller(contracts):
    from escrow.models import BountyDeal
    from escrow.services.reconcile import reconcile
    from tests.auctions.factories import make_vertical
    from tests.auctions.factories_bounties import make_bounty

    vault = contracts["EscrowVault"]
    vertical = make_vertical(reserve_price=D("25"))
    funder = chain_buyer(D("100"))
    make_bounty(vertical=vertical, buyer=funder, amount_per_lead=D("5"), fund=D("50"))
    sale = make_sale(vertical=vertical)
    settle_rounds(2)
    deal = BountyDeal.objects.get()
    assert (deal.amount, deal.fund_tx.status) == (D("5"), ChainTransaction.Status.CONFIRMED)
    funder_address = checksum(funder.wallet.address)
    assert vault.functions.dealOf(2**64 + deal.award_id).call() == [funder_address, to_units(D("5"))]
    assert vault.functions.balanceOf(funder_address).call() == to_units(D("95"))
    mint_flush(force=True)
    settle_rounds(2)
    assert reconcile() == {}  # the vault's total held counts the bounty deal
    s = Settlement.objects.get(sale=sale)
    settle_rounds(3, now=s.release_after + timedelta(seconds=1))
    s.refresh_from_db()
    assert s.state == State.RELEASED
    assert vault.functions.balanceOf(checksum(s.seller_address)).call() == to_units(D("23.75") + D("5"))
    assert account_for(user=sale.seller).balance == D("28.75")  # the ledger agrees
    assert reconcile() == {}


def test_the_purchase_page_proof_verifies_each_sale_of_a_batch_on_chain(contracts):
    from chain.leadnft import verify_args
    from escrow.selectors.purchases import purchase_verification
    from escrow.services.settlement import mint_batch_items
    from leads.selectors import lead_pii_read

    buyer = chain_buyer(D("100"))
    sales = [make_sale(buyer=buyer) for _ in range(3)]
    settle_rounds(1)
    mint_flush(force=True)
    settle_rounds(2)
    nft = contracts["LeadNFT"]
    batch = MintBatch.objects.get()
    assert batch.size == 3
    items = {item.sale_id: item for item in mint_batch_items(batch)}
    for sale in sales:
        sale.refresh_from_db()
        v = purchase_verification(sale=sale, pii=lead_pii_read(lead=sale.lead))
        assert v.batch_root_matches is True and v.data_hash_matches is True and 1 <= len(v.merkle_proof) <= 2
        proof = [bytes.fromhex(node[2:]) for node in v.merkle_proof]
        assert nft.functions.verifySale(batch.onchain_batch_id, verify_args(items[sale.pk]), proof).call()
        assert nft.functions.leafHash(verify_args(items[sale.pk])).call().hex() == v.leaf_hash[2:]


def test_the_ledger_mirrors_the_split_sent_on_chain_even_if_the_fee_changes_meanwhile(contracts, settings):
    from escrow.services.settlement import release_due

    sale = make_sale()
    settle_rounds(1)
    mint_flush(force=True)
    settle_rounds(2)
    s = Settlement.objects.get(sale=sale)
    later = s.release_after + timedelta(seconds=1)
    assert release_due(now=later) == 1  # sent with the 5 % fee
    settings.PLATFORM_FEE_BPS = 1000  # changed before the release confirms
    settle_rounds(2, now=later)
    s.refresh_from_db()
    assert s.state == State.RELEASED and s.platform_fee == D("1.25")
    assert account_for(user=sale.seller).balance == D("23.75")
    assert contracts["EscrowVault"].functions.balanceOf(checksum(s.seller_address)).call() == to_units(D("23.75"))


def test_a_release_given_up_on_but_mined_is_recorded_when_staff_retry(contracts):
    from escrow.services.settlement import release_due, settlement_retry
    from tests.escrow.settlement_helpers import mined

    sale = make_sale()
    settle_rounds(1)
    mint_flush(force=True)
    settle_rounds(2)
    s = Settlement.objects.get(sale=sale)
    later = s.release_after + timedelta(seconds=1)
    release_due(now=later)
    mined()  # paid out on chain …
    ChainTransaction.objects.filter(idempotency_key__startswith="escrow.release:").update(
        status=ChainTransaction.Status.FAILED, error="not mined after 5 broadcasts"
    )  # … but given up on here
    settle_rounds(1, now=later)
    assert Settlement.objects.get(pk=s.pk).state == State.FAILED
    assert account_for(user=sale.seller).balance == 0
    settlement_retry(settlement_id=s.pk)
    s.refresh_from_db()
    assert s.state == State.RELEASED  # adopted: the vault holds nothing for the deal
    assert account_for(user=sale.seller).balance == D("23.75")
    assert ChainTransaction.objects.filter(idempotency_key__startswith="escrow.release:").count() == 1


def test_a_funding_planned_before_the_buyer_linked_a_wallet_is_planned_again_from_the_wallet(contracts, settings):
    """CI's seed 20261205: a deal planned from the custodial address, recorded after the buyer
    linked a wallet and the custodial balance moved there, reverted (InsufficientBalance) and the
    sale failed with its price still in escrow in the ledger. Now the record sees the link (it
    locks the wallet row) and waits; the next pass funds it from the wallet."""
    from eth_account import Account

    from chain.wallets import wallet_for
    from escrow.services.settlement import _funding_plan, _record_funding, settlement_open
    from escrow.services.sweeps import FundingDeferred

    settings.CHAIN_SETTLEMENT = False  # the sale's settle task is not queued: the test plays it
    sale = make_sale(price=D("40"))
    settings.CHAIN_SETTLEMENT = True
    s = settlement_open(sale_id=sale.pk)
    plan = _funding_plan(s, key=f"escrow.fund:{s.chain_id}:{s.sale_id}")
    wallet = wallet_for(user=sale.buyer)
    assert plan.funder == checksum(wallet.custodial_address)
    wallet.address, wallet.kind = Account.create().address, "linked"
    wallet.save()  # linked after the plan was made
    from django.db import transaction

    with pytest.raises(FundingDeferred), transaction.atomic():
        _record_funding(Settlement.objects.select_for_update().get(pk=s.pk), plan)
    assert not ChainTransaction.objects.filter(idempotency_key__startswith="escrow.fund:").exists()
    s = settlement_fund(sale_id=sale.pk)  # planned again: the money moves to the wallet first
    assert (
        s.state == Settlement.State.PENDING
        and ChainTransaction.objects.filter(idempotency_key__startswith="escrow.move:").exists()
    )


def test_the_move_to_a_linked_wallet_leaves_what_recorded_deals_will_fund(contracts):
    """A deal recorded from the custodial address before the buyer linked a wallet keeps its money
    there until it is funded (the move leaves what recorded, not yet final, deals take); the rest
    moves, and the deal is funded, never failed."""
    from eth_account import Account

    from chain.signals import wallet_linked
    from chain.wallets import wallet_for
    from escrow.services.sweeps import _committed_units

    buyer = chain_buyer(D("100"))
    sale = make_sale(buyer=buyer, price=D("40"))
    s = settlement_fund(sale_id=sale.pk)
    assert s.state == Settlement.State.FUNDING
    wallet = wallet_for(user=buyer)
    assert _committed_units(wallet.custodial_address) == to_units(D("40"))
    own = Account.create()
    wallet.address, wallet.kind = own.address, "linked"
    wallet.save()
    wallet_linked.send(sender=type(wallet), wallet=wallet)
    settle_rounds()
    s.refresh_from_db()
    assert s.state != Settlement.State.FAILED, s.error
    vault = contracts["EscrowVault"].functions
    moved, left = vault.balanceOf(own.address).call(), vault.balanceOf(wallet.custodial_address).call()
    assert moved + left == to_units(D("60")) and moved >= to_units(D("20"))
