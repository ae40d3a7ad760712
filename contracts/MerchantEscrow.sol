// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

import {IMerchantEscrow} from "./interfaces/IMerchantEscrow.sol";

/// @title MerchantEscrow — see {IMerchantEscrow}
/// @dev Every payment carries its own remaining amount and every payout comes out of it, so no
/// action can spend another payment's money; the guarantee fund has its own counter. A pause
/// stops money coming in (deposits) and going to merchants (releases); refunds to payers and the
/// settling of disputes go on, so a pause never traps a customer's money.
/// One merchant that cannot be paid never holds up another: releaseBatch tries each transfer and
/// skips (ReleaseSkipped, the payment stays Held) what fails, and deposits refuse merchants and
/// payers MSC can never pay (the token, this escrow). A merchant frozen after its deposit is the
/// case the skip covers; its payment waits, releasable once unfrozen, refundable meanwhile.
/// A refund has one body whoever sends it: the merchant itself (refund) or a relayer with the
/// merchant's EIP-712 authorization (refundWithAuthorization), whose nonce is spent before any
/// transfer, so a signed refund happens at most once.
contract MerchantEscrow is IMerchantEscrow, AccessControl, Pausable, EIP712 {
    using SafeERC20 for IERC20;

    /// @notice May deposit payments (the settlement service).
    bytes32 public constant DEPOSITOR_ROLE = keccak256("DEPOSITOR_ROLE");
    /// @notice Decides disputes.
    bytes32 public constant ARBITER_ROLE = keccak256("ARBITER_ROLE");
    /// @notice Funds the guarantee fund, pays covered refunds, sets the dispute window, pauses.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    uint256 public constant MAX_HOLD = 365 days;
    uint256 public constant MAX_BATCH = 500;
    /// @notice EIP-712 type hash of a merchant's signed refund.
    bytes32 public constant REFUND_AUTHORIZATION_TYPEHASH =
        keccak256("RefundAuthorization(bytes32 paymentId,uint96 amount,bytes32 nonce,uint256 validBefore)");

    IERC20 private immutable _msc;
    mapping(bytes32 paymentId => Payment) private _payments;
    uint128 private _escrowed;
    uint128 private _guaranteeFund;
    uint40 private _disputeWindow;
    mapping(address merchant => mapping(bytes32 nonce => bool)) private _authorizations;

    constructor(IERC20 msc, address admin, address depositor, address arbiter, address operator)
        EIP712("MerchantEscrow", "1")
    {
        if (
            address(msc) == address(0) || admin == address(0) || depositor == address(0) || arbiter == address(0)
                || operator == address(0)
        ) revert EscrowZeroAddress();
        _msc = msc;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(DEPOSITOR_ROLE, depositor);
        _grantRole(ARBITER_ROLE, arbiter);
        _grantRole(OPERATOR_ROLE, operator);
        _disputeWindow = 14 days;
        emit DisputeWindowSet(14 days);
    }

    // ================================================================ deposits

    /// @inheritdoc IMerchantEscrow
    function deposit(bytes32 paymentId, address merchant, address payer, uint96 amount, uint40 holdSeconds)
        external
        whenNotPaused
        onlyRole(DEPOSITOR_ROLE)
    {
        _record(paymentId, merchant, payer, amount, holdSeconds);
        _escrowed += amount;
        _msc.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IMerchantEscrow
    function depositBatch(DepositRequest[] calldata deposits) external whenNotPaused onlyRole(DEPOSITOR_ROLE) {
        uint256 n = deposits.length;
        if (n == 0 || n > MAX_BATCH) revert EscrowBatchSize(n, MAX_BATCH);
        uint256 total = 0;
        for (uint256 i; i < n; ++i) {
            DepositRequest calldata d = deposits[i];
            _record(d.paymentId, d.merchant, d.payer, d.amount, d.holdSeconds);
            total += d.amount;
        }
        _escrowed += uint128(total);
        _msc.safeTransferFrom(msg.sender, address(this), total);
    }

    // ================================================================ release

    /// @inheritdoc IMerchantEscrow
    function release(bytes32 paymentId) external whenNotPaused {
        Payment storage p = _payments[paymentId];
        if (p.status != Status.Held) revert EscrowWrongStatus(paymentId, p.status);
        bool byPayer = msg.sender == p.payer;
        if (!byPayer && block.timestamp < p.releaseAfter) revert EscrowStillHeld(paymentId, p.releaseAfter);
        uint256 amount = p.amount;
        _escrowed -= uint128(amount);
        _release(paymentId, p, amount, byPayer);
    }

    /// @inheritdoc IMerchantEscrow
    function releaseBatch(bytes32[] calldata paymentIds) external whenNotPaused returns (uint256 released) {
        uint256 n = paymentIds.length;
        if (n == 0 || n > MAX_BATCH) revert EscrowBatchSize(n, MAX_BATCH);
        uint256 total = 0;
        for (uint256 i; i < n; ++i) {
            bytes32 paymentId = paymentIds[i];
            Payment storage p = _payments[paymentId];
            if (p.status != Status.Held || block.timestamp < p.releaseAfter) continue;
            uint256 amount = p.amount;
            address merchant = p.merchant;
            p.status = Status.Released; // effects first; undone below if the transfer fails
            uint256 gasBefore = gasleft();
            // Tried, not required: one merchant MSC cannot pay (frozen) must not revert the batch
            // and so stop every other merchant's release. The try is the same call safeTransfer
            // makes; the gas reads cost a few units per payment.
            if (_msc.trySafeTransfer(merchant, amount)) {
                total += amount;
                ++released;
                emit Released(paymentId, merchant, amount, false);
            } else {
                // A transfer starved by a caller's gas limit (it keeps < 1/64 of what it had) is not
                // "cannot pay": revert rather than let a caller skip payments at will.
                if (gasleft() <= gasBefore / 64) revert EscrowReleaseOutOfGas(paymentId);
                p.status = Status.Held;
                emit ReleaseSkipped(paymentId, merchant, amount);
            }
        }
        _escrowed -= uint128(total);
    }

    // ================================================================ refunds and disputes

    /// @inheritdoc IMerchantEscrow
    function refund(bytes32 paymentId, uint96 amount) external {
        Payment storage p = _refundable(paymentId);
        if (msg.sender != p.merchant) revert EscrowNotParty(paymentId, msg.sender, "merchant");
        _refund(paymentId, p, amount);
    }

    /// @inheritdoc IMerchantEscrow
    function refundWithAuthorization(
        bytes32 paymentId,
        uint96 amount,
        bytes32 nonce,
        uint256 validBefore,
        bytes calldata signature
    ) external {
        Payment storage p = _refundable(paymentId);
        if (block.timestamp >= validBefore) revert EscrowAuthorizationExpired(validBefore);
        address merchant = p.merchant;
        if (_authorizations[merchant][nonce]) revert EscrowAuthorizationUsed(merchant, nonce);
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(REFUND_AUTHORIZATION_TYPEHASH, paymentId, amount, nonce, validBefore))
        );
        // ERC-1271 wallets are asked with a staticcall, so the check cannot re-enter.
        if (!SignatureChecker.isValidSignatureNow(merchant, digest, signature)) {
            revert EscrowInvalidSignature(merchant);
        }
        _authorizations[merchant][nonce] = true;
        emit RefundAuthorizationUsed(merchant, nonce);
        _refund(paymentId, p, amount);
    }

    /// @inheritdoc IMerchantEscrow
    function authorizationState(address merchant, bytes32 nonce) external view returns (bool) {
        return _authorizations[merchant][nonce];
    }

    /// @inheritdoc IMerchantEscrow
    function dispute(bytes32 paymentId) external {
        Payment storage p = _payments[paymentId];
        if (p.status != Status.Held) revert EscrowWrongStatus(paymentId, p.status);
        if (msg.sender != p.payer) revert EscrowNotParty(paymentId, msg.sender, "payer");
        uint40 deadline = uint40(block.timestamp) + _disputeWindow;
        p.status = Status.Disputed;
        p.disputeDeadline = deadline;
        emit Disputed(paymentId, msg.sender, deadline);
    }

    /// @inheritdoc IMerchantEscrow
    function resolveDispute(bytes32 paymentId, uint96 toMerchant) external onlyRole(ARBITER_ROLE) {
        Payment storage p = _payments[paymentId];
        if (p.status != Status.Disputed) revert EscrowWrongStatus(paymentId, p.status);
        // After the deadline the default (full refund) is the payer's due; the arbiter is too late.
        if (block.timestamp > p.disputeDeadline) revert EscrowDisputeExpired(paymentId, p.disputeDeadline);
        uint96 amount = p.amount;
        if (toMerchant > amount) revert EscrowAmountInvalid(toMerchant, amount);
        uint96 toPayer = amount - toMerchant;
        p.status = Status.Split;
        _escrowed -= amount;
        emit DisputeResolved(paymentId, toMerchant, toPayer, false);
        if (toMerchant > 0) _msc.safeTransfer(p.merchant, toMerchant);
        if (toPayer > 0) _msc.safeTransfer(p.payer, toPayer);
    }

    /// @inheritdoc IMerchantEscrow
    function resolveExpiredDispute(bytes32 paymentId) external {
        Payment storage p = _payments[paymentId];
        if (p.status != Status.Disputed) revert EscrowWrongStatus(paymentId, p.status);
        if (block.timestamp <= p.disputeDeadline) revert EscrowDisputeOpen(paymentId, p.disputeDeadline);
        uint96 amount = p.amount;
        p.status = Status.Refunded;
        _escrowed -= amount;
        emit DisputeResolved(paymentId, 0, amount, true);
        _msc.safeTransfer(p.payer, amount);
    }

    // ================================================================ guarantee fund

    /// @inheritdoc IMerchantEscrow
    function coverRefund(bytes32 paymentId, uint96 amount) external onlyRole(OPERATOR_ROLE) {
        Payment storage p = _payments[paymentId];
        if (p.status != Status.Released) revert EscrowWrongStatus(paymentId, p.status);
        uint256 coverable = p.amount - p.covered;
        if (amount == 0 || amount > coverable) revert EscrowAmountInvalid(amount, coverable);
        uint256 fund = _guaranteeFund;
        if (amount > fund) revert EscrowAmountInvalid(amount, fund);
        p.covered += amount;
        _guaranteeFund = uint128(fund - amount);
        address payer = p.payer;
        emit GuaranteeRefundPaid(paymentId, p.merchant, payer, amount);
        emit GuaranteeFundChanged(msg.sender, -int256(uint256(amount)), fund - amount);
        _msc.safeTransfer(payer, amount);
    }

    /// @inheritdoc IMerchantEscrow
    function fundGuarantee(uint256 amount) external onlyRole(OPERATOR_ROLE) {
        if (amount == 0 || amount > type(uint96).max) revert EscrowAmountInvalid(amount, type(uint96).max);
        uint256 fund = _guaranteeFund + amount;
        _guaranteeFund = uint128(fund);
        emit GuaranteeFundChanged(msg.sender, int256(amount), fund);
        _msc.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IMerchantEscrow
    function withdrawGuarantee(uint256 amount, address to) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (to == address(0)) revert EscrowZeroAddress();
        uint256 fund = _guaranteeFund;
        if (amount == 0 || amount > fund) revert EscrowAmountInvalid(amount, fund);
        _guaranteeFund = uint128(fund - amount);
        emit GuaranteeFundChanged(msg.sender, -int256(amount), fund - amount);
        _msc.safeTransfer(to, amount);
    }

    // ================================================================ operator

    /// @notice Sets how long the arbiter has to decide a new dispute (1 hour to 90 days).
    function setDisputeWindow(uint40 window) external onlyRole(OPERATOR_ROLE) {
        if (window < 1 hours || window > 90 days) revert EscrowDisputeWindowInvalid(window, 1 hours, 90 days);
        _disputeWindow = window;
        emit DisputeWindowSet(window);
    }

    /// @notice Stops deposits and releases.
    function pause() external onlyRole(OPERATOR_ROLE) {
        _pause();
    }

    /// @notice Resumes deposits and releases.
    function unpause() external onlyRole(OPERATOR_ROLE) {
        _unpause();
    }

    // ================================================================ views

    /// @inheritdoc IMerchantEscrow
    function getPayment(bytes32 paymentId) external view returns (Payment memory) {
        return _payments[paymentId];
    }

    /// @inheritdoc IMerchantEscrow
    function totals() external view returns (uint256 escrowed, uint256 guaranteeFund) {
        return (_escrowed, _guaranteeFund);
    }

    /// @notice How long the arbiter has to decide a new dispute.
    function disputeWindow() external view returns (uint40) {
        return _disputeWindow;
    }

    /// @notice The escrowed token.
    function token() external view returns (IERC20) {
        return _msc;
    }

    /// @notice The EIP-712 domain separator refund authorizations are signed under.
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ================================================================ internals

    function _record(bytes32 paymentId, address merchant, address payer, uint96 amount, uint40 holdSeconds) private {
        if (merchant == address(0) || payer == address(0)) revert EscrowZeroAddress();
        // MSC can never pay the token or this escrow: a payment to either would be stuck (or, to
        // the escrow itself, leave the books short). Frozen accounts are not refused here: a freeze
        // may lift, and refusing would make a whole depositBatch revert for one merchant.
        if (merchant == address(_msc) || merchant == address(this)) revert EscrowPartyUnpayable(merchant);
        if (payer == address(_msc) || payer == address(this)) revert EscrowPartyUnpayable(payer);
        if (amount == 0) revert EscrowAmountInvalid(0, type(uint96).max);
        if (holdSeconds > MAX_HOLD) revert EscrowHoldTooLong(holdSeconds, MAX_HOLD);
        Payment storage p = _payments[paymentId];
        if (p.status != Status.None) revert EscrowPaymentExists(paymentId);
        uint40 releaseAfter = uint40(block.timestamp) + holdSeconds;
        p.merchant = merchant;
        p.amount = amount;
        p.payer = payer;
        p.releaseAfter = releaseAfter;
        p.status = Status.Held;
        emit Deposited(paymentId, merchant, payer, amount, releaseAfter);
    }

    /// @dev The payment `paymentId` if a refund may take from it (held or disputed).
    function _refundable(bytes32 paymentId) private view returns (Payment storage p) {
        p = _payments[paymentId];
        Status status = p.status;
        if (status != Status.Held && status != Status.Disputed) revert EscrowWrongStatus(paymentId, status);
    }

    /// @dev Pays `amount` of `p`'s remaining escrow back to its payer; the caller checked who asks.
    function _refund(bytes32 paymentId, Payment storage p, uint96 amount) private {
        uint96 available = p.amount;
        if (amount == 0 || amount > available) revert EscrowAmountInvalid(amount, available);
        uint96 remaining = available - amount;
        p.amount = remaining; // what was refunded is in the Refunded events, not stored again
        if (remaining == 0) p.status = Status.Refunded;
        _escrowed -= amount;
        address payer = p.payer;
        emit Refunded(paymentId, payer, amount, remaining);
        _msc.safeTransfer(payer, amount);
    }

    function _release(bytes32 paymentId, Payment storage p, uint256 amount, bool byPayer) private {
        p.status = Status.Released;
        address merchant = p.merchant;
        emit Released(paymentId, merchant, amount, byPayer);
        _msc.safeTransfer(merchant, amount);
    }
}
