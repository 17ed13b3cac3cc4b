"""Builders for settlement tests on the real dev chain (anvil) and PostgreSQL: deployed
contracts, buyers with USDC in the vault, and sales made through the real auction services."""

from decimal import Decimal

from django.utils import timezone
from web3 import Web3

from auctions.models import Sale
from auctions.services.auctions import auction_close, bid_place
from chain.artifacts import load_artifact
from chain.client import chain_web3
from chain.deploy import contract_address, marketplace_deploy
from chain.models import ChainTransaction
from chain.transactions import chain_tx_poll_pending
from chain.wallets import wallet_custodial_account, wallet_for
from escrow.services.settlement import settlement_advance, to_units
from tests.auctions.factories import funded_buyer, make_auction

D = Decimal
CHAIN_ID = 31337


def deploy() -> dict:
    w3 = chain_web3()
    marketplace_deploy(w3=w3)
    return {name: contract(w3, name) for name in ("MockUSDC", "EscrowVault", "LeadNFT")}


def contract(w3, name: str):
    return w3.eth.contract(address=contract_address(chain_id=CHAIN_ID, name=name), abi=load_artifact(name)["abi"])


def _send_as(w3, account, call) -> None:
    tx = call.build_transaction(
        {"from": account.address, "nonce": w3.eth.get_transaction_count(account.address), "chainId": CHAIN_ID}
    )
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
    )
    assert receipt["status"] == 1


def vault_deposit(user, amount: Decimal) -> str:
    """Put `amount` USDC in the user's vault balance from their custodial address (minted
    MockUSDC, gas from anvil_setBalance). The ledger is credited separately by the caller."""
    w3 = chain_web3()
    wallet = wallet_for(user=user)
    account = wallet_custodial_account(wallet=wallet)
    w3.provider.make_request("anvil_setBalance", [account.address, hex(10**19)])
    usdc, vault = contract(w3, "MockUSDC"), contract(w3, "EscrowVault")
    units = to_units(amount)
    _send_as(w3, account, usdc.functions.mint(account.address, units))
    _send_as(w3, account, usdc.functions.approve(vault.address, units))
    _send_as(w3, account, vault.functions.deposit(units))
    return wallet.address


def chain_buyer(amount: Decimal = D("500")):
    """A buyer with `amount` in both the ledger and the vault."""
    buyer = funded_buyer(amount)
    vault_deposit(buyer, amount)
    return buyer


def make_sale(*, buyer=None, price: Decimal = D("25"), vertical=None, **lead_kwargs) -> Sale:
    """An auction won at `price` by `buyer`: the vertical's reserve is the price and the one
    bidder bids exactly that."""
    from tests.auctions.factories import make_vertical

    buyer = buyer or chain_buyer()
    vertical = vertical or make_vertical(reserve_price=price)
    auction = make_auction(vertical=vertical, **lead_kwargs)
    bid_place(auction_id=auction.pk, buyer=buyer, max_amount=price)
    auction_close(auction_id=auction.pk, now=max(auction.deadline, timezone.now()))
    return Sale.objects.get(auction=auction)


def mined() -> None:
    """Wait until anvil has mined every transaction we sent (it mines just after the send returns)."""
    w3 = chain_web3()
    for tx_hash in ChainTransaction.objects.filter(status=ChainTransaction.Status.SENT).values_list(
        "tx_hash", flat=True
    ):
        w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)


def settle_rounds(rounds: int = 6, **advance_kwargs) -> None:
    """What the beat does: poll the chain transactions (once what was sent is mined), then advance
    the settlements."""
    for _ in range(rounds):
        mined()
        chain_tx_poll_pending()
        settlement_advance(**advance_kwargs)


def checksum(address: str) -> str:
    return Web3.to_checksum_address(address)
