// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

/// @title EscrowVault
/// @notice Holds USDC for the marketplace. Users keep a free balance (deposit / withdraw, only by
///         themselves or with their EIP-712 signature); the operator moves a buyer's free balance into a deal (id = our sale id),
///         then releases the deal to payees' vault balances with a split that must sum exactly to
///         the deal amount, or refunds (fully or partly) to the deal's buyer only.
/// @dev Invariant: token.balanceOf(this) == sum(balanceOf) + sum(open deal amounts).
///      Payouts credit vault balances (pull payments): no transfer to a payee can fail or re-enter
///      during a release, and every payee withdraws when they want.
contract EscrowVault is AccessControl, ReentrancyGuard, EIP712, Nonces {
    using SafeERC20 for IERC20;

    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    bytes32 public constant WITHDRAW_TYPEHASH =
        keccak256("Withdraw(address account,address to,uint256 amount,uint256 nonce,uint256 deadline)");

    /// @dev One storage slot per deal. `buyer != 0` means the id was used (ids are never reused);
    ///      `amount` is what is still held (0 once released or fully refunded).
    struct Deal {
        address buyer;
        uint96 amount;
    }

    IERC20 public immutable token;
    mapping(address account => uint256) public balanceOf;
    mapping(uint256 dealId => Deal) private _deals;
    /// @notice Sum of the amounts still held in open deals (kept for the invariant check).
    uint256 public totalHeld;

    event Deposited(address indexed account, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);
    event DealFunded(uint256 indexed dealId, address indexed buyer, uint256 amount);
    event DealReleased(uint256 indexed dealId, uint256 amount);
    event DealPayout(uint256 indexed dealId, address indexed payee, uint256 amount);
    event DealRefunded(uint256 indexed dealId, address indexed buyer, uint256 amount, uint256 remaining);

    error ZeroAmount();
    error ZeroAddress();
    error AmountTooLarge(uint256 amount);
    error InsufficientBalance(address account, uint256 balance, uint256 needed);
    error DealAlreadyExists(uint256 dealId);
    error DealNotOpen(uint256 dealId);
    error RefundExceedsDeal(uint256 dealId, uint256 held, uint256 requested);
    error SplitLengthMismatch(uint256 payees, uint256 amounts);
    error SplitSumMismatch(uint256 dealId, uint256 held, uint256 sum);
    error InvalidSignature(address account);
    error SignatureExpired(uint256 deadline);

    constructor(IERC20 token_, address admin, address operator) EIP712("EscrowVault", "1") {
        if (address(token_) == address(0) || admin == address(0)) revert ZeroAddress();
        token = token_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        if (operator != address(0)) _grantRole(OPERATOR_ROLE, operator);
    }

    // ---- user side: only the account itself moves its free balance out ----

    /// @notice Pulls `amount` of the token from the caller (needs an ERC-20 approval) into its balance.
    function deposit(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        token.safeTransferFrom(msg.sender, address(this), amount);
        balanceOf[msg.sender] += amount;
        emit Deposited(msg.sender, amount);
    }

    /// @notice Pulls `amount` of the token from the caller (needs an ERC-20 approval) into
    ///         `account`'s balance. Harmless to anyone: the caller pays with its own tokens.
    function depositFor(address account, uint256 amount) external nonReentrant {
        if (account == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        token.safeTransferFrom(msg.sender, address(this), amount);
        balanceOf[account] += amount;
        emit Deposited(account, amount);
    }

    /// @notice Sends `amount` of the caller's free balance back to the caller.
    function withdraw(uint256 amount) external nonReentrant {
        _withdraw(msg.sender, msg.sender, amount);
    }

    /// @notice Pays `to` from `account`'s free balance with `account`'s EIP-712 signature of
    ///         Withdraw(account, to, amount, nonce, deadline). Anyone may submit it (the platform
    ///         pays the gas); the nonce (`nonces(account)`) makes every signature usable once.
    /// @dev SignatureChecker: an EOA's ECDSA signature, or ERC-1271 for a contract wallet.
    function withdrawWithSig(address account, address to, uint256 amount, uint256 deadline, bytes calldata signature)
        external
        nonReentrant
    {
        if (block.timestamp > deadline) revert SignatureExpired(deadline);
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(WITHDRAW_TYPEHASH, account, to, amount, _useNonce(account), deadline))
        );
        if (!SignatureChecker.isValidSignatureNow(account, digest, signature)) revert InvalidSignature(account);
        _withdraw(account, to, amount);
    }

    function _withdraw(address account, address to, uint256 amount) private {
        if (to == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        uint256 bal = balanceOf[account];
        if (bal < amount) revert InsufficientBalance(account, bal, amount);
        unchecked {
            balanceOf[account] = bal - amount;
        }
        token.safeTransfer(to, amount);
        emit Withdrawn(account, amount);
    }

    // ---- operator side ----

    /// @notice Moves `amount` of `buyer`'s free balance into the new deal `dealId`.
    /// @dev The deal remembers its buyer: a refund can only ever go back to that buyer.
    function fundDeal(uint256 dealId, address buyer, uint256 amount) external onlyRole(OPERATOR_ROLE) {
        if (buyer == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        if (amount > type(uint96).max) revert AmountTooLarge(amount);
        if (_deals[dealId].buyer != address(0)) revert DealAlreadyExists(dealId);
        uint256 bal = balanceOf[buyer];
        if (bal < amount) revert InsufficientBalance(buyer, bal, amount);
        unchecked {
            balanceOf[buyer] = bal - amount;
        }
        _deals[dealId] = Deal({buyer: buyer, amount: uint96(amount)});
        totalHeld += amount;
        emit DealFunded(dealId, buyer, amount);
    }

    /// @notice Closes deal `dealId`, crediting `amounts[i]` to `payees[i]`'s vault balance.
    /// @dev The split (seller, platform fee, vertical royalty, bounties) is computed off chain;
    ///      the contract enforces that it sums exactly to what the deal still holds.
    ///      A payee may appear more than once and zero amounts are allowed.
    function releaseDeal(uint256 dealId, address[] calldata payees, uint256[] calldata amounts)
        external
        onlyRole(OPERATOR_ROLE)
    {
        if (payees.length != amounts.length) revert SplitLengthMismatch(payees.length, amounts.length);
        Deal storage deal = _deals[dealId];
        uint256 held = deal.amount;
        if (held == 0) revert DealNotOpen(dealId);
        uint256 sum;
        for (uint256 i; i < payees.length; ++i) {
            address payee = payees[i];
            if (payee == address(0)) revert ZeroAddress();
            uint256 value = amounts[i];
            sum += value;
            balanceOf[payee] += value;
            emit DealPayout(dealId, payee, value);
        }
        if (sum != held) revert SplitSumMismatch(dealId, held, sum);
        deal.amount = 0;
        totalHeld -= held;
        emit DealReleased(dealId, held);
    }

    /// @notice Returns `amount` of deal `dealId` to its buyer's free balance. A partial refund
    ///         leaves the rest open for `releaseDeal`; refunding everything closes the deal.
    function refundDeal(uint256 dealId, uint256 amount) external onlyRole(OPERATOR_ROLE) {
        if (amount == 0) revert ZeroAmount();
        Deal storage deal = _deals[dealId];
        uint256 held = deal.amount;
        if (held == 0) revert DealNotOpen(dealId);
        if (amount > held) revert RefundExceedsDeal(dealId, held, amount);
        unchecked {
            deal.amount = uint96(held - amount);
        }
        totalHeld -= amount;
        address buyer = deal.buyer;
        balanceOf[buyer] += amount;
        emit DealRefunded(dealId, buyer, amount, held - amount);
    }

    // ---- views ----

    /// @notice The EIP-712 domain separator that withdrawal signatures are bound to.
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @notice The deal's buyer (0 if the id was never used) and the amount it still holds.
    function dealOf(uint256 dealId) external view returns (address buyer, uint256 amount) {
        Deal storage deal = _deals[dealId];
        return (deal.buyer, deal.amount);
    }
}
