"""LeadNFT encoding in one place: what a minted sale carries, its token id, the mintBatch call
data and the leaf / Merkle batch-root verification the purchase page explains.

Everything that knows the contract's struct layout lives here, so the settlement pipeline
(escrow/services/settlement.py) and the pages only deal in `MintItem`s.

Token id = `buyer << 96 | sale_id` (the buyer's address in the top 160 bits). `mintBatch` takes
the sales packed (130 bytes each, `pack_sale`); `verifySale` / `verifyBatch` / `leafHash` take the
ABI `Sale` struct (`verify_args`). A batch's root is a Merkle root over the leaves
`keccak256(abi.encode(sale))` in mint order, pairs hashed sorted (OpenZeppelin's MerkleProof
convention), the last node of an odd level carried up unchanged.
"""

from dataclasses import dataclass

from eth_abi import encode
from eth_utils import keccak, to_checksum_address
from web3 import Web3

from chain.artifacts import load_artifact

MAX_BATCH = 50
MAX_SALE_ID = 2**64 - 1
PACKED_SALE_BYTES = 130  # LeadNFT.PACKED_SALE_BYTES: one sale in mintBatch's packed argument
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


def _field(value: int, width: int, name: str) -> bytes:
    try:
        return int(value).to_bytes(width, "big")
    except OverflowError:
        raise ValueError(f"{name} does not fit in {width * 8} unsigned bits: {value}") from None


def _hash32(value: bytes, name: str) -> bytes:
    value = bytes(value)
    if len(value) != 32:
        raise ValueError(f"{name} is 32 bytes, not {len(value)}")
    return value


def pack_sale(item: MintItem) -> bytes:
    """The sale's PACKED_SALE_BYTES as `mintBatch` reads them (LeadNFT.mintBatch NatSpec):
    buyer, verticalId (4), saleId (8), seller, price (12), quality (2), dataHash, bidLogDigest,
    big-endian, no padding. Checks only that each field fits its width (the contract rejects
    sale id 0 and buyer 0, so tests can send those)."""
    sale_id, buyer, seller, vertical_id, price, quality, data_hash, digest = _tuple(item)
    return b"".join(
        (
            bytes.fromhex(buyer[2:]),
            _field(vertical_id, 4, "vertical_id"),
            _field(sale_id, 8, "sale_id"),
            bytes.fromhex(seller[2:]),
            _field(price, 12, "price_units"),
            _field(quality, 2, "quality"),
            _hash32(data_hash, "data_hash"),
            _hash32(digest, "bid_log_digest"),
        )
    )


def pack_sales(items: list[MintItem]) -> bytes:
    """`mintBatch`'s argument: the sales packed back to back, in mint order (no size check)."""
    return b"".join(pack_sale(i) for i in items)


def unpack_sales(packed: bytes) -> list[MintItem]:
    """Inverse of `pack_sales`: the sales of a `mintBatch` argument, in mint order."""
    packed = bytes(packed)
    if len(packed) % PACKED_SALE_BYTES:
        raise ValueError(f"a packed batch is a multiple of {PACKED_SALE_BYTES} bytes, not {len(packed)}")
    items = []
    for k in range(0, len(packed), PACKED_SALE_BYTES):
        r = packed[k : k + PACKED_SALE_BYTES]
        items.append(
            MintItem(
                sale_id=int.from_bytes(r[24:32], "big"),
                buyer=to_checksum_address(r[0:20]),
                seller=to_checksum_address(r[32:52]),
                vertical_id=int.from_bytes(r[20:24], "big"),
                price_units=int.from_bytes(r[52:64], "big"),
                quality=int.from_bytes(r[64:66], "big"),
                data_hash=r[66:98],
                bid_log_digest=r[98:130],
            )
        )
    return items


def mint_batch_calldata(items: list[MintItem]) -> str:
    """The `mintBatch(bytes)` call for 1..MAX_BATCH items (sales packed, see `pack_sale`), as a 0x hex string."""
    if not 0 < len(items) <= MAX_BATCH:
        raise ValueError(f"a mint batch holds 1 to {MAX_BATCH} sales, not {len(items)}")
    contract = Web3().eth.contract(abi=_abi())
    return contract.encode_abi("mintBatch", args=[pack_sales(items)])


def decode_mint_batch(calldata: str | bytes) -> list[MintItem]:
    """The sales of a `mintBatch` transaction's input, in mint order: with `verify_args` they are
    what `verifyBatch(batchId, ...)` takes, and `batch_root` of them is the batch's root."""
    contract = Web3().eth.contract(abi=_abi())
    function, args = contract.decode_function_input(calldata)
    if function.fn_name != "mintBatch":
        raise ValueError(f"not a mintBatch call: {function.fn_name}")
    return unpack_sales(args["packed"])


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
