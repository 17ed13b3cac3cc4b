// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ERC2981} from "@openzeppelin/contracts/token/common/ERC2981.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @title LeadNFT
/// @notice One ERC-721 token per sold lead, minted in batches of 1..50 sales. The token id is
///         `uint256(uint160(buyer)) << 96 | saleId`: known before the mint confirms, and a sale id
///         can be minted once ever (`SaleAlreadyMinted`), so a replayed batch reverts.
///         What each token proves (buyer, seller, vertical, price, quality, data hash, bid-log
///         digest) is in the transaction input and committed to by a Merkle root per batch stored
///         on chain (`batchRoot`); `verifySale` checks one sale against it with a proof,
///         `verifyBatch` checks a whole batch. ERC-2981: 2 % to the original seller of each token.
/// @dev Gas design (see README.md). Each holder has ONE slot, `seller (160) | slot sale id (48) |
///      holder index (16) | balance (32)`, at storage slot `_HOLDERS | holder` (no keccak). A
///      buyer's first minted token (sale id below 2^48) is kept in that slot with its seller as is:
///      a new holder costs one fresh slot and nothing else. Every later token of a holder costs a
///      32-bit sale record in `_sales`, `holder index | seller index << 16`, eight per storage
///      word (word = sale id / 8), accumulated in memory across consecutive sale ids and written
///      once per word: ~1/8 of a fresh slot per token instead of a whole one. The holder index
///      (1..65,535) is handed out from a counter at the holder's first record, the seller index
///      (1..65,535) at the seller's first record (`_SELLER_INDEX | seller` -> index, `_sellerAt`
///      index -> seller: two fresh slots, once per seller). With an index space used up, a token
///      falls back to an `_extra[id]` slot (seller | exists bit): dearer, equally correct.
///      Ownership needs no slot until the first transfer: `ownerOf` is `_owners[id]` once
///      transferred, else the buyer in the id provided the id was minted to that buyer: its sale id
///      is the one kept in the buyer's slot, or its record carries the buyer's holder index (indexes
///      are unique; a buyer without one has no record), or it has an `_extra` record. A forged id
///      (another buyer, same sale id) therefore does not exist. Sale ids are also set in a bitmap
///      (256 per word) so a sale cannot be minted twice, whoever the buyer: records alone would
///      not cover the tokens kept in holder slots.
///      No per-token data event: the fields are in calldata, the Merkle root makes them verifiable.
contract LeadNFT is ERC721, ERC2981, AccessControl {
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");
    uint256 public constant MAX_BATCH = 50;
    /// @notice Bytes per sale in `mintBatch`'s packed argument (layout at `mintBatch`).
    uint256 public constant PACKED_SALE_BYTES = 130;
    uint96 public constant DEFAULT_ROYALTY_BPS = 200; // 2 %

    /// @notice One sold lead (packed into 130 bytes for `mintBatch`); its leaf is
    ///         `keccak256(abi.encode(sale))`.
    struct Sale {
        uint64 saleId; // sale id in the marketplace database, 1..2^64-1
        address buyer; // recipient of the token
        address seller; // ERC-2981 royalty receiver (address(0): the default receiver)
        uint32 verticalId;
        uint96 price; // USDC, 6 decimals
        uint16 quality; // quality score
        bytes32 dataHash; // salted hash of the lead's data
        bytes32 bidLogDigest; // digest of the auction's bid log
    }

    uint256 private constant _BALANCE_MASK = (1 << 32) - 1;
    uint256 private constant _SALE_ID_MASK = (1 << 64) - 1;
    uint256 private constant _EXISTS = 1 << 160; // flag bit of an `_extra` record

    // Literals throughout: inline assembly reads only literal constants.
    // Holder slot of `holder`: storage slot `_HOLDERS | holder` (no keccak; the 2^160 slots under a
    // 96-bit tag, keccak256("LeadNFT.holders")[:12], cannot meet Solidity's own slots).
    // [0..31] balance, [32..47] holder index (0 = none yet), [48..95] sale id of the token kept in
    // the slot (0 = none; ids below 2^48), [96..255] that token's seller.
    uint256 private constant _HOLDERS = 0x4977bdb6691900878cf34fee0000000000000000000000000000000000000000;
    uint256 private constant _INDEX_BITS = 16;
    uint256 private constant _INDEX_MASK = 0xffff; // 2^16 - 1, also the last index handed out
    uint256 private constant _SLOT_SALE_SHIFT = 48; // 32 + _INDEX_BITS
    uint256 private constant _SLOT_SALE_MASK = 0xffffffffffff; // 2^48 - 1
    uint256 private constant _SLOT_SALE_FIELD = 0xffffffffffff000000000000; // _SLOT_SALE_MASK << 48
    // Seller index of `seller` (1..2^16-1, 0 = none yet): storage slot `_SELLER_INDEX | seller`
    // (tag keccak256("LeadNFT.sellerIndex")[:12]).
    uint256 private constant _SELLER_INDEX = 0x27f6d36fc686cae87a53aed80000000000000000000000000000000000000000;
    // Sale record in `_sales`: holder index | seller index << 16 (seller index 0: no seller),
    // eight 32-bit records per word: word saleId / 8 (saleId >> 3), position saleId % 8.
    uint256 private constant _RECORD_BITS = 32;
    uint256 private constant _RECORD_MASK = 0xffffffff; // 2^32 - 1
    uint256 private constant _RECORDS_PER_WORD = 8;
    // Packed sales (`mintBatch`): a sale's first word with its vertical id cleared is its token id;
    // its second word is seller << 96 | price.
    uint256 private constant _TOKEN_ID_MASK = 0xffffffffffffffffffffffffffffffffffffffff00000000ffffffffffffffff;
    uint256 private constant _SELLER_FIELD = 0xffffffffffffffffffffffffffffffffffffffff000000000000000000000000;
    uint256 private constant _PRICE_MASK = 0xffffffffffffffffffffffff; // 2^96 - 1
    uint256 private constant _TRANSFER_SIG = 0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef;

    /// sale records of tokens not kept in their buyer's holder slot (layout above).
    mapping(uint256 word => uint256) private _sales;
    /// seller index -> seller address (royalty receiver of the tokens that record the index).
    mapping(uint256 index => address) private _sellerAt;
    /// fallback record (seller | exists bit) of a token whose holder or seller got no index
    /// (an index space is used up after 65,535 holders or sellers with records).
    mapping(uint256 tokenId => uint256) private _extra;
    /// current owner once a token has been transferred (0 = still its buyer, the address in the id).
    mapping(uint256 tokenId => address) private _owners;
    /// one bit per minted sale id.
    mapping(uint256 word => uint256) private _mintedSales;

    /// @notice Merkle root of each batch (leaves in mint order, sorted-pair keccak256, an odd node
    ///         is carried up unchanged; a batch of one has root = its leaf).
    mapping(uint256 batchId => bytes32) public batchRoot;
    /// [0..63] batches minted, [64..95] holder indexes handed out, [96..127] seller indexes.
    uint256 private _counters;

    event BatchMinted(uint256 indexed batchId, bytes32 root, uint256 count);
    /// @notice A refunded sale's token taken back from `from` to the platform's returns address.
    event Returned(uint256 indexed tokenId, address indexed from, address indexed to);

    error BatchSizeOutOfRange(uint256 size, uint256 max);
    error SaleAlreadyMinted(uint256 saleId);
    error InvalidSaleId(uint256 saleId);
    error InvalidRecipient(address to);
    error InvalidBatchLength(uint256 length);
    error BalanceIncreaseNotSupported();

    constructor(address admin, address defaultRoyaltyReceiver) ERC721("Lead Engine Lead", "LEAD") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(MINTER_ROLE, admin);
        _setDefaultRoyalty(defaultRoyaltyReceiver, DEFAULT_ROYALTY_BPS);
    }

    /// @notice Number of batches minted so far (= the last batch id).
    function batchCount() external view returns (uint256) {
        return _counters & _SALE_ID_MASK;
    }

    // ---- returns ----

    /// @notice Takes the token of a sale whose escrow deal was refunded to its buyer (a dispute
    ///         upheld in full, `EscrowVault.DealRefunded` with the same sale id) back from its
    ///         holder to `to`, the platform's returns address, without the holder's approval.
    ///         Burning is not supported (an owner of 0 would fall back to the buyer in the id), so
    ///         a refunded lead's token is returned instead; the off-chain records follow the
    ///         `Transfer` like any other. Emits `Transfer` and `Returned`.
    function returnToken(uint256 tokenId, address to) external onlyRole(MINTER_ROLE) {
        address from = _update(to, tokenId, address(0));
        emit Returned(tokenId, from, to);
    }

    // ---- minting ----

    /// @notice Mints one token per sale (1..50 sales, distinct sale ids never minted before) and
    ///         stores the batch's Merkle root. Emits one `Transfer` per token and `BatchMinted`.
    ///         `packed` is the batch's sales, `PACKED_SALE_BYTES` (130) bytes each, back to back,
    ///         every field big-endian at exactly its type's width (no padding, no ABI words):
    ///
    ///         | bytes    | field      |  | bytes    | field        |
    ///         |----------|------------|--|----------|--------------|
    ///         | 0..19    | buyer      |  | 52..63   | price        |
    ///         | 20..23   | verticalId |  | 64..65   | quality      |
    ///         | 24..31   | saleId     |  | 66..97   | dataHash     |
    ///         | 32..51   | seller     |  | 98..129  | bidLogDigest |
    ///
    ///         so the first word of a sale is its token id with the vertical id in bits 64..95.
    ///         Every 130 bytes decode to a `Sale` whose fields are in range: the leaf is still
    ///         `keccak256(abi.encode(sale))`, hashed from the sale's 256-byte ABI image rebuilt in
    ///         memory (`leafHash`, `verifySale` and `verifyBatch` take the `Sale` struct as before).
    ///         A length that is not a whole number of sales reverts `InvalidBatchLength`, 0 or more
    ///         than 50 sales `BatchSizeOutOfRange`, sale id 0 `InvalidSaleId`, buyer 0
    ///         `InvalidRecipient`. Python: `chain.leadnft.mint_batch_calldata` / `decode_mint_batch`.
    /// @dev Packing drops ~125 of the ABI words' zero bytes per sale (4 gas each: calldata
    ///      ~1,870 gas per sale instead of ~2,370); rebuilding the image costs ~55 gas more per
    ///      sale than copying the ABI words and checking their high bits did: ~-445 per token.
    ///      No onERC721Received call: recipients are the buyers' wallets (custodial EOAs or linked
    ///      wallets); skipping the hook saves gas and removes any re-entrancy during a batch.
    function mintBatch(bytes calldata packed) external onlyRole(MINTER_ROLE) returns (uint256 batchId) {
        uint256 n;
        unchecked {
            n = packed.length / PACKED_SALE_BYTES;
            if (n * PACKED_SALE_BYTES != packed.length) revert InvalidBatchLength(packed.length);
        }
        if (n == 0 || n > MAX_BATCH) revert BatchSizeOutOfRange(n, MAX_BATCH);
        bytes32[] memory nodes = new bytes32[](n);
        uint256 counters = _counters;
        assembly ("memory-safe") {
            function mapSlot(key, slot) -> r {
                mstore(0x00, key)
                mstore(0x20, slot)
                r := keccak256(0x00, 0x40)
            }
            function fail(selector, arg) {
                mstore(0x00, selector)
                mstore(0x04, arg)
                revert(0x00, 0x24)
            }
            // Rare path of a later token (see the loop): a seller index handed out now (0 when
            // none is left), stored both ways.
            function newSellerIndex(seller, cache) -> index {
                let cnt := mload(add(cache, 0x80))
                index := add(and(shr(96, cnt), 0xffffffff), 1)
                switch gt(index, _INDEX_MASK)
                case 0 {
                    mstore(add(cache, 0x80), add(cnt, shl(96, 1)))
                    sstore(or(_SELLER_INDEX, seller), index)
                    sstore(mapSlot(index, _sellerAt.slot), seller)
                }
                default { index := 0 }
            }
            // Stores the cached `_sales` word (if any) and caches word `key`.
            function loadWord(key, cache) {
                if iszero(eq(mload(cache), not(0))) { sstore(mapSlot(mload(cache), _sales.slot), mload(add(cache, 0x20))) }
                mstore(cache, key)
                mstore(add(cache, 0x20), sload(mapSlot(key, _sales.slot)))
            }
            // Memory above the free memory pointer, not allocated, zeroed here: `cache` +0x00
            // `_sales` word key, +0x20 that word, +0x80 counters, +0xc0 the ABI image of the sale
            // being hashed (0x100), +0x1c0 the seller cache (16 x (seller, index)).
            let cache := mload(0x40)
            calldatacopy(cache, calldatasize(), 0x5c0)
            mstore(cache, not(0))
            mstore(add(cache, 0x80), counters)
            let node := add(nodes, 0x20)
            // minted-sales word cached across consecutive ids
            let bitKey := shr(8, and(calldataload(packed.offset), _SALE_ID_MASK))
            let bits := sload(mapSlot(bitKey, _mintedSales.slot))
            for {
                let s := packed.offset
                let end := add(s, mul(n, PACKED_SALE_BYTES))
            } lt(s, end) {
                s := add(s, PACKED_SALE_BYTES)
            } {
                // first word: buyer << 96 | verticalId << 64 | saleId
                let saleId := and(calldataload(s), _SALE_ID_MASK)
                let buyer := shr(96, calldataload(s))
                // sale id 0 or buyer 0 (the product of a sale id and a buyer is below 2^224)
                if iszero(mul(saleId, buyer)) {
                    if iszero(buyer) {
                        fail(0x17858bbe00000000000000000000000000000000000000000000000000000000, 0)
                    }
                    fail(0xb30ff94200000000000000000000000000000000000000000000000000000000, 0)
                }
                {
                    // the leaf: keccak256 of the sale's ABI image (8 words, fields right-aligned)
                    let tail := calldataload(add(s, 0x20)) // seller << 96 | price
                    mstore(add(cache, 0xc0), saleId)
                    mstore(add(cache, 0xe0), buyer)
                    mstore(add(cache, 0x100), shr(96, tail))
                    mstore(add(cache, 0x120), shr(224, calldataload(add(s, 0x14))))
                    mstore(add(cache, 0x140), and(tail, _PRICE_MASK))
                    mstore(add(cache, 0x160), shr(240, calldataload(add(s, 0x40))))
                    calldatacopy(add(cache, 0x180), add(s, 0x42), 0x40)
                    mstore(node, keccak256(add(cache, 0xc0), 0x100))
                    node := add(node, 0x20)
                }
                // a sale id is minted once ever
                if iszero(eq(shr(8, saleId), bitKey)) {
                    sstore(mapSlot(bitKey, _mintedSales.slot), bits)
                    bitKey := shr(8, saleId)
                    bits := sload(mapSlot(bitKey, _mintedSales.slot))
                }
                {
                    let bit := shl(and(saleId, 0xff), 1)
                    if and(bits, bit) {
                        fail(0x5250257600000000000000000000000000000000000000000000000000000000, saleId)
                    }
                    bits := or(bits, bit)
                }
                let h := sload(or(_HOLDERS, buyer))
                switch or(and(h, _SLOT_SALE_FIELD), gt(saleId, _SLOT_SALE_MASK))
                case 0 {
                    // the holder slot keeps no token yet: this one, with its seller as is
                    h := or(h, or(and(calldataload(add(s, 0x20)), _SELLER_FIELD), shl(_SLOT_SALE_SHIFT, saleId)))
                }
                default {
                    // a later token of this holder: a 32-bit sale record, holder index | seller
                    // index << 16, into the `_sales` word cached in memory; indexes are handed
                    // out on first need; none left: an `_extra` record instead
                    let seller := shr(96, calldataload(add(s, 0x20)))
                    let rec := and(shr(32, h), _INDEX_MASK)
                    if iszero(rec) {
                        rec := add(and(shr(64, mload(add(cache, 0x80))), 0xffffffff), 1)
                        switch gt(rec, _INDEX_MASK)
                        case 0 {
                            mstore(add(cache, 0x80), add(mload(add(cache, 0x80)), shl(64, 1)))
                            h := or(h, shl(32, rec))
                        }
                        default { rec := 0 }
                    }
                    if seller {
                        // sellers seen in this batch: 16 (seller, index) entries at cache + 0x1c0,
                        // entry = the seller's low 4 bits
                        let entry := add(add(cache, 0x1c0), shl(6, and(seller, 15)))
                        if iszero(eq(seller, mload(entry))) {
                            let index := sload(or(_SELLER_INDEX, seller))
                            if iszero(index) { index := newSellerIndex(seller, cache) }
                            mstore(entry, seller)
                            mstore(add(entry, 0x20), index)
                        }
                        rec := mul(or(rec, shl(_INDEX_BITS, mload(add(entry, 0x20)))), iszero(iszero(mload(add(entry, 0x20)))))
                    }
                    switch and(rec, _INDEX_MASK)
                    case 0 { sstore(mapSlot(or(shl(96, buyer), saleId), _extra.slot), or(seller, _EXISTS)) }
                    default {
                        if iszero(eq(shr(3, saleId), mload(cache))) { loadWord(shr(3, saleId), cache) }
                        mstore(add(cache, 0x20), or(mload(add(cache, 0x20)), shl(shl(5, and(saleId, 7)), rec)))
                    }
                }
                sstore(or(_HOLDERS, buyer), add(h, 1))
                log4(0, 0, _TRANSFER_SIG, 0, buyer, and(calldataload(s), _TOKEN_ID_MASK))
            }
            sstore(mapSlot(bitKey, _mintedSales.slot), bits)
            if iszero(eq(mload(cache), not(0))) { sstore(mapSlot(mload(cache), _sales.slot), mload(add(cache, 0x20))) }
            counters := mload(add(cache, 0x80))
        }
        bytes32 root = _merkleRoot(nodes);
        unchecked {
            batchId = (counters & _SALE_ID_MASK) + 1;
            _counters = counters + 1;
        }
        batchRoot[batchId] = root;
        emit BatchMinted(batchId, root, n);
    }

    /// @dev Reduces `nodes` in place level by level: pairs hashed with sorted-pair keccak256
    ///      (OpenZeppelin's MerkleProof convention), the last node of an odd level carried up.
    function _merkleRoot(bytes32[] memory nodes) private pure returns (bytes32 root) {
        assembly ("memory-safe") {
            let base := add(nodes, 0x20)
            for { let len := mload(nodes) } gt(len, 1) { len := shr(1, add(len, 1)) } {
                let src := base
                let dst := base
                for { let pairsEnd := add(base, shl(5, and(len, not(1)))) } lt(src, pairsEnd) {
                    src := add(src, 0x40)
                    dst := add(dst, 0x20)
                } {
                    let a := mload(src)
                    let b := mload(add(src, 0x20))
                    let swapped := gt(a, b) // the smaller node goes first
                    mstore(shl(5, swapped), a)
                    mstore(shl(5, iszero(swapped)), b)
                    mstore(dst, keccak256(0x00, 0x40))
                }
                if and(len, 1) { mstore(dst, mload(src)) }
            }
            root := mload(base)
        }
    }

    // ---- verification ----

    /// @notice The leaf of a sale: `keccak256(abi.encode(sale))`.
    function leafHash(Sale calldata sale) public pure returns (bytes32) {
        return keccak256(abi.encode(sale));
    }

    /// @notice True when `sale` (all its fields) was minted in batch `batchId`; `proof` is the
    ///         sale's Merkle proof in that batch (empty for a batch of one).
    function verifySale(uint256 batchId, Sale calldata sale, bytes32[] calldata proof) external view returns (bool) {
        bytes32 root = batchRoot[batchId];
        return root != bytes32(0) && MerkleProof.verifyCalldata(proof, root, leafHash(sale));
    }

    /// @notice True when `sales` (in mint order) are exactly the sales of batch `batchId`. Pairs are
    ///         hashed sorted, so two sibling leaves may also be given swapped (each carries its sale id).
    function verifyBatch(uint256 batchId, Sale[] calldata sales) external view returns (bool) {
        uint256 n = sales.length;
        if (n == 0 || n > MAX_BATCH) return false;
        bytes32[] memory nodes = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            nodes[i] = keccak256(abi.encode(sales[i]));
        }
        return _merkleRoot(nodes) == batchRoot[batchId];
    }

    // ---- per-token record ----

    /// @notice The buyer a token was minted to, its sale id and its original seller.
    function saleOf(uint256 tokenId) external view returns (address buyer, uint256 saleId, address seller) {
        _requireOwned(tokenId);
        buyer = address(uint160(tokenId >> 96));
        saleId = tokenId & _SALE_ID_MASK;
        seller = _sellerOf(tokenId);
    }

    /// @notice True once `saleId` has been minted (to whichever buyer).
    function isSaleMinted(uint256 saleId) external view returns (bool) {
        return _mintedSales[saleId >> 8] & (1 << (saleId & 255)) != 0;
    }

    /// @dev The holder slot of `holder` (layout at `_HOLDERS`).
    function _holder(address holder) private view returns (uint256 h) {
        assembly ("memory-safe") {
            h := sload(or(_HOLDERS, holder))
        }
    }

    /// @dev Whether `tokenId` was minted (to the buyer in its id), and its original seller.
    function _record(uint256 tokenId) private view returns (bool minted, address seller) {
        uint256 saleId = tokenId & ((1 << 96) - 1);
        if (saleId == 0 || saleId > _SALE_ID_MASK) return (false, address(0));
        uint256 h = _holder(address(uint160(tokenId >> 96)));
        if ((h >> _SLOT_SALE_SHIFT) & _SLOT_SALE_MASK == saleId) return (true, address(uint160(h >> 96)));
        uint256 holderIndex = (h >> 32) & _INDEX_MASK;
        if (holderIndex != 0) {
            uint256 rec = (_sales[saleId / _RECORDS_PER_WORD] >> (_RECORD_BITS * (saleId % _RECORDS_PER_WORD)))
                & _RECORD_MASK;
            if (rec & _INDEX_MASK == holderIndex) return (true, _sellerAt[rec >> _INDEX_BITS]);
        }
        uint256 extra = _extra[tokenId];
        return (extra != 0, address(uint160(extra)));
    }

    /// @dev Seller of a minted token (address(0) when none was given or the token does not exist).
    function _sellerOf(uint256 tokenId) private view returns (address seller) {
        (, seller) = _record(tokenId);
    }

    /// @notice ERC-2981: the original seller receives the royalty (default 2 %) on every resale.
    function royaltyInfo(uint256 tokenId, uint256 salePrice)
        public
        view
        override
        returns (address receiver, uint256 amount)
    {
        (receiver, amount) = super.royaltyInfo(tokenId, salePrice);
        address seller = _sellerOf(tokenId);
        if (seller != address(0)) receiver = seller;
    }

    function setDefaultRoyalty(address receiver, uint96 feeBps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setDefaultRoyalty(receiver, feeBps);
    }

    // ---- ERC-721 storage overrides ----

    /// @dev The transferred-to owner, else the buyer in the id when the id was minted to that buyer.
    function _ownerOf(uint256 tokenId) internal view override returns (address) {
        address owner = _owners[tokenId];
        if (owner != address(0)) return owner;
        (bool minted,) = _record(tokenId);
        return minted ? address(uint160(tokenId >> 96)) : address(0);
    }

    function balanceOf(address owner) public view override returns (uint256) {
        if (owner == address(0)) revert ERC721InvalidOwner(address(0));
        return _holder(owner) & _BALANCE_MASK;
    }

    function _increaseBalance(address, uint128) internal pure override {
        revert BalanceIncreaseNotSupported();
    }

    /// @dev Transfers only: minting is `mintBatch`, burning is not supported (an owner of 0 would
    ///      fall back to the buyer in the id).
    function _update(address to, uint256 tokenId, address auth) internal override returns (address from) {
        if (to == address(0)) revert ERC721InvalidReceiver(address(0));
        from = _ownerOf(tokenId);
        if (auth != address(0)) _checkAuthorized(from, auth, tokenId);
        if (from == address(0)) revert ERC721NonexistentToken(tokenId);
        _approve(address(0), tokenId, address(0), false);
        assembly ("memory-safe") {
            let fromSlot := or(_HOLDERS, from)
            sstore(fromSlot, sub(sload(fromSlot), 1))
            let toSlot := or(_HOLDERS, to)
            sstore(toSlot, add(sload(toSlot), 1))
        }
        _owners[tokenId] = to;
        emit Transfer(from, to, tokenId);
    }

    function supportsInterface(bytes4 interfaceId)
        public
        view
        override(ERC721, ERC2981, AccessControl)
        returns (bool)
    {
        return super.supportsInterface(interfaceId);
    }
}
