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
/// @notice Holds USDC for the marketplace. Users keep a free balance; the operator moves a
///         buyer's free balance into a deal (id = our sale id), then releases the deal to
///         payees' vault balances with a split that must sum exactly to the deal amount, or
///         refunds (fully or partly) to the deal's buyer only.
///
///         Money leaves the vault on two paths only:
///         - `withdrawWithSig`: the platform (OPERATOR_ROLE) submits the account's EIP-712
///           signature. Both must agree: the platform, because the account's free balance may be
///           promised to bids the platform is holding off chain; the account, so the operator can
///           never pay anybody's funds to anybody else.
///         - the exit hatch, so the platform can never lock an account out: the account announces
///           an exit (`announceExit`), and once `exitDelay` has passed it takes up to the announced
///           amount of its free balance alone (`exit`). The platform sees the announcement on chain
///           and, from then on, treats the amount as unavailable for new bids; the delay leaves it
///           time to settle what the account already owes.
///         `moveWithSig` moves free balance between two of one account holder's addresses (a
///         custodial address to the wallet the user linked), again with both signatures.
///
///         What the operator is trusted with: it moves an account's free balance into a deal of
///         that same account (a sale the account won; refunds return to it) and releases a deal
///         to the payees it names (the split is computed off chain and recorded in the books and
///         in the sale's LeadNFT). It cannot pay a free balance out of the vault, and once an
///         announced exit has unlocked it cannot fund deals from the amount leaving.
/// @dev Invariant: token.balanceOf(this) == sum(balanceOf) + sum(open deal amounts).
///      Payouts credit vault balances (pull payments): no transfer to a payee can fail or re-enter
///      during a release.
contract EscrowVault is AccessControl, ReentrancyGuard, EIP712, Nonces {
    using SafeERC20 for IERC20;

    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    bytes32 public constant WITHDRAW_TYPEHASH =
        keccak256("Withdraw(address account,address to,uint256 amount,uint256 nonce,uint256 deadline)");
    bytes32 public constant MOVE_TYPEHASH =
        keccak256("Move(address account,address to,uint256 amount,uint256 nonce,uint256 deadline)");
    /// @notice The longest exit delay a deployment may choose: nobody waits more than this.
    uint256 public constant MAX_EXIT_DELAY = 30 days;

    /// @dev One storage slot per deal. `buyer != 0` means the id was used (ids are never reused);
    ///      `amount` is what is still held (0 once released or fully refunded).
    struct Deal {
        address buyer;
        uint96 amount;
    }

    /// @dev An announced exit: up to `amount` may leave with `exit()` from `unlocksAt` on.
    struct PendingExit {
        uint192 amount;
        uint64 unlocksAt;
    }

    IERC20 public immutable token;
    /// @notice Seconds between `announceExit` and the earliest `exit`.
    uint256 public immutable exitDelay;
    mapping(address account => PendingExit) public exits;
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
    event ExitAnnounced(address indexed account, uint256 amount, uint256 unlocksAt);
    event ExitCancelled(address indexed account);
    event Exited(address indexed account, uint256 amount);
    event Moved(address indexed from, address indexed to, uint256 amount);

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
    error ExitDelayTooLong(uint256 delay);
    error NoExitAnnounced(address account);
    error ExitLocked(uint256 unlocksAt);
    error ExitUnlocked(address account, uint256 exiting);
    error ExitPending(address account, uint256 exiting);

    constructor(IERC20 token_, address admin, address operator, uint256 exitDelay_) EIP712("EscrowVault", "1") {
        if (address(token_) == address(0) || admin == address(0)) revert ZeroAddress();
        if (exitDelay_ > MAX_EXIT_DELAY) revert ExitDelayTooLong(exitDelay_);
        token = token_;
        exitDelay = exitDelay_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        if (operator != address(0)) _grantRole(OPERATOR_ROLE, operator);
    }

    // ---- deposits: anyone, with their own tokens ----

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

    // ---- withdrawals: the platform and the account together ----

    /// @notice Pays `to` from `account`'s free balance with `account`'s EIP-712 signature of
    ///         Withdraw(account, to, amount, nonce, deadline). Only the operator submits it (the
    ///         platform authorises the withdrawal and pays the gas); the nonce (`nonces(account)`)
    ///         makes every signature usable once.
    /// @dev SignatureChecker: an EOA's ECDSA signature, or ERC-1271 for a contract wallet.
    function withdrawWithSig(address account, address to, uint256 amount, uint256 deadline, bytes calldata signature)
        external
        nonReentrant
        onlyRole(OPERATOR_ROLE)
    {
        _checkSignature(WITHDRAW_TYPEHASH, account, to, amount, deadline, signature);
        _withdraw(account, to, amount);
        emit Withdrawn(account, amount);
    }

    /// @notice Moves `amount` of `account`'s free balance to `to`'s free balance, with `account`'s
    ///         EIP-712 signature of Move(account, to, amount, nonce, deadline); operator only. An
    ///         announced exit's amount cannot be moved away (ExitPending).
    function moveWithSig(address account, address to, uint256 amount, uint256 deadline, bytes calldata signature)
        external
        onlyRole(OPERATOR_ROLE)
    {
        if (to == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        _checkSignature(MOVE_TYPEHASH, account, to, amount, deadline, signature);
        uint256 bal = balanceOf[account];
        if (bal < amount) revert InsufficientBalance(account, bal, amount);
        // What an account announced it is leaving with stays at that address: the exit pays from
        // this balance, and the platform has set the amount aside for it.
        uint256 exiting = exits[account].amount;
        if (exiting != 0 && bal - amount < exiting) revert ExitPending(account, exiting);
        unchecked {
            balanceOf[account] = bal - amount;
        }
        balanceOf[to] += amount;
        emit Moved(account, to, amount);
    }

    function _checkSignature(
        bytes32 typehash,
        address account,
        address to,
        uint256 amount,
        uint256 deadline,
        bytes calldata signature
    ) private {
        if (block.timestamp > deadline) revert SignatureExpired(deadline);
        bytes32 digest =
            _hashTypedDataV4(keccak256(abi.encode(typehash, account, to, amount, _useNonce(account), deadline)));
        if (!SignatureChecker.isValidSignatureNow(account, digest, signature)) revert InvalidSignature(account);
    }

    // ---- the exit hatch: the account alone, after a notice ----

    /// @notice Announces that up to `amount` of the caller's free balance will leave with `exit()`
    ///         once `exitDelay` has passed. A new announcement replaces the pending one (and its clock).
    function announceExit(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        if (amount > type(uint192).max) revert AmountTooLarge(amount);
        uint64 unlocksAt = uint64(block.timestamp + exitDelay);
        exits[msg.sender] = PendingExit({amount: uint192(amount), unlocksAt: unlocksAt});
        emit ExitAnnounced(msg.sender, amount, unlocksAt);
    }

    /// @notice Withdraws the caller's pending exit announcement.
    function cancelExit() external {
        if (exits[msg.sender].amount == 0) revert NoExitAnnounced(msg.sender);
        delete exits[msg.sender];
        emit ExitCancelled(msg.sender);
    }

    /// @notice After the delay, pays the caller the announced amount, or its whole free balance
    ///         when that is smaller (deals funded meanwhile are not free balance). One use per
    ///         announcement.
    function exit() external nonReentrant returns (uint256 paid) {
        PendingExit memory pending = exits[msg.sender];
        if (pending.amount == 0) revert NoExitAnnounced(msg.sender);
        if (block.timestamp < pending.unlocksAt) revert ExitLocked(pending.unlocksAt);
        delete exits[msg.sender];
        uint256 bal = balanceOf[msg.sender];
        paid = pending.amount < bal ? pending.amount : bal;
        if (paid == 0) revert InsufficientBalance(msg.sender, 0, pending.amount);
        _withdraw(msg.sender, msg.sender, paid);
        emit Exited(msg.sender, paid);
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
        // Once an announced exit has unlocked, the platform had its notice period: it may no
        // longer fund deals out of the amount the account is leaving with.
        PendingExit memory pending = exits[buyer];
        if (pending.amount != 0 && block.timestamp >= pending.unlocksAt && bal - amount < pending.amount) {
            revert ExitUnlocked(buyer, pending.amount);
        }
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
