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
/// @dev Gas design (see README.md): minting to a new holder writes ONE fresh storage slot, the
///      holder's slot `seller (160) | first minted sale id (64) | balance (32)`. Ownership needs no
///      slot until the first transfer: `ownerOf` is `_owners[id]` once transferred, else the buyer
///      encoded in the id, provided the id exists, i.e. its sale is the buyer's first minted sale
///      (holder slot) or is recorded in `_extra[id]` (seller | exists bit, later sales of a buyer).
///      A forged id (another buyer, same sale id) therefore does not exist. Sale ids are also set
///      in a bitmap (256 per slot) so a sale cannot be minted twice, whoever the buyer.
///      No per-token data event: the fields are in calldata, the Merkle root makes them verifiable.
contract LeadNFT is ERC721, ERC2981, AccessControl {
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");
    uint256 public constant MAX_BATCH = 50;
    uint96 public constant DEFAULT_ROYALTY_BPS = 200; // 2 %

    /// @notice One sold lead as passed to `mintBatch`; its leaf is `keccak256(abi.encode(sale))`.
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

    /// holder slot: [0..31] balance, [32..95] sale id of the holder's first minted token (0 = none),
    /// [96..255] that token's seller.
    mapping(address holder => uint256) private _holders;
    /// tokens that are not their buyer's first minted token: seller | _EXISTS.
    mapping(uint256 tokenId => uint256) private _extra;
    /// current owner once a token has been transferred (0 = still its buyer, the address in the id).
    mapping(uint256 tokenId => address) private _owners;
    /// one bit per minted sale id.
    mapping(uint256 word => uint256) private _mintedSales;

    /// @notice Merkle root of each batch (leaves in mint order, sorted-pair keccak256, an odd node
    ///         is carried up unchanged; a batch of one has root = its leaf).
    mapping(uint256 batchId => bytes32) public batchRoot;
    uint256 public batchCount;

    event BatchMinted(uint256 indexed batchId, bytes32 root, uint256 count);

    error BatchSizeOutOfRange(uint256 size, uint256 max);
    error SaleAlreadyMinted(uint256 saleId);
    error InvalidSaleId(uint256 saleId);
    error InvalidRecipient(address to);
    error InvalidSaleField();
    error BalanceIncreaseNotSupported();

    constructor(address admin, address defaultRoyaltyReceiver) ERC721("Lead Engine Lead", "LEAD") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(MINTER_ROLE, admin);
        _setDefaultRoyalty(defaultRoyaltyReceiver, DEFAULT_ROYALTY_BPS);
    }

    // ---- minting ----

    /// @notice Mints one token per sale (1..50 sales, distinct sale ids never minted before) and
    ///         stores the batch's Merkle root. Emits one `Transfer` per token and `BatchMinted`.
    /// @dev No onERC721Received call: recipients are the buyers' wallets (custodial EOAs or linked
    ///      wallets); skipping the hook saves gas and removes any re-entrancy during a batch.
    function mintBatch(Sale[] calldata sales) external onlyRole(MINTER_ROLE) returns (uint256 batchId) {
        uint256 n = sales.length;
        if (n == 0 || n > MAX_BATCH) revert BatchSizeOutOfRange(n, MAX_BATCH);
        bytes32[] memory nodes = new bytes32[](n);
        uint256 word = type(uint256).max; // bitmap word cached across consecutive sale ids
        uint256 minted;
        for (uint256 i; i < n; ++i) {
            Sale calldata s = sales[i];
            address buyer = s.buyer;
            if (buyer == address(0)) revert InvalidRecipient(buyer);
            uint256 saleId = s.saleId;
            if (saleId == 0) revert InvalidSaleId(saleId);
            if (saleId >> 8 != word) {
                if (word != type(uint256).max) _mintedSales[word] = minted;
                word = saleId >> 8;
                minted = _mintedSales[word];
            }
            uint256 bit = 1 << (saleId & 255);
            if (minted & bit != 0) revert SaleAlreadyMinted(saleId);
            minted |= bit;

            uint256 tokenId = (uint256(uint160(buyer)) << 96) | saleId;
            uint256 seller = uint160(s.seller);
            uint256 h = _holders[buyer];
            if ((h >> 32) & _SALE_ID_MASK == 0) {
                h |= (seller << 96) | (saleId << 32); // the buyer's first minted token lives here
            } else {
                _extra[tokenId] = seller | _EXISTS;
            }
            unchecked {
                _holders[buyer] = h + 1;
            }
            emit Transfer(address(0), buyer, tokenId);
            nodes[i] = _mintLeaf(s);
        }
        _mintedSales[word] = minted;
        bytes32 root = _merkleRoot(nodes);
        unchecked {
            batchId = ++batchCount;
        }
        batchRoot[batchId] = root;
        emit BatchMinted(batchId, root, n);
    }

    /// @dev `keccak256(abi.encode(s))` without copying the struct field by field: the static struct
    ///      is already ABI-encoded in calldata. The fields `mintBatch` does not read are checked for
    ///      clean high bits here, so the leaf always equals `leafHash` of the decoded sale.
    function _mintLeaf(Sale calldata s) private pure returns (bytes32 leaf) {
        uint256 dirty;
        assembly ("memory-safe") {
            dirty := or(
                or(shr(32, calldataload(add(s, 0x60))), shr(96, calldataload(add(s, 0x80)))),
                shr(16, calldataload(add(s, 0xa0)))
            )
            let ptr := mload(0x40) // scratch above the free memory pointer, not allocated
            calldatacopy(ptr, s, 0x100)
            leaf := keccak256(ptr, 0x100)
        }
        if (dirty != 0) revert InvalidSaleField();
    }

    /// @dev Reduces `nodes` in place level by level: pairs hashed with sorted-pair keccak256
    ///      (OpenZeppelin's MerkleProof convention), the last node of an odd level carried up.
    function _merkleRoot(bytes32[] memory nodes) private pure returns (bytes32 root) {
        assembly ("memory-safe") {
            let base := add(nodes, 0x20)
            for { let len := mload(nodes) } gt(len, 1) {} {
                let half := shr(1, len)
                for { let i := 0 } lt(i, half) { i := add(i, 1) } {
                    let a := mload(add(base, shl(6, i)))
                    let b := mload(add(base, add(shl(6, i), 0x20)))
                    switch lt(a, b)
                    case 1 {
                        mstore(0x00, a)
                        mstore(0x20, b)
                    }
                    default {
                        mstore(0x00, b)
                        mstore(0x20, a)
                    }
                    mstore(add(base, shl(5, i)), keccak256(0x00, 0x40))
                }
                if and(len, 1) {
                    mstore(add(base, shl(5, half)), mload(add(base, shl(5, sub(len, 1)))))
                    half := add(half, 1)
                }
                len := half
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

    /// @dev Seller of a minted token (address(0) when none was given or the token does not exist).
    function _sellerOf(uint256 tokenId) private view returns (address) {
        uint256 h = _holders[address(uint160(tokenId >> 96))];
        uint256 saleId = tokenId & ((1 << 96) - 1);
        if (saleId != 0 && (h >> 32) & _SALE_ID_MASK == saleId) return address(uint160(h >> 96));
        return address(uint160(_extra[tokenId]));
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
        address buyer = address(uint160(tokenId >> 96));
        uint256 saleId = tokenId & ((1 << 96) - 1);
        if (saleId == 0) return address(0);
        if ((_holders[buyer] >> 32) & _SALE_ID_MASK == saleId || _extra[tokenId] != 0) return buyer;
        return address(0);
    }

    function balanceOf(address owner) public view override returns (uint256) {
        if (owner == address(0)) revert ERC721InvalidOwner(address(0));
        return _holders[owner] & _BALANCE_MASK;
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
        unchecked {
            _holders[from] -= 1;
            _holders[to] += 1;
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
