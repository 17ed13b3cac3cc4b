// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title MockUSDC
/// @notice A 6-decimal stand-in for USDC on DEVELOPMENT CHAINS ONLY (anvil, eth-tester).
/// @dev `mint` is open to anyone on purpose: the development faucet page calls it for any user.
///      Never deploy this contract to a public network; production uses the real USDC address.
contract MockUSDC is ERC20 {
    constructor() ERC20("Mock USD Coin", "USDC") {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
