// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ERC2981} from "@openzeppelin/contracts/token/common/ERC2981.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

/// @title LeadNFT
/// @notice One token per sold lead; token id = the sale's database id, so minting a sale twice
///         reverts (idempotent by construction). Each token proves what was bought: the sale's
///         fields are hashed into a leaf, the leaves of a batch are chained into a root stored on
///         chain, and the fields themselves are in the LeadMinted event (and the transaction input).
/// @dev Gas design (see README.md): ownership lives in ONE packed slot per token
///      (owner | seller index | vertical id | batch id) instead of OpenZeppelin's `_owners` slot
///      plus a `_setTokenRoyalty` slot; the royalty receiver (the original seller) is resolved
///      through a seller registry (one slot per distinct seller, paid once per seller ever).
contract LeadNFT is ERC721, ERC2981, AccessControl {
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");
    uint256 public constant MAX_BATCH = 50;
    uint96 public constant DEFAULT_ROYALTY_BPS = 200; // 2 %

    /// @notice One sold lead as passed to `mintBatch`.
    struct Sale {
        uint256 tokenId; // sale id in the marketplace database
        address buyer; // recipient of the token
        address seller; // ERC-2981 royalty receiver
        uint32 verticalId;
        uint96 price; // USDC, 6 decimals
        uint16 quality; // quality score
        bytes32 dataHash; // salted hash of the lead's data
        bytes32 bidLogDigest; // digest of the auction's bid log
    }

    // packed token slot: [0..159] owner, [160..191] seller index, [192..223] vertical id, [224..255] batch id
    uint256 private constant _ADDR_MASK = (1 << 160) - 1;
    mapping(uint256 tokenId => uint256) private _packed;
    mapping(address owner => uint256) private _balances;

    mapping(address seller => uint32) public sellerIndex; // 0 = not registered
    mapping(uint32 index => address) public sellerAt;
    uint32 public sellerCount;

    /// @notice Root of each batch: r_0 = 0, r_i = keccak256(r_{i-1} ‖ leaf_i), leaf = leafHash(sale).
    mapping(uint32 batchId => bytes32) public batchRoot;
    uint32 public batchCount;

    event LeadMinted(
        uint256 indexed tokenId,
        uint32 indexed batchId,
        address seller,
        uint32 verticalId,
        uint96 price,
        uint16 quality,
        bytes32 dataHash,
        bytes32 bidLogDigest
    );
    event BatchMinted(uint32 indexed batchId, bytes32 root, uint256 count);

    error BatchSizeOutOfRange(uint256 size, uint256 max);
    error TokenAlreadyMinted(uint256 tokenId);
    error InvalidRecipient(address to);
    error BalanceIncreaseNotSupported();

    constructor(address admin, address defaultRoyaltyReceiver) ERC721("Lead Engine Lead", "LEAD") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(MINTER_ROLE, admin);
        _setDefaultRoyalty(defaultRoyaltyReceiver, DEFAULT_ROYALTY_BPS);
    }

    // ---- minting ----

    /// @notice Mints one token per sale (1..50 sales) and records the batch root.
    /// @dev No onERC721Received call: recipients are the buyers' wallets (custodial EOAs or linked
    ///      wallets); skipping the hook saves gas and removes any re-entrancy during a batch.
    function mintBatch(Sale[] calldata sales) external onlyRole(MINTER_ROLE) returns (uint32 batchId) {
        uint256 n = sales.length;
        if (n == 0 || n > MAX_BATCH) revert BatchSizeOutOfRange(n, MAX_BATCH);
        unchecked {
            batchId = ++batchCount;
        }
        bytes32 root;
        address lastSeller;
        uint256 lastIdx;
        for (uint256 i; i < n; ++i) {
            Sale calldata s = sales[i];
            address to = s.buyer;
            if (to == address(0)) revert InvalidRecipient(to);
            uint256 tokenId = s.tokenId;
            if (_packed[tokenId] != 0) revert TokenAlreadyMinted(tokenId);
            address seller = s.seller;
            if (seller != lastSeller || i == 0) {
                lastSeller = seller;
                lastIdx = _sellerIndexOrRegister(seller);
            }
            _packed[tokenId] =
                uint256(uint160(to)) | (lastIdx << 160) | (uint256(s.verticalId) << 192) | (uint256(batchId) << 224);
            unchecked {
                _balances[to] += 1;
            }
            emit Transfer(address(0), to, tokenId);
            emit LeadMinted(tokenId, batchId, seller, s.verticalId, s.price, s.quality, s.dataHash, s.bidLogDigest);
            root = keccak256(abi.encodePacked(root, _leaf(s)));
        }
        batchRoot[batchId] = root;
        emit BatchMinted(batchId, root, n);
    }

    function _sellerIndexOrRegister(address seller) private returns (uint256) {
        if (seller == address(0)) return 0;
        uint32 idx = sellerIndex[seller];
        if (idx == 0) {
            unchecked {
                idx = ++sellerCount;
            }
            sellerIndex[seller] = idx;
            sellerAt[idx] = seller;
        }
        return idx;
    }

    function _leaf(Sale calldata s) private pure returns (bytes32) {
        return keccak256(
            abi.encode(s.tokenId, s.buyer, s.seller, s.verticalId, s.price, s.quality, s.dataHash, s.bidLogDigest)
        );
    }

    /// @notice The leaf of a sale as chained into its batch root (for off-chain verification).
    function leafHash(Sale calldata s) external pure returns (bytes32) {
        return _leaf(s);
    }

    /// @notice True when `sales` (in mint order) are exactly the sales of batch `batchId`.
    function verifyBatch(uint32 batchId, Sale[] calldata sales) external view returns (bool) {
        bytes32 root;
        for (uint256 i; i < sales.length; ++i) {
            root = keccak256(abi.encodePacked(root, _leaf(sales[i])));
        }
        return sales.length != 0 && root == batchRoot[batchId];
    }

    // ---- per-token record ----

    /// @notice On-chain record of a token: its original seller, vertical and batch.
    function leadOf(uint256 tokenId) external view returns (address seller, uint32 verticalId, uint32 batchId) {
        uint256 p = _packed[tokenId];
        _requireOwned(tokenId);
        return (sellerAt[uint32(p >> 160)], uint32(p >> 192), uint32(p >> 224));
    }

    /// @notice ERC-2981: the original seller receives the royalty (default 2 %) on resales.
    function royaltyInfo(uint256 tokenId, uint256 salePrice)
        public
        view
        override
        returns (address receiver, uint256 amount)
    {
        (receiver, amount) = super.royaltyInfo(tokenId, salePrice);
        address seller = sellerAt[uint32(_packed[tokenId] >> 160)];
        if (seller != address(0)) receiver = seller;
    }

    function setDefaultRoyalty(address receiver, uint96 feeBps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setDefaultRoyalty(receiver, feeBps);
    }

    // ---- ERC-721 storage overrides (packed ownership) ----

    function _ownerOf(uint256 tokenId) internal view override returns (address) {
        return address(uint160(_packed[tokenId] & _ADDR_MASK));
    }

    function balanceOf(address owner) public view override returns (uint256) {
        if (owner == address(0)) revert ERC721InvalidOwner(address(0));
        return _balances[owner];
    }

    function _increaseBalance(address, uint128) internal pure override {
        revert BalanceIncreaseNotSupported();
    }

    /// @dev Transfers (and the unused burn path) keep the seller/vertical/batch bits of the slot.
    function _update(address to, uint256 tokenId, address auth) internal override returns (address from) {
        uint256 p = _packed[tokenId];
        from = address(uint160(p & _ADDR_MASK));
        if (auth != address(0)) _checkAuthorized(from, auth, tokenId);
        if (from != address(0)) {
            _approve(address(0), tokenId, address(0), false);
            unchecked {
                _balances[from] -= 1;
            }
        }
        if (to != address(0)) {
            unchecked {
                _balances[to] += 1;
            }
        }
        _packed[tokenId] = (p & ~_ADDR_MASK) | uint256(uint160(to));
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
