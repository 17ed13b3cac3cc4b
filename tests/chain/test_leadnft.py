"""chain/leadnft.py against the LeadNFT contract on an in-process py-evm chain."""

import pytest
from eth_account import Account
from eth_utils import keccak
from web3.logs import DISCARD

from chain import leadnft
from chain.leadnft import MintItem
from tests.chain.conftest import deploy

pytestmark = pytest.mark.django_db  # suite-wide autouse fixtures; no table is touched here


@pytest.fixture
def nft(w3):
    contract = deploy(w3, "LeadNFT", w3.eth.accounts[0], w3.eth.accounts[9])
    return leadnft.lead_nft(w3, contract.address)


def items_for(n, *, first_sale_id=1, buyers=None, seller=None):
    buyers = buyers or [Account.create().address for _ in range(n)]
    seller = seller or Account.create().address
    return [
        MintItem(
            sale_id=first_sale_id + i,
            buyer=buyers[i % len(buyers)].lower(),
            seller=seller,
            vertical_id=i + 1,
            price_units=(i + 1) * 1_500_000,
            quality=60 + i % 40,
            data_hash=keccak(text=f"salt|{i}"),
            bid_log_digest=keccak(text=f"bids|{i}"),
        )
        for i in range(n)
    ]


def send_calldata(w3, nft, items):
    tx = w3.eth.send_transaction(
        {"from": w3.eth.accounts[0], "to": nft.address, "data": leadnft.mint_batch_calldata(items), "gas": 5_000_000}
    )
    receipt = w3.eth.wait_for_transaction_receipt(tx)
    assert receipt.status == 1
    return receipt


@pytest.mark.parametrize("size", [1, 3, 50])
def test_calldata_mint_gives_the_token_ids_and_root_computed_off_chain(w3, nft, size):
    items = items_for(size, first_sale_id=500)
    receipt = send_calldata(w3, nft, items)
    minted = [e["args"]["tokenId"] for e in nft.events.Transfer().process_receipt(receipt, errors=DISCARD)]
    expected = [leadnft.token_id_for(sale_id=i.sale_id, buyer=i.buyer) for i in items]
    assert minted == expected
    for item, token_id in zip(items, expected):
        assert nft.functions.ownerOf(token_id).call().lower() == item.buyer.lower()
    batch_id = leadnft.minted_batch_id(w3, nft.address, receipt)
    assert batch_id == 1
    assert nft.functions.batchRoot(batch_id).call() == leadnft.batch_root(items)


def test_leaf_hash_and_proofs_match_the_contract(w3, nft):
    items = items_for(13, buyers=[Account.create().address for _ in range(4)])
    send_calldata(w3, nft, items)
    for index, item in enumerate(items):
        args = leadnft.verify_args(item)
        assert nft.functions.leafHash(args).call() == leadnft.leaf_hash(item)
        assert nft.functions.verifySale(1, args, leadnft.merkle_proof(items, index)).call() is True
    assert nft.functions.verifyBatch(1, [leadnft.verify_args(i) for i in items]).call() is True
    # a proof for one sale does not verify another
    assert nft.functions.verifySale(1, leadnft.verify_args(items[1]), leadnft.merkle_proof(items, 2)).call() is False


def test_a_replayed_calldata_batch_reverts(w3, nft):
    items = items_for(2)
    send_calldata(w3, nft, items)
    tx = w3.eth.send_transaction(
        {"from": w3.eth.accounts[0], "to": nft.address, "data": leadnft.mint_batch_calldata(items), "gas": 5_000_000}
    )
    assert w3.eth.wait_for_transaction_receipt(tx).status == 0
    assert nft.functions.batchCount().call() == 1


def test_a_batch_decoded_from_the_mint_transaction_input_verifies(w3, nft):
    items = items_for(7, first_sale_id=2**64 - 7, buyers=[Account.create().address for _ in range(3)])
    receipt = send_calldata(w3, nft, items)
    sent = w3.eth.get_transaction(receipt.transactionHash)
    decoded = leadnft.decode_mint_batch(sent["input"])
    assert [leadnft.verify_args(i) for i in decoded] == [leadnft.verify_args(i) for i in items]
    assert leadnft.batch_root(decoded) == nft.functions.batchRoot(1).call()
    assert nft.functions.verifyBatch(1, [leadnft.verify_args(i) for i in decoded]).call() is True


def test_packed_sales_are_130_bytes_in_the_contracts_layout():
    [item] = items_for(1)
    packed = leadnft.pack_sale(item)
    assert len(packed) == leadnft.PACKED_SALE_BYTES == 130
    buyer, seller = bytes.fromhex(item.buyer[2:]), bytes.fromhex(item.seller[2:])
    assert packed == (
        buyer
        + item.vertical_id.to_bytes(4, "big")
        + item.sale_id.to_bytes(8, "big")
        + seller
        + item.price_units.to_bytes(12, "big")
        + item.quality.to_bytes(2, "big")
        + item.data_hash
        + item.bid_log_digest
    )
    # the first word is the token id with the vertical id in bits 64..95
    head = int.from_bytes(packed[:32], "big")
    assert head & ~(0xFFFFFFFF << 64) == leadnft.token_id_for(sale_id=item.sale_id, buyer=item.buyer)
    assert [leadnft.verify_args(i) for i in leadnft.unpack_sales(packed * 2)] == [leadnft.verify_args(item)] * 2
    with pytest.raises(ValueError):
        leadnft.unpack_sales(packed[:-1])


@pytest.mark.parametrize(
    "field, value",
    [
        ("sale_id", 2**64),
        ("vertical_id", 2**32),
        ("price_units", 2**96),
        ("quality", 2**16),
        ("quality", -1),
        ("data_hash", b"\x01" * 31),
        ("bid_log_digest", b"\x01" * 33),
    ],
)
def test_a_field_that_does_not_fit_its_width_is_refused_before_sending(field, value):
    [item] = items_for(1)
    with pytest.raises(ValueError):
        leadnft.mint_batch_calldata([MintItem(**{**item.__dict__, field: value})])


def test_token_id_puts_the_buyer_above_the_sale_id():
    buyer = "0x" + "ab" * 20
    assert leadnft.token_id_for(sale_id=7, buyer=buyer) == int("ab" * 20, 16) * 2**96 + 7
    assert hex(leadnft.token_id_for(sale_id=7, buyer=buyer)) == "0x" + "ab" * 20 + "0" * 23 + "7"
    with pytest.raises(ValueError):
        leadnft.token_id_for(sale_id=0, buyer=buyer)
    with pytest.raises(ValueError):
        leadnft.token_id_for(sale_id=2**64, buyer=buyer)


def test_batch_root_of_one_sale_is_its_leaf_and_sizes_are_checked():
    [item] = items_for(1)
    assert leadnft.batch_root([item]) == leadnft.leaf_hash(item)
    assert leadnft.merkle_proof([item], 0) == []
    with pytest.raises(ValueError):
        leadnft.mint_batch_calldata([])
    with pytest.raises(ValueError):
        leadnft.mint_batch_calldata(items_for(leadnft.MAX_BATCH + 1))
    with pytest.raises(ValueError):
        leadnft.batch_root([])
