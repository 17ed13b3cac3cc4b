"""LeadNFT encoding in one place: what a minted sale carries, its token id, the mintBatch call
data and the leaf / Merkle batch-root verification the purchase page explains.

Everything that knows the contract's struct layout lives here, so the settlement pipeline
(escrow/services/settlement.py) and the pages only deal in `MintItem`s.

Token id = `buyer << 96 | sale_id` (the buyer's address in the top 160 bits). A batch's root is
a Merkle root over the leaves `keccak256(abi.encode(sale))` in mint order, pairs hashed sorted
(OpenZeppelin's MerkleProof convention), the last node of an odd level carried up unchanged.
"""

from dataclasses import dataclass

from eth_abi import encode
from eth_utils import keccak, to_checksum_address
from web3 import Web3

from chain.artifacts import load_artifact

MAX_BATCH = 50
MAX_SALE_ID = 2**64 - 1
_SALE_TYPES = ["uint64", "address", "address", "uint32", "uint96", "uint16", "bytes32", "bytes32"]


@dataclass(frozen=True)
class MintItem:
    """One sold lead as minted: ids, parties and the commitments (32-byte hashes)."""

    sale_id: int
    buyer: str
    seller: str
    vertical_id: int
    price_units: int  # USDC in 6-decimal base units
    quality: int
    data_hash: bytes
    bid_log_digest: bytes


def _abi() -> list:
    return load_artifact("LeadNFT")["abi"]


def lead_nft(w3: Web3, address: str):
    return w3.eth.contract(address=to_checksum_address(address), abi=_abi())


def token_id_for(*, sale_id: int, buyer: str) -> int:
    """The token id a sale is minted under (known before the mint confirms): buyer << 96 | sale id."""
    sale_id = int(sale_id)
    if not 0 < sale_id <= MAX_SALE_ID:
        raise ValueError(f"a sale id is 1..2**64-1, not {sale_id}")
    return (int(to_checksum_address(buyer), 16) << 96) | sale_id


def _tuple(item: MintItem) -> tuple:
    return (
        int(item.sale_id),
        to_checksum_address(item.buyer),
        to_checksum_address(item.seller),
        int(item.vertical_id),
        int(item.price_units),
        int(item.quality),
        bytes(item.data_hash),
        bytes(item.bid_log_digest),
    )


def verify_args(item: MintItem) -> tuple:
    """The `Sale` struct tuple the contract's `leafHash`, `verifySale` and `verifyBatch` take."""
    return _tuple(item)


def mint_batch_calldata(items: list[MintItem]) -> str:
    """ABI-encoded `mintBatch` call for 1..MAX_BATCH items, as a 0x hex string."""
    if not 0 < len(items) <= MAX_BATCH:
        raise ValueError(f"a mint batch holds 1 to {MAX_BATCH} sales, not {len(items)}")
    contract = Web3().eth.contract(abi=_abi())
    return contract.encode_abi("mintBatch", args=[[_tuple(i) for i in items]])


def leaf_hash(item: MintItem) -> bytes:
    """The leaf of this sale in its batch's Merkle tree: keccak256(abi.encode(sale))."""
    return keccak(encode(_SALE_TYPES, list(_tuple(item))))


def _pair(a: bytes, b: bytes) -> bytes:
    return keccak(a + b) if a < b else keccak(b + a)


def _levels(items: list[MintItem]) -> list[list[bytes]]:
    if not items:
        raise ValueError("a batch holds at least one sale")
    level = [leaf_hash(i) for i in items]
    levels = [level]
    while len(level) > 1:
        nxt = [_pair(level[k], level[k + 1]) for k in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        levels.append(nxt)
        level = nxt
    return levels


def batch_root(items: list[MintItem]) -> bytes:
    """The batch's Merkle root: equals LeadNFT.batchRoot(batchId) when `items` are the batch in mint order."""
    return _levels(items)[-1][0]


def merkle_proof(items: list[MintItem], index: int) -> list[bytes]:
    """Proof that items[index] is in the batch: pass it with verify_args(items[index]) to `verifySale`."""
    proof = []
    for level in _levels(items)[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            proof.append(level[sibling])
        index //= 2
    return proof


def minted_batch_id(w3: Web3, address: str, receipt) -> int | None:
    """The on-chain batch id from a mintBatch receipt's BatchMinted event."""
    events = lead_nft(w3, address).events.BatchMinted().process_receipt(receipt, errors=_discard())
    return int(events[0]["args"]["batchId"]) if events else None


def _discard():
    from web3.logs import DISCARD

    return DISCARD
