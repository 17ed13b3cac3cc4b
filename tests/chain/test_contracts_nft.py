"""LeadNFT and VerticalNFT on an in-process py-evm chain (Prague)."""

import pytest
from eth_account import Account
from eth_utils import keccak
from web3.logs import DISCARD

from tests.chain.conftest import deploy

pytestmark = pytest.mark.django_db  # suite-wide autouse fixtures; no table is touched here

USDC = 10**6


@pytest.fixture
def accounts(w3):
    return w3.eth.accounts


@pytest.fixture
def lead_nft(w3, accounts):
    # admin (minter) = accounts[0], default royalty receiver (platform) = accounts[9]
    return deploy(w3, "LeadNFT", accounts[0], accounts[9])


@pytest.fixture
def vertical_nft(w3, accounts):
    return deploy(w3, "VerticalNFT", accounts[0], accounts[9])


def sale(token_id, buyer, seller, *, vertical=3, price=25 * USDC, quality=87):
    return (
        token_id,
        buyer,
        seller,
        vertical,
        price,
        quality,
        keccak(text=f"salt|lead-{token_id}"),
        keccak(text=f"bidlog-{token_id}"),
    )


def fresh_addresses(n):
    return [Account.create().address for _ in range(n)]


def mint(w3, nft, sales, sender):
    tx = nft.functions.mintBatch(sales).transact({"from": sender})
    return w3.eth.wait_for_transaction_receipt(tx)


# ---- LeadNFT ----


def test_minted_token_belongs_to_the_buyer_and_records_the_sale(w3, lead_nft, accounts):
    buyer, seller = accounts[1], accounts[2]
    receipt = mint(w3, lead_nft, [sale(1001, buyer, seller, vertical=7)], accounts[0])
    assert receipt.status == 1
    assert lead_nft.functions.ownerOf(1001).call() == buyer
    assert lead_nft.functions.balanceOf(buyer).call() == 1
    assert lead_nft.functions.leadOf(1001).call() == [seller, 7, 1]
    event = lead_nft.events.LeadMinted().process_receipt(receipt, errors=DISCARD)[0]["args"]
    assert event["tokenId"] == 1001 and event["price"] == 25 * USDC and event["quality"] == 87
    assert event["dataHash"] == keccak(text="salt|lead-1001")


def test_batch_root_verifies_the_sales_and_rejects_a_tampered_one(w3, lead_nft, accounts):
    sales = [sale(i, accounts[1 + i % 3], accounts[5]) for i in range(1, 6)]
    mint(w3, lead_nft, sales, accounts[0])
    root = lead_nft.functions.batchRoot(1).call()
    expected = b"\x00" * 32
    for s in sales:
        expected = keccak(expected + lead_nft.functions.leafHash(s).call())
    assert root == expected
    assert lead_nft.functions.verifyBatch(1, sales).call() is True
    tampered = list(sales)
    tampered[2] = sale(3, accounts[1 + 3 % 3], accounts[5], price=1)
    assert lead_nft.functions.verifyBatch(1, tampered).call() is False


def test_non_minter_cannot_mint(w3, lead_nft, accounts, reverts):
    with reverts(lead_nft, "AccessControlUnauthorizedAccount"):
        mint(w3, lead_nft, [sale(1, accounts[1], accounts[2])], accounts[1])


def test_minter_role_can_be_granted(w3, lead_nft, accounts):
    role = lead_nft.functions.MINTER_ROLE().call()
    lead_nft.functions.grantRole(role, accounts[3]).transact({"from": accounts[0]})
    assert mint(w3, lead_nft, [sale(1, accounts[1], accounts[2])], accounts[3]).status == 1


@pytest.mark.parametrize("size", [0, 51])
def test_batch_size_outside_1_to_50_reverts(w3, lead_nft, accounts, reverts, size):
    sales = [sale(i + 1, accounts[1], accounts[2]) for i in range(size)]
    with reverts(lead_nft, "BatchSizeOutOfRange"):
        mint(w3, lead_nft, sales, accounts[0])


def test_minting_a_sale_twice_reverts(w3, lead_nft, accounts, reverts):
    mint(w3, lead_nft, [sale(42, accounts[1], accounts[2])], accounts[0])
    with reverts(lead_nft, "TokenAlreadyMinted"):
        mint(w3, lead_nft, [sale(43, accounts[1], accounts[2]), sale(42, accounts[3], accounts[2])], accounts[0])
    assert lead_nft.functions.ownerOf(42).call() == accounts[1]
    with reverts(lead_nft, "ERC721NonexistentToken"):
        lead_nft.functions.ownerOf(43).call()


def test_duplicate_token_ids_within_one_batch_revert(w3, lead_nft, accounts, reverts):
    with reverts(lead_nft, "TokenAlreadyMinted"):
        mint(w3, lead_nft, [sale(7, accounts[1], accounts[2]), sale(7, accounts[3], accounts[2])], accounts[0])


def test_zero_buyer_reverts(w3, lead_nft, accounts, reverts):
    with reverts(lead_nft, "InvalidRecipient"):
        mint(w3, lead_nft, [sale(1, "0x" + "00" * 20, accounts[2])], accounts[0])


def test_royalty_goes_to_the_original_seller_at_2_percent(w3, lead_nft, accounts):
    buyer, seller, other = accounts[1], accounts[2], accounts[3]
    mint(w3, lead_nft, [sale(5, buyer, seller), sale(6, buyer, "0x" + "00" * 20)], accounts[0])
    assert lead_nft.functions.royaltyInfo(5, 100 * USDC).call() == [seller, 2 * USDC]
    assert lead_nft.functions.royaltyInfo(5, 12_345_678).call() == [seller, 12_345_678 * 200 // 10_000]
    # no seller recorded: the default receiver (the platform)
    assert lead_nft.functions.royaltyInfo(6, 100 * USDC).call() == [accounts[9], 2 * USDC]
    # the royalty receiver stays the original seller after a resale
    lead_nft.functions.transferFrom(buyer, other, 5).transact({"from": buyer})
    assert lead_nft.functions.ownerOf(5).call() == other
    assert lead_nft.functions.balanceOf(buyer).call() == 1
    assert lead_nft.functions.royaltyInfo(5, 100 * USDC).call() == [seller, 2 * USDC]
    assert lead_nft.functions.leadOf(5).call() == [seller, 3, 1]


def test_transfer_needs_owner_or_approval(w3, lead_nft, accounts, reverts):
    mint(w3, lead_nft, [sale(5, accounts[1], accounts[2])], accounts[0])
    with reverts(lead_nft, "ERC721InsufficientApproval"):
        lead_nft.functions.transferFrom(accounts[1], accounts[3], 5).transact({"from": accounts[3]})
    lead_nft.functions.approve(accounts[3], 5).transact({"from": accounts[1]})
    lead_nft.functions.transferFrom(accounts[1], accounts[3], 5).transact({"from": accounts[3]})
    assert lead_nft.functions.getApproved(5).call() == "0x" + "00" * 20


def test_supports_erc721_erc2981_and_access_control(lead_nft):
    for interface_id in ("0x80ac58cd", "0x2a55205a", "0x7965db0b", "0x01ffc9a7"):
        assert lead_nft.functions.supportsInterface(interface_id).call() is True


def test_batch_of_50_to_distinct_buyers_and_gas_per_token(w3, lead_nft, accounts, capsys):
    sellers = fresh_addresses(5)
    # warm the seller registry (one-off cost per seller ever), as in steady state
    mint(w3, lead_nft, [sale(900_000 + i, accounts[1], s) for i, s in enumerate(sellers)], accounts[0])
    figures = {}
    token_id = 1
    for size in (1, 20, 50):
        buyers = fresh_addresses(size)
        sales = [sale(token_id + i, b, sellers[i % 5]) for i, b in enumerate(buyers)]
        receipt = mint(w3, lead_nft, sales, accounts[0])
        assert receipt.status == 1
        token_id += size
        figures[size] = receipt.gasUsed / size
        assert all(lead_nft.functions.ownerOf(s[0]).call() == s[1] for s in sales[:: max(1, size // 5)])
    # the same batch of 50 when every seller is new
    new_sellers = [sale(10_000 + i, b, s) for i, (b, s) in enumerate(zip(fresh_addresses(50), fresh_addresses(50)))]
    figures["50, 50 new sellers"] = mint(w3, lead_nft, new_sellers, accounts[0]).gasUsed / 50
    with capsys.disabled():
        print("\nLeadNFT gas per minted token (distinct new buyers):",
              ", ".join(f"batch {k}: {v:,.0f}" for k, v in figures.items()))
    assert figures[50] < 60_000  # generous bound: the naive OpenZeppelin loop is ~47,900 with no data


# ---- VerticalNFT ----


def test_vertical_token_id_is_the_vertical_id_and_pays_2_percent(w3, vertical_nft, accounts, reverts):
    vertical_nft.functions.mint(accounts[4], 12).transact({"from": accounts[0]})
    assert vertical_nft.functions.ownerOf(12).call() == accounts[4]
    assert vertical_nft.functions.royaltyInfo(12, 50 * USDC).call() == [accounts[9], USDC]
    with reverts(vertical_nft, "ERC721InvalidSender"):
        vertical_nft.functions.mint(accounts[5], 12).transact({"from": accounts[0]})


def test_non_minter_cannot_mint_a_vertical(w3, vertical_nft, accounts, reverts):
    with reverts(vertical_nft, "AccessControlUnauthorizedAccount"):
        vertical_nft.functions.mint(accounts[4], 1).transact({"from": accounts[4]})
