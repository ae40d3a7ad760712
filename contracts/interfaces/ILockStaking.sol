// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title Lock-and-earn: holders lock MSC for a tier and earn MSC rewards
/// @notice A holder locks MSC for one of the tiers the operator configures (say 30, 60 or 90
/// days), each with a reward weight; a holder may keep several locks, each with its own amount,
/// start and end. The operator funds rewards for a period; they stream to open locks in proportion
/// to amount x weight (Synthetix StakingRewards' reward-per-token, weighted, O(1) per action).
/// After a lock ends its holder withdraws principal and rewards. Before it ends, an early exit
/// returns the principal minus the tier's penalty (sent to the operator's penalty recipient) plus
/// the rewards earned so far: rewards are earned by time already locked, the penalty prices the
/// broken commitment.
///
/// Anyone may kick a lock that has ended: it stops earning (its weight leaves the total) and what
/// it earned so far is credited to it, paid with its withdrawal; the kick pays no one, so it works
/// whether or not the owner can receive. An early-exit penalty that its recipient cannot take
/// (frozen) accrues in the contract until collectPenalties; reward that streamed while nothing was
/// locked is owed to no lock and the operator may sweep it.
///
/// Invariants (tests/contracts/test_staking_properties.py):
/// - the contract's MSC balance == total principal of open locks + rewards funded - rewards paid
///   - rewards swept + penalties accrued;
/// - what open locks have earned (kick credits included) <= rewards funded - paid - swept;
/// - total principal == sum of the open locks' amounts;
/// - rewards paid <= rewards funded (principal is never paid out as reward: the staking token is
///   the reward token, so reward funds are counted only from fundRewards, never from balanceOf);
/// - a lock is withdrawn or exited at most once.
/// Rounding: rewards are computed with 1e27 precision and rounded down per lock when paid, so each
/// payment leaves less than one sen behind; time in a period with nothing locked is not lost but
/// carried into the next funded period.
interface ILockStaking {
    /// @notice A lock tier: how long, how much reward weight, what early-exit penalty.
    struct Tier {
        uint40 duration; // seconds
        uint16 weightBps; // reward weight, 10_000 = 1x
        uint16 penaltyBps; // early-exit penalty on principal, 10_000 = 100%
        bool active; // new locks may use it
    }

    /// @notice A lock as stored: owner, principal and the tier terms it was made under.
    struct Lock {
        address owner;
        uint80 amount;
        uint16 penaltyBps;
        uint160 rewardPerWeightPaid;
        uint40 start;
        uint40 end;
        uint16 weightBps;
    }

    // ---------------------------------------------------------------- errors

    /// @notice Tier `tier` does not exist or takes no new locks.
    error LockTierInactive(uint8 tier);
    /// @notice A tier needs a duration above zero, a weight above zero and a penalty <= 100%.
    error LockTierInvalid(uint40 duration, uint16 weightBps, uint16 penaltyBps);
    /// @notice An amount must be above zero and at most `max`.
    error LockAmountInvalid(uint256 amount, uint256 max);
    /// @notice Lock `lockId` does not exist or was already closed.
    error LockNotOpen(uint256 lockId);
    /// @notice `caller` does not own lock `lockId`.
    error LockNotOwner(uint256 lockId, address caller);
    /// @notice Lock `lockId` ends at `end`; withdraw needs it ended (use exitEarly before).
    error LockNotEnded(uint256 lockId, uint40 end);
    /// @notice Lock `lockId` ended at `end`; exit early is for locks still running (use withdraw).
    error LockAlreadyEnded(uint256 lockId, uint40 end);
    /// @notice A reward period needs a duration above zero and an amount above zero.
    error LockRewardPeriodInvalid(uint256 amount, uint256 duration);
    /// @notice Scheduling `scheduled` (scaled) would exceed the funded rewards `funded` (scaled).
    error LockRewardsUnderfunded(uint256 scheduled, uint256 funded);
    /// @notice The zero address is not allowed here.
    error LockZeroAddress();
    /// @notice MSC cannot pay `recipient` (the token, this contract, or a frozen account).
    error LockRecipientUnpayable(address recipient);
    /// @notice There is nothing to collect or sweep.
    error LockNothingToCollect();

    // ---------------------------------------------------------------- events

    /// @notice `owner` locked `amount` as lock `lockId` from `start` to `end` with weight `weightBps`.
    event Locked(
        uint256 indexed lockId, address indexed owner, uint8 indexed tier, uint256 amount, uint40 start, uint40 end, uint16 weightBps
    );
    /// @notice `owner` was paid `reward` earned by lock `lockId`.
    event RewardPaid(uint256 indexed lockId, address indexed owner, uint256 reward);
    /// @notice Lock `lockId` ended and `owner` withdrew its `principal`.
    event Withdrawn(uint256 indexed lockId, address indexed owner, uint256 principal);
    /// @notice `owner` left lock `lockId` early: `returned` principal back, `penalty` to the recipient.
    event ExitedEarly(uint256 indexed lockId, address indexed owner, uint256 returned, uint256 penalty);
    /// @notice `amount` of new rewards stream at `rate` (scaled by 1e27 per second) until `periodFinish`.
    event RewardsFunded(address indexed funder, uint256 amount, uint256 rate, uint40 periodFinish);
    /// @notice Tier `tier` was set.
    event TierConfigured(uint8 indexed tier, uint40 duration, uint16 weightBps, uint16 penaltyBps, bool active);
    /// @notice Early-exit penalties now go to `recipient`.
    event PenaltyRecipientSet(address indexed recipient);
    /// @notice Ended lock `lockId` of `owner` was kicked: it stopped earning, and `credited` (what it
    /// earned up to now) is kept for it and paid, as a RewardPaid, when it is withdrawn.
    event LockKicked(uint256 indexed lockId, address indexed owner, uint256 credited);
    /// @notice `recipient` could not take the `penalty` of lock `lockId`'s early exit; it accrued here.
    event PenaltyAccrued(uint256 indexed lockId, address indexed recipient, uint256 penalty);
    /// @notice Accrued penalties of `amount` were paid to `recipient`.
    event PenaltiesCollected(address indexed recipient, uint256 amount);
    /// @notice `amount` of reward that streamed while nothing was locked was swept out to `to`.
    event UnallocatedRewardsSwept(address indexed to, uint256 amount);

    // ---------------------------------------------------------------- holders

    /// @notice Locks `amount` MSC of the caller in tier `tier`; returns the new lock's id.
    function lock(uint256 amount, uint8 tier) external returns (uint256 lockId);

    /// @notice lock() with an EIP-2612 permit, in one transaction. A front-run permit does not break it.
    function lockWithPermit(uint256 amount, uint8 tier, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        returns (uint256 lockId);

    /// @notice Pays the rewards lock `lockId` has earned so far to its owner.
    function claim(uint256 lockId) external returns (uint256 reward);

    /// @notice After the lock ends: pays principal and rewards, and closes the lock.
    function withdraw(uint256 lockId) external returns (uint256 principal, uint256 reward);

    /// @notice Before the lock ends: pays principal minus the penalty, and rewards; closes the lock.
    function exitEarly(uint256 lockId) external returns (uint256 returned, uint256 penalty, uint256 reward);

    /// @notice Stops ended lock `lockId` from earning; anyone may call it. Transfers nothing: the
    /// reward earned so far is credited to the lock and paid with its claim or withdrawal.
    function kick(uint256 lockId) external returns (uint256 credited);

    /// @notice Pays the accrued early-exit penalties to the penalty recipient; anyone may call it.
    function collectPenalties() external returns (uint256 amount);

    // ---------------------------------------------------------------- operator

    /// @notice Sets tier `tier`. Existing locks keep the terms they were made under.
    function setTier(uint8 tier, uint40 duration, uint16 weightBps, uint16 penaltyBps, bool active) external;

    /// @notice Pulls `amount` MSC from the caller and streams it, with anything left of the current
    /// period and any reward that found nothing locked, over `duration` seconds from now.
    function fundRewards(uint256 amount, uint256 duration) external;

    /// @notice Where early-exit penalties go; refuses an address MSC cannot pay.
    function setPenaltyRecipient(address recipient) external;

    /// @notice Sends the reward that streamed while nothing was locked (whole sen) to `to`. Never
    /// touches what a lock has earned, was credited or is scheduled to earn.
    function sweepUnallocated(address to) external returns (uint256 amount);

    /// @notice Stops new locks (claims, withdrawals and exits go on).
    function pause() external;

    /// @notice Allows new locks again.
    function unpause() external;

    // ---------------------------------------------------------------- views

    /// @notice Lock `lockId` (owner zero when it does not exist or is closed).
    function getLock(uint256 lockId) external view returns (Lock memory);

    /// @notice Tier `tier`.
    function getTier(uint8 tier) external view returns (Tier memory);

    /// @notice Rewards lock `lockId` would be paid if claimed now (a kicked lock: its credit).
    function earned(uint256 lockId) external view returns (uint256);

    /// @notice Principal of all open locks.
    function totalPrincipal() external view returns (uint256);

    /// @notice Sum of amount x weight over open locks.
    function totalWeighted() external view returns (uint256);

    /// @notice Rewards funded and rewards paid, over the contract's life.
    function rewardTotals() external view returns (uint256 funded, uint256 paid);

    /// @notice Early-exit penalties waiting for collectPenalties.
    function penaltiesAccrued() external view returns (uint256);

    /// @notice Reward swept out by sweepUnallocated, over the contract's life.
    function rewardsSwept() external view returns (uint256);

    /// @notice Reward owed to no lock as of now (whole sen): what sweepUnallocated would send.
    function unallocatedRewards() external view returns (uint256);

    /// @notice The current reward period: rate (scaled by 1e27 per second), end, last update.
    function rewardPeriod() external view returns (uint256 rate, uint40 periodFinish, uint40 lastUpdate);
}
