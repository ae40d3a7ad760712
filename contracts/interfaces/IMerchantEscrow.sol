// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title Merchant escrow: customer payments held in MSC until the merchant is paid out
/// @notice The settlement service deposits each payment under a unique payment id (the Pi payment
/// id) with a hold period. It is then released to the merchant after the hold (anyone may trigger
/// it) or earlier when the payer confirms; refunded by the merchant in full or in part (sent by the
/// merchant itself, or relayed by anyone with the merchant's EIP-712 RefundAuthorization, so a
/// merchant without gas or whose key the platform holds can refund too); or, when
/// the payer disputes it before release, decided by an arbiter who splits the amount. A dispute
/// the arbiter does not decide by its deadline resolves by default as a full refund to the payer
/// (the consumer-protection default of card chargebacks). An operator-funded guarantee fund pays
/// a refund the merchant cannot pay after release, and records the merchant's debt.
/// A payment whose merchant cannot receive MSC (frozen) is skipped by releaseBatch, with a
/// ReleaseSkipped event, and stays Held; the merchant and payer may not be the token or the escrow.
///
/// Invariants (tests/contracts/test_escrow_properties.py):
/// - the contract's MSC balance == sum of open escrows (held or disputed) + the guarantee fund;
/// - every payment ends exactly once, in one of Released, Refunded or Split;
/// - a payment id is deposited at most once, ever;
/// - the arbiter can move only the disputed payment's own remaining amount (no pooled funds: the
///   bug Circle's refund protocol discloses, an arbiter draining other payments, cannot happen).
interface IMerchantEscrow {
    /// @notice Where a payment is in its life.
    enum Status {
        None, // never deposited
        Held, // in escrow, releasable after the hold
        Disputed, // the payer disputed it; waiting for the arbiter
        Released, // paid to the merchant (final)
        Refunded, // paid back to the payer (final)
        Split // divided by the arbiter (final)
    }

    /// @notice A payment as stored.
    struct Payment {
        address merchant;
        uint96 amount; // still in escrow while Held or Disputed; what was released once Released
        address payer;
        uint40 releaseAfter;
        uint40 disputeDeadline;
        Status status;
        uint96 covered; // paid from the guarantee fund after release
    }

    /// @notice One deposit of a batch.
    struct DepositRequest {
        bytes32 paymentId;
        address merchant;
        address payer;
        uint96 amount;
        uint40 holdSeconds;
    }

    // ---------------------------------------------------------------- errors

    /// @notice Payment `paymentId` was deposited before; an id is never reused.
    error EscrowPaymentExists(bytes32 paymentId);
    /// @notice Payment `paymentId` is `status`, which this action does not accept.
    error EscrowWrongStatus(bytes32 paymentId, Status status);
    /// @notice Payment `paymentId` is held until `releaseAfter`; only its payer may release it before.
    error EscrowStillHeld(bytes32 paymentId, uint40 releaseAfter);
    /// @notice `caller` is not the `role` ("merchant" or "payer") of payment `paymentId`.
    error EscrowNotParty(bytes32 paymentId, address caller, string role);
    /// @notice `amount` is zero or above the `available` amount.
    error EscrowAmountInvalid(uint256 amount, uint256 available);
    /// @notice The dispute on `paymentId` can be decided by default only after `deadline`.
    error EscrowDisputeOpen(bytes32 paymentId, uint40 deadline);
    /// @notice The hold period `holdSeconds` is above the maximum `max`.
    error EscrowHoldTooLong(uint256 holdSeconds, uint256 max);
    /// @notice A dispute window of `window` seconds is outside [`min`, `max`].
    error EscrowDisputeWindowInvalid(uint40 window, uint40 min, uint40 max);
    /// @notice The zero address is not allowed here.
    error EscrowZeroAddress();
    /// @notice A batch must hold between one and `max` items.
    error EscrowBatchSize(uint256 size, uint256 max);
    /// @notice MSC can never pay `account` (the token or the escrow itself); not a merchant or payer.
    error EscrowPartyUnpayable(address account);
    /// @notice The dispute on `paymentId` passed its `deadline`: only its default (full refund) applies.
    error EscrowDisputeExpired(bytes32 paymentId, uint40 deadline);
    /// @notice The release of `paymentId` in a batch ran out of gas; send the batch with more gas.
    error EscrowReleaseOutOfGas(bytes32 paymentId);
    /// @notice The refund authorization was valid only before `validBefore`.
    error EscrowAuthorizationExpired(uint256 validBefore);
    /// @notice `merchant` already used its refund authorization `nonce` (each is single-use).
    error EscrowAuthorizationUsed(address merchant, bytes32 nonce);
    /// @notice The refund authorization is not signed by the payment's `merchant` (or not for
    /// this payment, amount, nonce and deadline).
    error EscrowInvalidSignature(address merchant);

    // ---------------------------------------------------------------- events

    /// @notice `amount` for `merchant` from `payer` is held until `releaseAfter`.
    event Deposited(
        bytes32 indexed paymentId, address indexed merchant, address indexed payer, uint256 amount, uint40 releaseAfter
    );
    /// @notice `amount` was released to `merchant`; `byPayer` when the payer confirmed early.
    event Released(bytes32 indexed paymentId, address indexed merchant, uint256 amount, bool byPayer);
    /// @notice releaseBatch could not pay `amount` to `merchant` (e.g. frozen); the payment stays Held.
    event ReleaseSkipped(bytes32 indexed paymentId, address indexed merchant, uint256 amount);
    /// @notice The merchant refunded `amount` to the payer; `remaining` is still in escrow.
    event Refunded(bytes32 indexed paymentId, address indexed payer, uint256 amount, uint256 remaining);
    /// @notice The payer disputed the payment; the arbiter has until `deadline`.
    event Disputed(bytes32 indexed paymentId, address indexed payer, uint40 deadline);
    /// @notice The dispute was decided: `toMerchant` to the merchant, `toPayer` to the payer.
    /// `byDefault` when it was decided by the deadline's default rather than by the arbiter.
    event DisputeResolved(bytes32 indexed paymentId, uint256 toMerchant, uint256 toPayer, bool byDefault);
    /// @notice The guarantee fund paid `amount` of a refund that `merchant` owes on `paymentId`.
    event GuaranteeRefundPaid(bytes32 indexed paymentId, address indexed merchant, address indexed payer, uint256 amount);
    /// @notice The guarantee fund changed by `delta` (funded > 0, withdrawn < 0) to `balance`.
    event GuaranteeFundChanged(address indexed by, int256 delta, uint256 balance);
    /// @notice The arbiter now has `window` seconds to decide a new dispute.
    event DisputeWindowSet(uint40 window);
    /// @notice `merchant`'s refund authorization `nonce` was used (its Refunded event follows).
    event RefundAuthorizationUsed(address indexed merchant, bytes32 indexed nonce);

    // ---------------------------------------------------------------- functions

    /// @notice Holds `amount` MSC, pulled from the caller, for `merchant` under `paymentId`.
    function deposit(bytes32 paymentId, address merchant, address payer, uint96 amount, uint40 holdSeconds) external;

    /// @notice Deposits many payments, pulling their total from the caller in one transfer.
    function depositBatch(DepositRequest[] calldata deposits) external;

    /// @notice Pays a held payment to its merchant: after the hold by anyone, before it by the payer.
    function release(bytes32 paymentId) external;

    /// @notice Releases every given payment that is releasable now and skips the rest (a payment
    /// disputed meanwhile, or one whose merchant cannot receive, which emits ReleaseSkipped, must
    /// not make a keeper's whole batch fail). Returns how many it released.
    function releaseBatch(bytes32[] calldata paymentIds) external returns (uint256 released);

    /// @notice The merchant refunds `amount` of a held or disputed payment to its payer.
    function refund(bytes32 paymentId, uint96 amount) external;

    /// @notice Anyone relays the merchant's signed refund of `amount` of a held or disputed
    /// payment to its payer: the same checks, effects and Refunded event as {refund}, with the
    /// merchant's EIP-712 signature (domain "MerchantEscrow", version "1", this chain and this
    /// escrow) over `RefundAuthorization(bytes32 paymentId,uint96 amount,bytes32 nonce,uint256 validBefore)`
    /// in place of the merchant as sender. `signature` is `r || s || v` of a key, or whatever the
    /// merchant's ERC-1271 contract wallet accepts. Usable until `validBefore` (exclusive), once:
    /// `nonce` is single-use per merchant.
    function refundWithAuthorization(
        bytes32 paymentId,
        uint96 amount,
        bytes32 nonce,
        uint256 validBefore,
        bytes calldata signature
    ) external;

    /// @notice Whether `merchant` has used its refund authorization `nonce`.
    function authorizationState(address merchant, bytes32 nonce) external view returns (bool);

    /// @notice The payer disputes a held payment, stopping its release.
    function dispute(bytes32 paymentId) external;

    /// @notice The arbiter decides a dispute, up to its deadline: `toMerchant` to the merchant, the
    /// rest to the payer. After the deadline only resolveExpiredDispute applies.
    function resolveDispute(bytes32 paymentId, uint96 toMerchant) external;

    /// @notice After the arbiter's deadline, anyone settles a dispute by its default: full refund.
    function resolveExpiredDispute(bytes32 paymentId) external;

    /// @notice The operator pays `amount` of a released payment back to its payer from the
    /// guarantee fund, when the merchant cannot. At most what was released, minus earlier cover.
    function coverRefund(bytes32 paymentId, uint96 amount) external;

    /// @notice Adds `amount` MSC, pulled from the caller, to the guarantee fund.
    function fundGuarantee(uint256 amount) external;

    /// @notice Takes `amount` out of the guarantee fund to `to`.
    function withdrawGuarantee(uint256 amount, address to) external;

    /// @notice Payment `paymentId`.
    function getPayment(bytes32 paymentId) external view returns (Payment memory);

    /// @notice The sum of open escrows and the guarantee fund.
    function totals() external view returns (uint256 escrowed, uint256 guaranteeFund);
}
