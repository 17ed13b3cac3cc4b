"""LeadNFT encoding in one place: what a minted sale carries, its token id, the mintBatch call
data and the leaf / batch-root verification the purchase page explains.

Everything that knows the contract's struct layout lives here, so the settlement pipeline
(escrow/settlement.py) and the pages only deal in `MintItem`s.
"""

from dataclasses import dataclass

from eth_abi import encode
from eth_utils import keccak, to_checksum_address
from web3 import Web3

from chain.artifacts import load_artifact

MAX_BATCH = 50


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
    """The token id a sale is minted under (known before the mint confirms)."""
    return int(sale_id)


def _tuple(item: MintItem) -> tuple:
    return (int(item.sale_id), to_checksum_address(item.buyer), to_checksum_address(item.seller),
            int(item.vertical_id), int(item.price_units), int(item.quality), bytes(item.data_hash),
            bytes(item.bid_log_digest))


def mint_batch_calldata(items: list[MintItem]) -> str:
    """ABI-encoded `mintBatch` call for 1..MAX_BATCH items, as a 0x hex string."""
    if not 0 < len(items) <= MAX_BATCH:
        raise ValueError(f"a mint batch holds 1 to {MAX_BATCH} sales, not {len(items)}")
    contract = Web3().eth.contract(abi=_abi())
    return contract.encode_abi("mintBatch", args=[[_tuple(i) for i in items]])


def leaf_hash(item: MintItem) -> bytes:
    """The leaf the contract chains into the batch root for this sale."""
    return keccak(encode(["uint256", "address", "address", "uint32", "uint96", "uint16", "bytes32", "bytes32"],
                         list(_tuple(item))))


def batch_root(items: list[MintItem]) -> bytes:
    """r_0 = 0, r_i = keccak256(r_{i-1} ‖ leaf_i): equals LeadNFT.batchRoot(batchId) for the batch."""
    root = bytes(32)
    for item in items:
        root = keccak(root + leaf_hash(item))
    return root


def minted_batch_id(w3: Web3, address: str, receipt) -> int | None:
    """The on-chain batch id from a mintBatch receipt's BatchMinted event."""
    events = lead_nft(w3, address).events.BatchMinted().process_receipt(receipt, errors=_discard())
    return int(events[0]["args"]["batchId"]) if events else None


def _discard():
    from web3.logs import DISCARD

    return DISCARD
