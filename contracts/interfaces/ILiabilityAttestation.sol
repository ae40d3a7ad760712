// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title Monthly proof-of-liabilities roots
/// @notice Each month (period YYYYMM) the issuer publishes the root of a Merkle-sum tree over what
/// it owes merchants off-chain (Rupiah credited but not yet minted, payouts not yet paid, refunds
/// owed to their customers), the tree's total and the block the figures are as of. A merchant
/// verifies its leaf against the root (audit/liabilities, docs/verify_liabilities.py); anyone
/// checks that MSC's attested reserves at that block cover totalSupply plus the total.
///
/// Invariants (tests/contracts/test_liability_attestation.py):
/// - a period is published at most once and never changed;
/// - periods are strictly increasing, so the latest period is the greatest one published;
/// - only ATTESTER_ROLE publishes.
interface ILiabilityAttestation {
    /// @notice One published period: the tree's root, its total (sen), the block it is as of and
    /// when it was published (the two last share one storage word).
    struct Attestation {
        bytes32 root;
        uint256 total;
        uint64 blockNumber;
        uint64 publishedAt;
    }

    // ---------------------------------------------------------------- errors

    /// @notice `period` is not a month written YYYYMM (month 01..12).
    error LiabilityPeriodInvalid(uint64 period);
    /// @notice `period` is not after the latest published period `latest` (no overwrite, no backfill).
    error LiabilityPeriodNotAfterLatest(uint64 period, uint64 latest);
    /// @notice The figures are as of block `blockNumber`, after the publishing block `current`.
    error LiabilityBlockInFuture(uint256 blockNumber, uint256 current);
    /// @notice The root must not be zero.
    error LiabilityRootZero();
    /// @notice Nothing was published for `period`.
    error LiabilityPeriodUnknown(uint64 period);

    // ---------------------------------------------------------------- events

    /// @notice `attester` published `period`'s Merkle-sum `root` over `total` sen as of `blockNumber`.
    event LiabilitiesAttested(
        uint64 indexed period, bytes32 root, uint256 total, uint256 blockNumber, address indexed attester
    );

    // ---------------------------------------------------------------- functions

    /// @notice Publishes `period`'s root and total, as of `blockNumber` (at most the current block).
    /// @dev ATTESTER_ROLE only; `period` must be a valid YYYYMM greater than every published one.
    function publish(uint64 period, bytes32 root, uint256 total, uint256 blockNumber) external;

    /// @notice What was published for `period`; reverts with LiabilityPeriodUnknown if nothing was.
    function attestation(uint64 period) external view returns (Attestation memory);

    /// @notice The latest published period (0 before the first).
    function latestPeriod() external view returns (uint64);
}
