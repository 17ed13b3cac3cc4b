// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ERC2981} from "@openzeppelin/contracts/token/common/ERC2981.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

/// @title VerticalNFT
/// @notice One token per vertical (token id = the vertical's database id). Its holder is the
///         vertical owner who receives the 2 % vertical royalty on each sale (paid by EscrowVault
///         when the operator releases a deal) and ERC-2981 royalties when the token itself is resold.
contract VerticalNFT is ERC721, ERC2981, AccessControl {
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");
    uint96 public constant DEFAULT_ROYALTY_BPS = 200; // 2 %

    constructor(address admin, address royaltyReceiver) ERC721("Lead Engine Vertical", "LEV") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(MINTER_ROLE, admin);
        _setDefaultRoyalty(royaltyReceiver, DEFAULT_ROYALTY_BPS);
    }

    /// @notice Mints the token of vertical `verticalId` to `to`; reverts if it already exists.
    function mint(address to, uint256 verticalId) external onlyRole(MINTER_ROLE) {
        _mint(to, verticalId);
    }

    function setDefaultRoyalty(address receiver, uint96 feeBps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setDefaultRoyalty(receiver, feeBps);
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
