"""The exit hatch and the ledger ≡ vault rule, on anvil and PostgreSQL: nobody takes money out of
the vault alone except through an announced exit; from the announcement the ledger sets the amount
aside (withdrawing bids and bounty pools when available is short, and telling the user); an exit
taken or an outflow the ledger did not see coming is covered, and what cannot be is a shortfall
staff see. A linked wallet keeps one balance; staff credit in chain mode comes from the treasury."""

from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from web3 import Web3

from auctions.models import AuctionBidder
from auctions.pricing import proxy_price
from auctions.services.auctions import bid_place
from chain.wallets import wallet_custodial_account, wallet_for
from escrow.models import ReconciliationIssue, VaultClaim, VaultEvent, VaultExit
from escrow.services.deposits import vault_index
from escrow.services.exits import claims_cover
from ledger.models import LedgerAccount
from ledger.selectors import balance_for, ledger_check
from tests.auctions.factories import make_auction
from tests.auctions.factories_bounties import make_bounty
from tests.escrow import funds_fixtures
from tests.escrow.funds_fixtures import units, wait_mined
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

w3, contracts, deposit, mine = funds_fixtures.w3, funds_fixtures.contracts, funds_fixtures.deposit, funds_fixtures.mine
send_as, chain_clock = funds_fixtures.send_as, funds_fixtures.chain_clock

D = Decimal


@pytest.fixture
def buyer(deposit):
    """A buyer whose custodial wallet has 100 USDC deposited and indexed."""
    user = UserFactory(is_buyer=True)
    deposit(wallet_for(user=user).address, "100")
    assert vault_index() == 1
    return user


def _withdrawn_mails() -> list:
    """The "bids withdrawn" notices sent (other mails, e.g. the won/outbid notifications, aside)."""
    return [m for m in mail.outbox if "withdrawn" in m.subject]


def _key(user):
    return wallet_custodial_account(wallet=wallet_for(user=user))


def _vault_free(contracts, user) -> Decimal:
    wallet = wallet_for(user=user)
    addresses = {wallet.address, wallet.custodial_address} - {""}
    return sum((D(contracts.vault.functions.balanceOf(a).call()) / 10**6 for a in addresses), D(0))


def _ledger_backed(user) -> Decimal:
    return balance_for(user=user)["total"]


def test_an_account_cannot_take_its_money_out_alone_without_notice(buyer, contracts, send_as):
    from web3.exceptions import ContractCustomError, ContractLogicError

    key = _key(buyer)
    with pytest.raises((ContractCustomError, ContractLogicError)):
        send_as(
            key, contracts.vault.functions.withdrawWithSig(key.address, key.address, units("10"), 2**40, b"\x00" * 65)
        )
    with pytest.raises((ContractCustomError, ContractLogicError)):
        send_as(key, contracts.vault.functions.exit())
    assert vault_index() == 0
    assert _vault_free(contracts, buyer) == _ledger_backed(buyer) == D("100")


def test_an_announced_exit_sets_the_amount_aside_so_no_bid_can_use_it(buyer, contracts, send_as):
    send_as(_key(buyer), contracts.vault.functions.announceExit(units("70")))
    assert vault_index() == 1

    assert balance_for(user=buyer) == {"available": D("30"), "held": D("0"), "exiting": D("70"), "total": D("100")}
    vault_exit = VaultExit.objects.get()
    assert (vault_exit.user, vault_exit.amount, vault_exit.reserved, vault_exit.state) == (
        buyer,
        D("70"),
        D("70"),
        "announced",
    )
    auction = make_auction()
    with pytest.raises(Exception, match="Insufficient funds"):
        bid_place(auction_id=auction.pk, buyer=buyer, max_amount=D("40"))
    assert ledger_check().ok


def test_an_exit_beyond_available_keeps_the_bids_and_sets_aside_what_their_close_gives_back(
    buyer, contracts, send_as, deposit
):
    """Announcing an exit never retracts a bid (it would make shill bidding free): the reserve
    takes what is available, and what a close gives back later."""
    from datetime import timedelta

    from auctions.services.auctions import auction_close

    rival = UserFactory(is_buyer=True)
    deposit(wallet_for(user=rival).address, "100")
    vault_index()
    auction = make_auction()
    bid_place(auction_id=auction.pk, buyer=buyer, max_amount=D("50"))
    bid_place(auction_id=auction.pk, buyer=rival, max_amount=D("60"))  # buyer is outbid, still held
    send_as(_key(buyer), contracts.vault.functions.announceExit(units("80")))
    vault_index()

    assert balance_for(user=buyer) == {"available": D("0"), "held": D("50"), "exiting": D("50"), "total": D("100")}
    assert AuctionBidder.objects.get(auction=auction, buyer=buyer).withdrawn_at is None
    claim = VaultClaim.objects.get()
    assert (claim.purpose, claim.state, claim.covered) == ("exit_reserve", "open", D("50"))
    auction_close(auction_id=auction.pk, now=auction.deadline + timedelta(seconds=1))  # the hold comes back
    claims_cover()
    claim.refresh_from_db()
    assert (claim.state, claim.covered) == ("covered", D("80"))
    assert balance_for(user=buyer) == {"available": D("20"), "held": D("0"), "exiting": D("80"), "total": D("100")}
    assert not _withdrawn_mails()  # nothing was withdrawn
    assert ledger_check().ok


def test_an_exit_paying_out_money_that_backed_bids_withdraws_them_and_tells_the_user(
    buyer, contracts, send_as, chain_clock, deposit
):
    """Money that left the vault cannot back a bid: the outflow beyond the reserve withdraws the
    user's standing bids (the auction ranks the others again)."""
    rival = UserFactory(is_buyer=True)
    deposit(wallet_for(user=rival).address, "100")
    vault_index()
    first, second = make_auction(), make_auction()
    bid_place(auction_id=first.pk, buyer=buyer, max_amount=D("30"))
    bid_place(auction_id=second.pk, buyer=buyer, max_amount=D("50"))
    bid_place(auction_id=second.pk, buyer=rival, max_amount=D("20"))  # buyer leads second
    key = _key(buyer)
    send_as(key, contracts.vault.functions.announceExit(units("60")))
    vault_index()  # 20 available set aside; the bids stand
    chain_clock(3)
    send_as(key, contracts.vault.functions.exit())  # the vault pays 60: 40 of it backed bids
    vault_index()

    balance = balance_for(user=buyer)
    assert balance == {"available": D("10"), "held": D("30"), "exiting": D("0"), "total": D("40")}
    assert _vault_free(contracts, buyer) == D("40")
    withdrawn = AuctionBidder.objects.get(auction=second, buyer=buyer)  # the newest bid goes first
    assert withdrawn.withdrawn_at is not None and withdrawn.held_amount == 0
    second.refresh_from_db()
    assert second.leader == rival  # ranked again without the withdrawn maximum
    assert second.price == proxy_price(reserve=second.reserve_price, maxima=[D("20")])
    assert AuctionBidder.objects.get(auction=first, buyer=buyer).withdrawn_at is None  # enough was freed
    claim = VaultClaim.objects.get(purpose="outflow")
    assert (claim.state, claim.covered, claim.bids_withdrawn) == ("covered", D("40"), 1)
    assert f"auction {second.pk}" in _withdrawn_mails()[-1].body
    assert ledger_check().ok


def test_a_withdrawn_bidder_can_bid_again(buyer, contracts, send_as, chain_clock, deposit):
    auction = make_auction()
    bid_place(auction_id=auction.pk, buyer=buyer, max_amount=D("50"))
    key = _key(buyer)
    send_as(key, contracts.vault.functions.announceExit(units("80")))
    vault_index()
    chain_clock(3)
    send_as(key, contracts.vault.functions.exit())  # 80 out: 30 of the bid's 50 was not there
    vault_index()
    assert AuctionBidder.objects.get(auction=auction, buyer=buyer).withdrawn_at is not None
    deposit(key.address, "100")
    vault_index()

    bid_place(auction_id=auction.pk, buyer=buyer, max_amount=D("15"))  # a fresh maximum, any size
    bidder = AuctionBidder.objects.get(auction=auction, buyer=buyer)
    assert (bidder.withdrawn_at, bidder.held_amount, bidder.max_amount) == (None, D("15"), D("15"))
    assert balance_for(user=buyer)["held"] == D("15")
    assert ledger_check().ok


def test_a_cancelled_exit_gives_the_money_back_and_a_new_one_replaces_the_old(buyer, contracts, send_as):
    key = _key(buyer)
    send_as(key, contracts.vault.functions.announceExit(units("10")))
    send_as(key, contracts.vault.functions.announceExit(units("25")))  # replaces the first
    assert vault_index() == 2
    assert balance_for(user=buyer)["exiting"] == D("25")
    assert list(VaultExit.objects.order_by("id").values_list("state", flat=True)) == ["replaced", "announced"]

    send_as(key, contracts.vault.functions.cancelExit())
    assert vault_index() == 1
    assert balance_for(user=buyer) == {"available": D("100"), "held": D("0"), "exiting": D("0"), "total": D("100")}
    assert VaultExit.objects.filter(state="cancelled").count() == 1
    assert ledger_check().ok


def test_an_exit_taken_pays_from_what_was_set_aside_and_the_books_match_the_vault(
    buyer, contracts, send_as, chain_clock
):
    key = _key(buyer)
    send_as(key, contracts.vault.functions.announceExit(units("40")))
    vault_index()
    chain_clock(3)  # the test vaults' exit delay is 2 s
    send_as(key, contracts.vault.functions.exit())
    assert vault_index() == 1

    assert balance_for(user=buyer) == {"available": D("60"), "held": D("0"), "exiting": D("0"), "total": D("60")}
    assert _vault_free(contracts, buyer) == D("60")
    assert contracts.usdc.functions.balanceOf(key.address).call() == units("40")
    vault_exit = VaultExit.objects.get()
    assert (vault_exit.state, vault_exit.paid) == ("taken", D("40"))
    assert VaultEvent.objects.filter(kind="exit").count() == 1
    assert not VaultClaim.objects.filter(purpose="outflow").exists()
    assert ledger_check().ok


def test_an_exit_taking_more_than_was_set_aside_withdraws_the_bids_placed_meanwhile(
    buyer, contracts, send_as, chain_clock, deposit
):
    key = _key(buyer)
    send_as(key, contracts.vault.functions.announceExit(units("100")))
    vault_index()  # 100 set aside
    deposit(key.address, "50")
    vault_index()
    claims_cover()  # the announcement's claim was covered: new money stays available
    assert balance_for(user=buyer)["available"] == D("50")
    auction = make_auction()
    bid_place(auction_id=auction.pk, buyer=buyer, max_amount=D("50"))  # promised after the announcement
    chain_clock(3)
    send_as(key, contracts.vault.functions.exit())  # takes 100 of the 150 in the vault
    vault_index()

    assert balance_for(user=buyer) == {"available": D("0"), "held": D("50"), "exiting": D("0"), "total": D("50")}
    assert _vault_free(contracts, buyer) == D("50") == _ledger_backed(buyer)
    assert ledger_check().ok


def test_an_exit_that_takes_an_unfunded_sales_money_is_a_shortfall_staff_see_until_money_arrives(
    buyer, contracts, send_as, chain_clock, deposit, caplog
):
    """The platform must fund a won sale within the exit delay; here it never did (settlement is
    off), so the exit takes the sale's money too: the ledger cannot cover it, staff see it."""
    from datetime import timedelta

    from auctions.services.auctions import auction_close

    key = _key(buyer)
    auction = make_auction()
    bid_place(auction_id=auction.pk, buyer=buyer, max_amount=D("40"))
    auction_close(auction_id=auction.pk, now=auction.deadline + timedelta(seconds=1))  # 10 captured, not funded
    send_as(key, contracts.vault.functions.announceExit(units("100")))
    vault_index()
    assert balance_for(user=buyer)["exiting"] == D("90")
    chain_clock(3)
    send_as(key, contracts.vault.functions.exit())  # the vault still holds all 100 for this address
    vault_index()

    claim = VaultClaim.objects.get(purpose="outflow")
    assert (claim.state, claim.amount, claim.covered) == ("short", D("10"), D("0"))
    issue = ReconciliationIssue.objects.get(kind="user_shortfall", resolved_at__isnull=True)
    assert issue.user == buyer and issue.expected.startswith("10.000000")
    assert "beyond what the ledger held" in caplog.text
    assert ledger_check().ok
    deposit(key.address, "10")  # money arrives: the claim takes it and the issue resolves
    vault_index()
    claim.refresh_from_db()
    issue.refresh_from_db()
    assert claim.state == "covered" and issue.resolved_at is not None


def test_bounty_pools_back_an_outflow_when_bids_are_not_enough(buyer, contracts, send_as, chain_clock):
    from auctions.services.bounties import bounty_pool_reference

    bounty = make_bounty(vertical=make_auction().vertical, buyer=buyer, fund=D("90"))  # 10 left available
    key = _key(buyer)
    send_as(key, contracts.vault.functions.announceExit(units("95")))
    vault_index()
    assert balance_for(user=buyer)["exiting"] == D("10")  # the pool is not touched by an announcement
    chain_clock(3)
    send_as(key, contracts.vault.functions.exit())  # 95 leave: 85 of the pool was not there any more
    vault_index()

    pool = LedgerAccount.objects.get(reference=bounty_pool_reference(bounty.pk))
    assert pool.balance == D("5")
    assert VaultClaim.objects.get(purpose="outflow").state == "covered"
    assert "bounty" in _withdrawn_mails()[-1].body
    assert _vault_free(contracts, buyer) == _ledger_backed(buyer) + pool.balance == D("5")
    assert ledger_check().ok


def test_a_linked_wallet_gets_its_custodial_balance_moved_and_the_ledger_does_not_change(buyer, contracts, settings):
    from eth_account import Account

    from chain.signals import wallet_linked
    from chain.transactions import chain_tx_poll_pending

    own = Account.create()
    wallet = wallet_for(user=buyer)
    wallet.address, wallet.kind = own.address, "linked"
    wallet.save()
    wallet_linked.send(sender=type(wallet), wallet=wallet)  # what linking sends on commit
    wait_mined()
    chain_tx_poll_pending()
    assert vault_index() == 1

    assert contracts.vault.functions.balanceOf(own.address).call() == units("100")
    assert contracts.vault.functions.balanceOf(wallet.custodial_address).call() == 0
    move = VaultEvent.objects.get(kind="move")
    assert (move.account, move.counterparty, move.ledger_transaction) == (wallet.custodial_address, own.address, None)
    assert balance_for(user=buyer)["available"] == D("100")


def test_an_exit_announced_at_the_custodial_address_keeps_its_amount_there_when_a_wallet_is_linked(
    buyer, contracts, send_as, chain_clock
):
    """The shape of CI's seed 20261205 failure: the custodial address announced an exit, then the user
    linked a wallet and the whole custodial balance moved — the exit's reserve stayed in the ledger
    with nothing behind it at its address, and later exits from the wallet came out short. Now the
    move leaves the announced amount where the exit pays from, and the rest follows once the exit
    ends; the ledger equals the vault throughout."""
    from eth_account import Account

    from chain.signals import wallet_linked
    from chain.transactions import chain_tx_poll_pending

    custodial = _key(buyer)
    send_as(custodial, contracts.vault.functions.announceExit(units("30")))
    assert vault_index() == 1
    own = Account.create()
    wallet = wallet_for(user=buyer)
    wallet.address, wallet.kind = own.address, "linked"
    wallet.save()
    wallet_linked.send(sender=type(wallet), wallet=wallet)
    wait_mined()
    chain_tx_poll_pending()
    assert vault_index() == 1  # the move
    assert contracts.vault.functions.balanceOf(wallet.custodial_address).call() == units("30")
    assert contracts.vault.functions.balanceOf(own.address).call() == units("70")
    assert balance_for(user=buyer) == {"available": D("70"), "held": D("0"), "exiting": D("30"), "total": D("100")}

    # The wallet leaves with everything it holds; the custodial exit's reserve is not touched.
    send_as(own, contracts.vault.functions.announceExit(units("70")))
    vault_index()
    chain_clock(3)
    send_as(own, contracts.vault.functions.exit())
    assert vault_index() == 1
    assert not VaultClaim.objects.filter(purpose="outflow").exists()
    assert _ledger_backed(buyer) == _vault_free(contracts, buyer) == D("30")

    # The custodial exit cancelled: its amount is available again and follows the wallet.
    send_as(custodial, contracts.vault.functions.cancelExit())
    assert vault_index() == 1
    wait_mined()
    chain_tx_poll_pending()
    assert vault_index() == 1  # the second move
    assert contracts.vault.functions.balanceOf(own.address).call() == units("30")
    assert balance_for(user=buyer) == {"available": D("30"), "held": D("0"), "exiting": D("0"), "total": D("30")}
    assert _ledger_backed(buyer) == _vault_free(contracts, buyer)
    assert ledger_check().ok


def _link_own_wallet(user):
    """Link a fresh own wallet the way linking does on commit (the custodial balance is swept)."""
    from eth_account import Account

    from chain.signals import wallet_linked
    from chain.transactions import chain_tx_poll_pending

    own = Account.create()
    wallet = wallet_for(user=user)
    wallet.address, wallet.kind = own.address, "linked"
    wallet.save()
    wallet_linked.send(sender=type(wallet), wallet=wallet)
    wait_mined()
    chain_tx_poll_pending()
    return own


def test_an_exit_sets_aside_no_more_than_its_address_holds(
    buyer, contracts, send_as, chain_clock, deposit, client, admin_client
):
    """The shape of CI's seed 5: an exit announced at the custodial address for more than it holds,
    then a linked wallet with money of its own. The exit can only ever pay what its own address
    holds, so its reserve stops there (`payable`) and follows that address's balance; the wallet's
    money stays available, and the wallet's own exit is paid from its own reserve — never short."""
    custodial = _key(buyer)
    send_as(custodial, contracts.vault.functions.announceExit(units("150")))
    assert vault_index() == 1
    custodial_exit = VaultExit.objects.get()
    assert (custodial_exit.payable, custodial_exit.reserved) == (D("100"), D("100"))
    client.force_login(buyer)
    page = client.get(reverse("wallet")).content.decode()
    assert "Exit of 150.00 USDC" in page and "100.00 USDC set aside (that address holds 100.00 USDC" in page
    assert "100.000000" in admin_client.get(reverse("admin:escrow_vaultexit_changelist")).content.decode()
    own = _link_own_wallet(buyer)
    assert contracts.vault.functions.balanceOf(custodial.address).call() == units("100")  # the exit keeps it all
    deposit(own.address, "50")
    assert vault_index() == 1
    claims_cover()
    assert balance_for(user=buyer) == {"available": D("50"), "held": D("0"), "exiting": D("100"), "total": D("150")}

    send_as(own, contracts.vault.functions.announceExit(units("50")))
    assert vault_index() == 1
    chain_clock(3)
    send_as(own, contracts.vault.functions.exit())
    assert vault_index() == 1
    claims_cover()
    assert not VaultClaim.objects.filter(purpose="outflow").exists()
    assert _ledger_backed(buyer) == _vault_free(contracts, buyer) == D("100")

    # Money arriving at the exit's address raises what it can pay: the reserve follows.
    deposit(custodial.address, "30")
    assert vault_index() == 1
    claims_cover()
    custodial_exit.refresh_from_db()
    assert (custodial_exit.payable, custodial_exit.reserved) == (D("130"), D("130"))
    assert balance_for(user=buyer)["available"] == D("0")
    send_as(custodial, contracts.vault.functions.exit())
    assert vault_index() == 1
    assert not VaultClaim.objects.filter(purpose="outflow").exists()
    assert balance_for(user=buyer) == {"available": D("0"), "held": D("0"), "exiting": D("0"), "total": D("0")}
    assert _vault_free(contracts, buyer) == D("0")
    assert ledger_check().ok


def test_a_reserve_beyond_what_its_exit_can_pay_goes_back_to_available(buyer, contracts, send_as, monkeypatch):
    """When the node did not say what an exit can pay at its announcement, the reserve takes the
    whole amount from available; the next cover pass reads it and gives back the excess."""
    from escrow.services import exits

    own = _link_own_wallet(buyer)  # the 100 moves to the wallet; the custodial address holds 0
    assert vault_index() == 1
    real_read = exits.exit_payable_read
    monkeypatch.setattr(exits, "exit_payable_read", lambda **kwargs: None)  # the node does not answer
    send_as(_key(buyer), contracts.vault.functions.announceExit(units("40")))
    assert vault_index() == 1
    assert balance_for(user=buyer)["exiting"] == D("40")
    monkeypatch.setattr(exits, "exit_payable_read", real_read)
    claims_cover()

    vault_exit = VaultExit.objects.get()
    assert (vault_exit.payable, vault_exit.reserved) == (D("0"), D("0"))
    assert balance_for(user=buyer) == {"available": D("100"), "held": D("0"), "exiting": D("0"), "total": D("100")}
    assert contracts.vault.functions.balanceOf(own.address).call() == units("100")
    claim = VaultClaim.objects.get()
    assert (claim.state, claim.covered, claim.steps) == ("open", D("0"), 2)
    assert ledger_check().ok


def test_a_deal_waits_until_the_custodial_balance_has_reached_the_linked_wallet(buyer, contracts):
    """Funding from the old custodial address would race the move of that very balance: the deal
    is funded from the wallet, once the money is there."""
    from eth_account import Account

    from chain.models import ChainTransaction
    from chain.transactions import chain_tx_poll_pending
    from escrow.services.sweeps import FundingDeferred, vault_address_to_fund

    wallet = wallet_for(user=buyer)
    wallet.address, wallet.kind = Account.create().address, "linked"
    wallet.save()  # linked without the signal: nothing moved yet
    w3, vault = contracts.vault.w3, contracts.vault.address
    with pytest.raises(FundingDeferred):
        vault_address_to_fund(user=buyer, amount=D("60"), w3=w3, vault_address=vault)
    assert ChainTransaction.objects.filter(idempotency_key__startswith="escrow.move:").count() == 1  # the move
    wait_mined()
    chain_tx_poll_pending()
    assert vault_address_to_fund(user=buyer, amount=D("60"), w3=w3, vault_address=vault) == wallet.address
    assert vault_address_to_fund(user=buyer, amount=D("101"), w3=w3, vault_address=vault) == wallet.address


def test_staff_credit_in_chain_mode_needs_the_treasury_permission_and_comes_through_the_vault(
    client, contracts, settings
):
    from django.contrib.auth.models import Permission

    settings.CHAIN_SETTLEMENT = True
    target = UserFactory(is_buyer=True)
    clerk = UserFactory(is_staff=True)
    client.force_login(clerk)
    page = client.get(reverse("staff-credit"))
    form = page.context["form"]
    body = {"email": target.email, "amount": "25", "memo": "", "nonce": form.initial["nonce"]}

    refused = client.post(reverse("staff-credit"), body)
    assert refused.status_code == 403 and "treasury" in refused.content.decode()
    assert _ledger_backed(target) == 0

    clerk.user_permissions.add(Permission.objects.get(codename="credit_from_treasury"))
    sent = client.post(reverse("staff-credit"), body, follow=True)
    assert sent.status_code == 200 and "once the deposit confirms" in sent.content.decode()
    assert _ledger_backed(target) == 0  # nothing in the ledger before the vault has it
    assert vault_index() == 1
    assert _ledger_backed(target) == D("25") == _vault_free(contracts, target)
    assert Web3.to_checksum_address(VaultEvent.objects.get().account) == wallet_for(user=target).address


def _link(user, account):
    from chain import wallets
    from tests.chain.test_wallets import _sign, _siwe

    message = _siwe(address=account.address, nonce=wallets.siwe_nonce_issue(user=user))
    return wallets.siwe_message_check_and_link(
        user=user, message=message, signature=_sign(account, message), domain="testserver"
    )


def test_linking_an_address_the_vault_holds_money_or_an_exit_for_is_refused(buyer, contracts, deposit, send_as):
    """Money at an address the marketplace did not know (deposited, or an exit announced before
    linking) would never be in the ledger: linking it is refused, and so is replacing a linked
    wallet that still holds money."""
    from django.core.exceptions import ValidationError
    from eth_account import Account

    funded, announced, fresh = Account.create(), Account.create(), Account.create()
    deposit(funded.address, "5")
    send_as(announced, contracts.vault.functions.announceExit(units("5")))
    for account in (funded, announced):
        with pytest.raises(ValidationError, match="already holds USDC or an announced exit"):
            _link(buyer, account)
    wallet = _link(buyer, fresh)
    assert wallet.address == fresh.address
    deposit(fresh.address, "1")
    with pytest.raises(ValidationError, match="still holds USDC"):
        _link(buyer, Account.create())


def test_a_treasury_deposit_sent_but_not_confirmed_in_time_is_never_sent_twice(contracts, settings):
    """The form's key stays used once the deposit left: a resubmission after a receipt that did not
    come in time sends nothing more (the indexer credits the one deposit when it confirms)."""
    from escrow.services.deposits import FaucetError, treasury_deposit_for
    from tests.escrow.rpc_proxy import HoldingProxy

    target = UserFactory(is_buyer=True)
    node = settings.CHAIN_RPC_URL
    proxy = HoldingProxy(node).start()
    try:
        settings.CHAIN_RPC_URL, settings.CHAIN_RPC_TIMEOUT = proxy.url, 1
        # Hold receipts only once the deposit itself was sent (after the mint and the approval).
        proxy.hold(
            lambda call: (
                call.get("method") == "eth_getTransactionReceipt" and proxy.calls.count("eth_sendRawTransaction") == 3
            )
        )
        with pytest.raises(FaucetError, match="not confirmed yet"):
            treasury_deposit_for(user=target, amount=D("25"), once="staff-credit:abc", mint=True)
        proxy.release()
        treasury_deposit_for(user=target, amount=D("25"), once="staff-credit:abc", mint=True)  # the same form again
    finally:
        proxy.stop()
        settings.CHAIN_RPC_URL, settings.CHAIN_RPC_TIMEOUT = node, 10
    assert proxy.calls.count("eth_sendRawTransaction") == 3  # mint, approval, one deposit: not a second one
    vault_index()
    assert _ledger_backed(target) == D("25") == _vault_free(contracts, target)


def test_a_bid_the_platform_could_not_fund_before_an_exit_unlocks_is_refused(buyer, contracts, send_as, deposit):
    """Once an exit unlocks the vault refuses to fund deals out of the amount leaving, so while an
    exit is not fully set aside a bid or buy-now that could not be paid before it unlocks is
    refused; set aside in full, the rest of the balance bids as usual."""
    from auctions.services.auctions import BidRejected

    auction = make_auction()
    send_as(_key(buyer), contracts.vault.functions.announceExit(units("150")))  # more than the 100 there
    vault_index()
    with pytest.raises(BidRejected, match="exit from the vault") as refused:
        bid_place(auction_id=auction.pk, buyer=buyer, max_amount=D("10"))
    assert refused.value.code == "funds_leaving"

    send_as(_key(buyer), contracts.vault.functions.announceExit(units("60")))  # replaces it: 60 of 100
    vault_index()
    bid_place(auction_id=auction.pk, buyer=buyer, max_amount=D("40"))  # the 40 not leaving
    assert balance_for(user=buyer) == {"available": D("0"), "held": D("40"), "exiting": D("60"), "total": D("100")}


def test_the_api_answers_a_bid_or_buy_now_against_an_unlocking_exit_with_a_409(buyer, contracts, send_as):
    from datetime import timedelta

    from rest_framework.test import APIClient

    from auctions.services.auctions import auction_close
    from tests.api_errors import api_error

    listed = make_auction()
    auction_close(auction_id=listed.pk, now=listed.deadline + timedelta(seconds=1))  # no bid: buy-now
    auction = make_auction()
    send_as(_key(buyer), contracts.vault.functions.announceExit(units("150")))  # more than the 100 there
    vault_index()
    api = APIClient()
    api.force_authenticate(buyer)

    bid = api.post(f"/api/v1/auctions/{auction.pk}/bids/", {"max_amount": "10"}, format="json")
    buy = api.post(f"/api/v1/buy-now/{listed.buy_now_listing.pk}/purchase/", HTTP_IDEMPOTENCY_KEY="k1")
    for response in (bid, buy):
        assert response.status_code == 409, response.content
        assert api_error(response)["code"] == "funds_leaving"
    assert balance_for(user=buyer)["held"] == 0


def test_a_bounty_whose_owner_is_leaving_the_vault_pays_no_award(buyer, contracts, send_as):
    from datetime import timedelta

    from auctions.models import BountyAward
    from auctions.services.auctions import auction_close
    from tests.auctions.factories import funded_buyer

    auction = make_auction()
    make_bounty(vertical=auction.vertical, buyer=buyer, fund=D("50"))
    send_as(_key(buyer), contracts.vault.functions.announceExit(units("100")))  # 50 available: not all set aside
    vault_index()
    bid_place(auction_id=auction.pk, buyer=funded_buyer(D("100")), max_amount=D("20"))
    auction_close(auction_id=auction.pk, now=auction.deadline + timedelta(seconds=1))

    assert not BountyAward.objects.exists()  # its award could not be funded before the exit unlocks


def test_a_failed_move_to_the_linked_wallet_is_tried_again_under_a_fresh_key(buyer, contracts):
    from eth_account import Account

    from chain.models import ChainTransaction
    from chain.transactions import chain_tx_poll_pending
    from escrow.services.sweeps import wallet_sweeps_retry

    wallet = wallet_for(user=buyer)
    custodial = wallet.custodial_address
    wallet.address, wallet.kind = Account.create().address, "linked"
    wallet.save()
    key = f"escrow.move:31337:{custodial}:0"  # the first move for vault nonce 0, which failed
    ChainTransaction.objects.create(
        idempotency_key=key,
        chain_id=31337,
        to=contracts.vault.address,
        data="0x",
        status=ChainTransaction.Status.FAILED,
        error="InsufficientBalance(...)",
    )

    assert wallet_sweeps_retry() == 1
    retried = ChainTransaction.objects.get(idempotency_key=f"{key}:retry1")
    wait_mined()
    chain_tx_poll_pending()
    retried.refresh_from_db()
    assert retried.status == ChainTransaction.Status.CONFIRMED
    assert contracts.vault.functions.balanceOf(wallet.address).call() == units("100")
    assert wallet_sweeps_retry() == 0  # the latest move confirmed: nothing to retry


def test_the_index_task_reports_claims_and_runs_the_sweep_retries(buyer, contracts):
    from escrow.tasks.funds import index_vault

    assert index_vault() == {"applied": 0, "completed": 0, "failed": 0, "claims_open": 0}
