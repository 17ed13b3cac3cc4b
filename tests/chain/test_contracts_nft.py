"""LeadNFT and VerticalNFT on an in-process py-evm chain (Prague)."""

import pytest
from eth_account import Account
from eth_utils import keccak, to_checksum_address
from web3.logs import DISCARD

from chain import leadnft
from tests.chain.conftest import deploy

pytestmark = pytest.mark.django_db  # suite-wide autouse fixtures; no table is touched here

USDC = 10**6
ZERO = "0x" + "00" * 20
# gas is deterministic (py-evm, the committed artifact, fixed addresses): ceilings for a batch of
# 50 distinct buyers, the targets (chain/contracts/README.md: 27,85x and 14,5xx measured)
GAS_CEILING_NEW_HOLDERS = 28_000
GAS_CEILING_REPEAT_HOLDERS = 15_000
HOLDERS_TAG = int(keccak(text="LeadNFT.holders")[:12].hex(), 16) << 160  # LeadNFT._HOLDERS


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


def sale(sale_id, buyer, seller, *, vertical=3, price=25 * USDC, quality=87):
    return (
        sale_id,
        buyer,
        seller,
        vertical,
        price,
        quality,
        keccak(text=f"salt|lead-{sale_id}"),
        keccak(text=f"bidlog-{sale_id}"),
    )


def token(sale_id, buyer):
    return (int(buyer, 16) << 96) | sale_id


def item(s):
    return leadnft.MintItem(*s)


def fresh_addresses(n):
    return [Account.create().address for _ in range(n)]


def fixed_addresses(n, tag):
    """Addresses derived from `tag` (not random): the same gas figures on every run."""
    return [Account.from_key(keccak(text=f"{tag}-{i}")).address for i in range(n)]


def mint(w3, nft, sales, sender):
    # no size check here (chain.leadnft.mint_batch_calldata has one): the contract's is tested
    tx = nft.functions.mintBatch(leadnft.pack_sales([item(s) for s in sales])).transact({"from": sender})
    return w3.eth.wait_for_transaction_receipt(tx)


def pair(a, b):
    return keccak(min(a, b) + max(a, b))


# ---- minting and ownership ----


def test_minted_token_id_encodes_the_buyer_and_belongs_to_them(w3, lead_nft, accounts):
    buyer, seller = accounts[1], accounts[2]
    receipt = mint(w3, lead_nft, [sale(1001, buyer, seller, vertical=7)], accounts[0])
    assert receipt.status == 1
    token_id = token(1001, buyer)
    assert token_id >> 96 == int(buyer, 16)
    [transfer] = lead_nft.events.Transfer().process_receipt(receipt, errors=DISCARD)
    assert transfer["args"] == {"from": ZERO, "to": buyer, "tokenId": token_id}
    assert lead_nft.functions.ownerOf(token_id).call() == buyer
    assert lead_nft.functions.balanceOf(buyer).call() == 1
    assert lead_nft.functions.saleOf(token_id).call() == [buyer, 1001, seller]
    assert lead_nft.functions.isSaleMinted(1001).call() is True
    assert lead_nft.functions.isSaleMinted(1002).call() is False
    [batch] = lead_nft.events.BatchMinted().process_receipt(receipt, errors=DISCARD)
    assert batch["args"]["batchId"] == 1 and batch["args"]["count"] == 1
    assert batch["args"]["root"] == lead_nft.functions.batchRoot(1).call()


def test_several_tokens_of_one_buyer_in_and_across_batches(w3, lead_nft, accounts):
    buyer, other = accounts[1], accounts[2]
    mint(
        w3,
        lead_nft,
        [sale(1, buyer, accounts[5]), sale(2, other, accounts[5]), sale(3, buyer, accounts[6])],
        accounts[0],
    )
    mint(w3, lead_nft, [sale(4, buyer, accounts[7])], accounts[0])
    for sale_id, owner, seller in (
        (1, buyer, accounts[5]),
        (2, other, accounts[5]),
        (3, buyer, accounts[6]),
        (4, buyer, accounts[7]),
    ):
        assert lead_nft.functions.ownerOf(token(sale_id, owner)).call() == owner
        assert lead_nft.functions.saleOf(token(sale_id, owner)).call() == [owner, sale_id, seller]
    assert lead_nft.functions.balanceOf(buyer).call() == 3
    assert lead_nft.functions.balanceOf(other).call() == 1
    assert lead_nft.functions.batchCount().call() == 2


def test_forged_token_ids_do_not_exist(w3, lead_nft, accounts, reverts):
    buyer, other = accounts[1], accounts[2]
    # sale 1 is the buyer's first token (holder slot), sale 2 a later one (per-token record)
    mint(w3, lead_nft, [sale(1, buyer, accounts[5]), sale(2, buyer, accounts[5])], accounts[0])
    forged = [
        token(1, other),  # a minted sale under another buyer
        token(2, other),
        token(3, buyer),  # a sale never minted
        token(1, buyer) | (1 << 64),  # junk in the unused bits above the sale id
        token(0, buyer),  # sale id 0
        1,  # buyer address(0)
    ]
    for token_id in forged:
        with reverts(lead_nft, "ERC721NonexistentToken"):
            lead_nft.functions.ownerOf(token_id).call()
        with reverts(lead_nft, "ERC721NonexistentToken"):
            lead_nft.functions.saleOf(token_id).call()
        with reverts(lead_nft, "ERC721NonexistentToken"):
            lead_nft.functions.getApproved(token_id).call()
        with reverts(lead_nft, "ERC721NonexistentToken"):
            lead_nft.functions.transferFrom(other, accounts[3], token_id).transact({"from": other})
        assert lead_nft.functions.royaltyInfo(token_id, 100 * USDC).call() == [accounts[9], 2 * USDC]
    assert lead_nft.functions.balanceOf(other).call() == 0


def test_later_tokens_of_holders_record_their_buyer_and_seller(w3, lead_nft, accounts, reverts):
    """Tokens beyond the one kept in a holder's slot: a sale record (holder index, seller index)."""
    a, b, c, fresh = accounts[1], accounts[2], accounts[3], accounts[4]
    s1, s2 = accounts[5], accounts[6]
    # batch 1: a and b get their slot token and a second one each; a third to a with no seller
    mint(
        w3, lead_nft, [sale(8, a, s1), sale(9, b, s2), sale(10, a, s2), sale(11, b, s1), sale(12, a, ZERO)], accounts[0]
    )
    # batch 2: more to a and b (same and other record words), a first sale id above 2^48 for c
    # (not kept in its slot: a record from its first token)
    mint(w3, lead_nft, [sale(13, a, s1), sale(300, b, s2), sale(2**64 - 1, c, s1), sale(14, c, s2)], accounts[0])
    owned = {
        a: [(8, s1), (10, s2), (12, ZERO), (13, s1)],
        b: [(9, s2), (11, s1), (300, s2)],
        c: [(2**64 - 1, s1), (14, s2)],
    }
    for owner, tokens in owned.items():
        assert lead_nft.functions.balanceOf(owner).call() == len(tokens)
        for sale_id, seller in tokens:
            t = token(sale_id, owner)
            assert lead_nft.functions.ownerOf(t).call() == owner
            assert lead_nft.functions.saleOf(t).call() == [owner, sale_id, seller]
            receiver = seller if seller != ZERO else accounts[9]
            assert lead_nft.functions.royaltyInfo(t, 100 * USDC).call() == [receiver, 2 * USDC]
    # a minted sale under any other address does not exist: holders with an index, without one
    minted = [sale_id for tokens in owned.values() for sale_id, _ in tokens]
    for owner, tokens in owned.items():
        mine = {sale_id for sale_id, _ in tokens}
        for other in (a, b, c, fresh):
            if other == owner:
                continue
            for sale_id in mine:
                with reverts(lead_nft, "ERC721NonexistentToken"):
                    lead_nft.functions.ownerOf(token(sale_id, other)).call()
                with reverts(lead_nft, "ERC721NonexistentToken"):
                    lead_nft.functions.transferFrom(other, fresh, token(sale_id, other)).transact({"from": other})
                assert lead_nft.functions.royaltyInfo(token(sale_id, other), 100 * USDC).call() == [
                    accounts[9],
                    2 * USDC,
                ]
    for sale_id in (15, 301, 2**64 - 2, 7):  # never minted, next to minted ids in the same words
        for owner in (a, b, c):
            with reverts(lead_nft, "ERC721NonexistentToken"):
                lead_nft.functions.ownerOf(token(sale_id, owner)).call()
    assert all(lead_nft.functions.isSaleMinted(i).call() for i in minted)
    with reverts(lead_nft, "SaleAlreadyMinted"):
        mint(w3, lead_nft, [sale(10, fresh, s1)], accounts[0])
    # record tokens move like slot tokens; royalty and sale stay with the original sale
    lead_nft.functions.transferFrom(a, fresh, token(10, a)).transact({"from": a})
    lead_nft.functions.transferFrom(c, fresh, token(2**64 - 1, c)).transact({"from": c})
    assert lead_nft.functions.ownerOf(token(10, a)).call() == fresh
    assert lead_nft.functions.ownerOf(token(2**64 - 1, c)).call() == fresh
    assert [lead_nft.functions.balanceOf(x).call() for x in (a, c, fresh)] == [3, 1, 2]
    assert lead_nft.functions.royaltyInfo(token(10, a), 100 * USDC).call() == [s2, 2 * USDC]
    assert lead_nft.functions.saleOf(token(2**64 - 1, c)).call() == [c, 2**64 - 1, s1]
    # fresh received tokens by transfer only: its first minted token goes to its slot
    mint(w3, lead_nft, [sale(16, fresh, s2), sale(17, fresh, s1)], accounts[0])
    assert lead_nft.functions.balanceOf(fresh).call() == 4
    assert lead_nft.functions.saleOf(token(16, fresh)).call() == [fresh, 16, s2]
    assert lead_nft.functions.saleOf(token(17, fresh)).call() == [fresh, 17, s1]


@pytest.fixture
def anvil_lead_nft():
    """LeadNFT on the test anvil (CHAIN_RPC_URL): anvil_setStorageAt can exhaust the index spaces."""
    from web3 import Web3

    from chain.client import chain_web3
    from tests.chain.test_client_deploy import TEST_DEPLOYER_KEY

    w3 = Web3(chain_web3().provider)
    w3.eth.default_account = w3.eth.account.from_key(TEST_DEPLOYER_KEY).address
    w3.provider.make_request("anvil_setBalance", [w3.eth.default_account, hex(10**20)])
    platform = Account.create().address  # the default royalty receiver
    return w3, deploy(w3, "LeadNFT", w3.eth.default_account, platform), platform


def test_tokens_stay_correct_when_the_holder_or_seller_index_space_is_exhausted(anvil_lead_nft, reverts):
    w3, nft, platform = anvil_lead_nft
    minter = w3.eth.default_account
    a, b, other, s1, s2, s3 = fresh_addresses(6)
    mint(w3, nft, [sale(1, a, s1), sale(2, a, s1), sale(3, b, s2)], minter)  # a: index 1, s1: index 1
    # find `_counters` (1 batch, 1 holder index, 1 seller index) and use up both index spaces
    counters = 1 | 1 << 64 | 1 << 96
    slot = next(i for i in range(64) if int.from_bytes(w3.eth.get_storage_at(nft.address, i), "big") == counters)
    exhausted = 1 | 0xFFFF << 64 | 0xFFFF << 96
    w3.provider.make_request("anvil_setStorageAt", [nft.address, hex(slot), "0x" + exhausted.to_bytes(32, "big").hex()])
    # b has no index (none left), s3 has none (none left); a and s1 keep theirs
    mint(w3, nft, [sale(4, b, s1), sale(5, a, s3), sale(6, a, s1), sale(7, a, ZERO)], minter)
    for owner, sale_id, seller in (
        (a, 1, s1),
        (a, 2, s1),
        (b, 3, s2),
        (b, 4, s1),
        (a, 5, s3),
        (a, 6, s1),
        (a, 7, ZERO),
    ):
        t = token(sale_id, owner)
        assert nft.functions.ownerOf(t).call() == owner
        assert nft.functions.saleOf(t).call() == [owner, sale_id, seller]
        assert nft.functions.royaltyInfo(t, 100 * USDC).call() == [seller if seller != ZERO else platform, 2 * USDC]
        for forger in (a, b, other):
            if forger != owner:
                with reverts(nft, "ERC721NonexistentToken"):
                    nft.functions.ownerOf(token(sale_id, forger)).call()
    assert [nft.functions.balanceOf(x).call() for x in (a, b)] == [5, 2]
    assert nft.functions.batchCount().call() == 2
    # no index was handed out: b's holder slot (tag | address, no keccak) has none, so sale 4
    # and sale 5 (seller s3) are fallback records
    assert int.from_bytes(w3.eth.get_storage_at(nft.address, slot), "big") == exhausted + 1
    holder_b = int.from_bytes(w3.eth.get_storage_at(nft.address, HOLDERS_TAG | int(b, 16)), "big")
    assert holder_b & 0xFFFFFFFF == 2 and (holder_b >> 32) & 0xFFFF == 0


# ---- reverts ----


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


def test_a_replayed_batch_reverts_and_changes_nothing(w3, lead_nft, accounts, reverts):
    sales = [sale(42, accounts[1], accounts[2]), sale(43, accounts[3], accounts[2])]
    mint(w3, lead_nft, sales, accounts[0])
    with reverts(lead_nft, "SaleAlreadyMinted"):
        mint(w3, lead_nft, sales, accounts[0])
    assert lead_nft.functions.balanceOf(accounts[1]).call() == 1
    assert lead_nft.functions.batchCount().call() == 1


def test_a_minted_sale_cannot_be_minted_again_even_to_another_buyer(w3, lead_nft, accounts, reverts):
    mint(w3, lead_nft, [sale(42, accounts[1], accounts[2])], accounts[0])
    with reverts(lead_nft, "SaleAlreadyMinted"):
        mint(w3, lead_nft, [sale(300, accounts[4], accounts[2]), sale(42, accounts[3], accounts[2])], accounts[0])
    assert lead_nft.functions.ownerOf(token(42, accounts[1])).call() == accounts[1]
    with reverts(lead_nft, "ERC721NonexistentToken"):
        lead_nft.functions.ownerOf(token(42, accounts[3])).call()
    with reverts(lead_nft, "ERC721NonexistentToken"):
        lead_nft.functions.ownerOf(token(300, accounts[4])).call()  # the whole batch reverted
    assert lead_nft.functions.isSaleMinted(300).call() is False


@pytest.mark.parametrize("ids", [(7, 7), (7, 900, 7), (5, 7, 6, 7)])
def test_duplicate_sale_ids_within_one_batch_revert(w3, lead_nft, accounts, reverts, ids):
    sales = [sale(sale_id, accounts[1 + k], accounts[2]) for k, sale_id in enumerate(ids)]
    with reverts(lead_nft, "SaleAlreadyMinted"):
        mint(w3, lead_nft, sales, accounts[0])


def test_sale_ids_in_several_bitmap_words_are_all_recorded(w3, lead_nft, accounts, reverts):
    ids = [255, 256, 3, 1_000_000, 257, 2**64 - 1]
    mint(w3, lead_nft, [sale(i, accounts[1], accounts[2]) for i in ids], accounts[0])
    assert all(lead_nft.functions.isSaleMinted(i).call() for i in ids)
    assert not any(lead_nft.functions.isSaleMinted(i).call() for i in (254, 258, 4, 999_999))
    for i in ids:
        with reverts(lead_nft, "SaleAlreadyMinted"):
            mint(w3, lead_nft, [sale(i, accounts[3], accounts[2])], accounts[0])


def test_zero_buyer_and_sale_id_0_revert(w3, lead_nft, accounts, reverts):
    with reverts(lead_nft, "InvalidRecipient"):
        mint(w3, lead_nft, [sale(1, ZERO, accounts[2])], accounts[0])
    with reverts(lead_nft, "InvalidSaleId"):
        mint(w3, lead_nft, [sale(0, accounts[1], accounts[2])], accounts[0])


@pytest.mark.parametrize("extra", [-1, 1, 129])
def test_a_batch_that_is_not_whole_sales_reverts(w3, lead_nft, accounts, reverts, extra):
    packed = leadnft.pack_sales([item(sale(1, accounts[1], accounts[2])), item(sale(2, accounts[3], accounts[2]))])
    packed = packed[:extra] if extra < 0 else packed + b"\x01" * extra
    with reverts(lead_nft, "InvalidBatchLength"):
        lead_nft.functions.mintBatch(packed).transact({"from": accounts[0]})
    assert lead_nft.functions.isSaleMinted(1).call() is False


def test_every_field_at_its_widest_decodes_to_the_sale_it_was_minted_from(w3, lead_nft, accounts):
    """Packed fields have their type's width: any 130 bytes are a decodable sale, and the leaf is
    the ABI encoding's hash of exactly that sale (high bits of one field never leak into another)."""
    buyer, seller = to_checksum_address("0x" + "ff" * 20), to_checksum_address("0x" + "fe" * 20)
    widest = (2**64 - 1, buyer, seller, 2**32 - 1, 2**96 - 1, 2**16 - 1, b"\xff" * 32, b"\xfd" * 32)
    smallest = (1, accounts[1], ZERO, 0, 0, 0, b"\x00" * 32, b"\x00" * 32)
    receipt = mint(w3, lead_nft, [widest, smallest], accounts[0])
    for s in (widest, smallest):
        assert lead_nft.functions.ownerOf(token(s[0], s[1])).call() == s[1]
        assert lead_nft.functions.saleOf(token(s[0], s[1])).call()[1] == s[0]
        assert lead_nft.functions.leafHash(s).call() == leadnft.leaf_hash(item(s))
    assert lead_nft.functions.saleOf(token(widest[0], buyer)).call() == [buyer, 2**64 - 1, seller]
    assert lead_nft.functions.batchRoot(1).call() == leadnft.batch_root([item(widest), item(smallest)])
    assert lead_nft.functions.verifyBatch(1, [widest, smallest]).call() is True
    transfers = lead_nft.events.Transfer().process_receipt(receipt, errors=DISCARD)
    assert [t["args"]["tokenId"] for t in transfers] == [token(widest[0], buyer), token(1, accounts[1])]


# ---- royalty ----


def test_royalty_goes_to_the_original_seller_at_2_percent(w3, lead_nft, accounts):
    buyer, seller, seller2, other = accounts[1], accounts[2], accounts[4], accounts[3]
    # 5: the buyer's first token, 6: a later one, 7: no seller recorded
    mint(w3, lead_nft, [sale(5, buyer, seller), sale(6, buyer, seller2), sale(7, buyer, ZERO)], accounts[0])
    t5, t6, t7 = token(5, buyer), token(6, buyer), token(7, buyer)
    assert lead_nft.functions.royaltyInfo(t5, 100 * USDC).call() == [seller, 2 * USDC]
    assert lead_nft.functions.royaltyInfo(t5, 12_345_678).call() == [seller, 12_345_678 * 200 // 10_000]
    assert lead_nft.functions.royaltyInfo(t6, 50 * USDC).call() == [seller2, USDC]
    # no seller recorded: the default receiver (the platform)
    assert lead_nft.functions.royaltyInfo(t7, 100 * USDC).call() == [accounts[9], 2 * USDC]
    # the royalty receiver stays the original seller after resales
    for t in (t5, t6):
        lead_nft.functions.transferFrom(buyer, other, t).transact({"from": buyer})
    lead_nft.functions.transferFrom(other, accounts[6], t5).transact({"from": other})
    assert lead_nft.functions.royaltyInfo(t5, 100 * USDC).call() == [seller, 2 * USDC]
    assert lead_nft.functions.royaltyInfo(t6, 100 * USDC).call() == [seller2, 2 * USDC]
    assert lead_nft.functions.saleOf(t5).call() == [buyer, 5, seller]


def test_only_the_admin_sets_the_default_royalty(w3, lead_nft, accounts, reverts):
    with reverts(lead_nft, "AccessControlUnauthorizedAccount"):
        lead_nft.functions.setDefaultRoyalty(accounts[1], 500).transact({"from": accounts[1]})
    lead_nft.functions.setDefaultRoyalty(accounts[8], 500).transact({"from": accounts[0]})
    assert lead_nft.functions.royaltyInfo(123, 100 * USDC).call() == [accounts[8], 5 * USDC]


# ---- transfers and approvals ----


def test_transfer_needs_owner_or_approval(w3, lead_nft, accounts, reverts):
    mint(w3, lead_nft, [sale(5, accounts[1], accounts[2])], accounts[0])
    t = token(5, accounts[1])
    with reverts(lead_nft, "ERC721InsufficientApproval"):
        lead_nft.functions.transferFrom(accounts[1], accounts[3], t).transact({"from": accounts[3]})
    lead_nft.functions.approve(accounts[3], t).transact({"from": accounts[1]})
    assert lead_nft.functions.getApproved(t).call() == accounts[3]
    lead_nft.functions.transferFrom(accounts[1], accounts[3], t).transact({"from": accounts[3]})
    assert lead_nft.functions.getApproved(t).call() == ZERO
    assert lead_nft.functions.ownerOf(t).call() == accounts[3]
    # the previous owner lost it, including its approval rights
    with reverts(lead_nft, "ERC721InsufficientApproval"):
        lead_nft.functions.transferFrom(accounts[3], accounts[1], t).transact({"from": accounts[1]})
    with reverts(lead_nft, "ERC721IncorrectOwner"):
        lead_nft.functions.transferFrom(accounts[1], accounts[4], t).transact({"from": accounts[3]})


def test_operator_approval_and_safe_transfer(w3, lead_nft, accounts):
    buyer, operator, dest = accounts[1], accounts[4], accounts[5]
    mint(w3, lead_nft, [sale(1, buyer, accounts[2]), sale(2, buyer, accounts[2])], accounts[0])
    lead_nft.functions.setApprovalForAll(operator, True).transact({"from": buyer})
    assert lead_nft.functions.isApprovedForAll(buyer, operator).call() is True
    lead_nft.functions.safeTransferFrom(buyer, dest, token(2, buyer)).transact({"from": operator})
    assert lead_nft.functions.ownerOf(token(2, buyer)).call() == dest
    assert lead_nft.functions.ownerOf(token(1, buyer)).call() == buyer
    assert [lead_nft.functions.balanceOf(a).call() for a in (buyer, dest)] == [1, 1]


def test_balances_follow_transfers_and_later_mints(w3, lead_nft, accounts, reverts):
    buyer, newcomer = accounts[1], accounts[6]
    mint(w3, lead_nft, [sale(1, buyer, accounts[2]), sale(2, buyer, accounts[3])], accounts[0])
    t1, t2 = token(1, buyer), token(2, buyer)
    receipt = w3.eth.wait_for_transaction_receipt(
        lead_nft.functions.transferFrom(buyer, newcomer, t1).transact({"from": buyer})
    )
    [event] = lead_nft.events.Transfer().process_receipt(receipt, errors=DISCARD)
    assert event["args"] == {"from": buyer, "to": newcomer, "tokenId": t1}
    assert [lead_nft.functions.balanceOf(a).call() for a in (buyer, newcomer)] == [1, 1]
    # the newcomer received a token by transfer; its first minted token still records correctly
    mint(w3, lead_nft, [sale(3, newcomer, accounts[4]), sale(4, buyer, accounts[4])], accounts[0])
    assert lead_nft.functions.balanceOf(newcomer).call() == 2
    assert lead_nft.functions.balanceOf(buyer).call() == 2
    assert lead_nft.functions.saleOf(token(3, newcomer)).call() == [newcomer, 3, accounts[4]]
    assert lead_nft.functions.ownerOf(t1).call() == newcomer
    # back to the original buyer, then on again
    lead_nft.functions.transferFrom(newcomer, buyer, t1).transact({"from": newcomer})
    assert lead_nft.functions.ownerOf(t1).call() == buyer
    lead_nft.functions.transferFrom(buyer, accounts[7], t1).transact({"from": buyer})
    lead_nft.functions.transferFrom(buyer, accounts[7], t2).transact({"from": buyer})
    assert lead_nft.functions.balanceOf(accounts[7]).call() == 2
    assert lead_nft.functions.balanceOf(buyer).call() == 1
    assert lead_nft.functions.balanceOf(newcomer).call() == 1
    with reverts(lead_nft, "ERC721InvalidReceiver"):
        lead_nft.functions.transferFrom(accounts[7], ZERO, t1).transact({"from": accounts[7]})
    with reverts(lead_nft, "ERC721InvalidOwner"):
        lead_nft.functions.balanceOf(ZERO).call()


def test_supports_erc721_erc2981_and_access_control(lead_nft):
    for interface_id in ("0x80ac58cd", "0x5b5e139f", "0x2a55205a", "0x7965db0b", "0x01ffc9a7"):
        assert lead_nft.functions.supportsInterface(interface_id).call() is True


# ---- verification against the batch root ----


def test_batch_root_is_the_merkle_root_of_the_leaves(w3, lead_nft, accounts):
    sales = [sale(i, accounts[1 + i % 3], accounts[5]) for i in (10, 11, 12)]
    mint(w3, lead_nft, sales, accounts[0])
    leaves = [lead_nft.functions.leafHash(s).call() for s in sales]
    assert leaves[0] == keccak(bytes.fromhex(lead_nft.functions.leafHash(sales[0])._encode_transaction_data()[10:]))
    assert lead_nft.functions.batchRoot(1).call() == pair(pair(leaves[0], leaves[1]), leaves[2])


@pytest.mark.parametrize("size", [1, 2, 7, 50])
def test_every_sale_verifies_against_its_batch_root(w3, lead_nft, accounts, size):
    buyers = fresh_addresses(size)
    sales = [sale(100 + i, b, accounts[5], vertical=i, price=(i + 1) * USDC, quality=i) for i, b in enumerate(buyers)]
    mint(w3, lead_nft, [sale(1, accounts[1], accounts[2])], accounts[0])  # batch 1: another batch
    mint(w3, lead_nft, sales, accounts[0])
    items = [item(s) for s in sales]
    for index, s in enumerate(sales):
        proof = leadnft.merkle_proof(items, index)
        assert lead_nft.functions.verifySale(2, s, proof).call() is True
        assert lead_nft.functions.verifySale(1, s, proof).call() is False
    assert lead_nft.functions.verifyBatch(2, sales).call() is True


def test_a_tampered_sale_does_not_verify(w3, lead_nft, accounts):
    sales = [sale(i, accounts[1 + i % 3], accounts[5]) for i in range(1, 6)]
    mint(w3, lead_nft, sales, accounts[0])
    items = [item(s) for s in sales]
    proof = leadnft.merkle_proof(items, 2)
    assert lead_nft.functions.verifySale(1, sales[2], proof).call() is True
    original = list(sales[2])
    for field, value in (
        (1, accounts[7]),
        (2, accounts[7]),
        (3, 99),
        (4, 1),
        (5, 1),
        (6, b"\x01" * 32),
        (7, b"\x02" * 32),
        (0, 99),
    ):
        tampered = list(original)
        tampered[field] = value
        assert lead_nft.functions.verifySale(1, tuple(tampered), proof).call() is False
    assert lead_nft.functions.verifySale(2, sales[2], proof).call() is False  # no such batch
    assert lead_nft.functions.verifySale(1, sales[2], proof[:-1]).call() is False
    # sorted pairs: two siblings may swap places (each leaf carries its sale id), other orders fail
    assert lead_nft.functions.verifyBatch(1, [sales[1], sales[0], *sales[2:]]).call() is True
    assert lead_nft.functions.verifyBatch(1, [sales[2], sales[1], sales[0], *sales[3:]]).call() is False
    assert lead_nft.functions.verifyBatch(1, sales[:4]).call() is False
    assert lead_nft.functions.verifyBatch(1, []).call() is False


# ---- gas ----


def _gas_per_token(w3, lead_nft, accounts, *, first_sale_id, buyers, sellers):
    sales = [sale(first_sale_id + i, b, sellers[i % len(sellers)]) for i, b in enumerate(buyers)]
    receipt = mint(w3, lead_nft, sales, accounts[0])
    assert receipt.status == 1
    return receipt.gasUsed / len(sales)


def test_batch_of_50_to_distinct_new_buyers_costs_at_most_28000_gas_per_token(w3, lead_nft, accounts, capsys):
    sellers = fixed_addresses(5, "sellers")
    # steady state: earlier batches already used this range of sale ids (a bitmap word per 256 ids)
    mint(w3, lead_nft, [sale(1 + i, accounts[1], s) for i, s in enumerate(sellers)], accounts[0])
    figures = {}
    sale_id = 10
    for size in (1, 20, 50):
        buyers = fixed_addresses(size, f"new-buyers-{size}")
        figures[size] = _gas_per_token(w3, lead_nft, accounts, first_sale_id=sale_id, buyers=buyers, sellers=sellers)
        assert all(lead_nft.functions.ownerOf(token(sale_id + i, b)).call() == b for i, b in enumerate(buyers))
        assert all(lead_nft.functions.balanceOf(b).call() == 1 for b in buyers)
        sale_id += size
    with capsys.disabled():
        print(
            "\nLeadNFT gas per minted token (distinct new buyers):",
            ", ".join(f"batch {k}: {v:,.0f}" for k, v in figures.items()),
        )
    assert figures[50] <= GAS_CEILING_NEW_HOLDERS


def test_batch_of_50_to_buyers_already_holding_a_token_costs_at_most_15000_gas_per_token(
    w3, lead_nft, accounts, capsys
):
    sellers = fixed_addresses(5, "sellers")
    buyers = fixed_addresses(50, "repeat-buyers")
    # every buyer holds a token (its slot token); every seller sold to a holder of several tokens
    # before (it has its seller index); sale ids in a range in use
    mint(w3, lead_nft, [sale(1 + i, b, sellers[i % 5]) for i, b in enumerate(buyers)], accounts[0])
    mint(w3, lead_nft, [sale(60 + i, accounts[1], s) for i, s in enumerate([sellers[0], *sellers])], accounts[0])
    gas = _gas_per_token(w3, lead_nft, accounts, first_sale_id=100, buyers=buyers, sellers=sellers)
    for i, b in enumerate(buyers):
        assert lead_nft.functions.ownerOf(token(100 + i, b)).call() == b
        assert lead_nft.functions.saleOf(token(100 + i, b)).call() == [b, 100 + i, sellers[i % 5]]
        assert lead_nft.functions.balanceOf(b).call() == 2
    with capsys.disabled():
        print(f"\nLeadNFT gas per minted token (50 buyers already holding a token): {gas:,.0f}")
    assert gas <= GAS_CEILING_REPEAT_HOLDERS


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
