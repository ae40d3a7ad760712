// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {ILockStaking} from "./interfaces/ILockStaking.sol";
import {SafePermit} from "./libraries/SafePermit.sol";
import {Payee} from "./libraries/Payee.sol";

/// @title LockStaking — see {ILockStaking}
/// @dev Accounting, and the pitfalls of the anchors' audits it answers:
/// - Reward per weighted unit (`_rewardPerWeight`) grows by emitted / totalWeighted, scaled by
///   1e27: with a 2-decimal token a 1e18 scale would lose up to a sen per 1e18 weighted units on
///   every update; 1e27 keeps the loss far below a sen per payment.
/// - Staking token == reward token: reward funds are only what fundRewards pulled in
///   (`_rewardsFunded`), never balanceOf, so principal can never be scheduled as reward. Every
///   scheduled emission is tracked in `_committedScaled`, and fundRewards checks it against the
///   funded total net of everything already scheduled (paid or still unclaimed). By construction
///   funded x 1e27 == committed + unallocated, so the check is a second line of defence.
/// - Rewards for time when nothing is locked, and the remainder of rate rounding, go to
///   `_unallocatedScaled` and are streamed again with the next funded period: nothing vanishes.
/// - No loop over a holder's locks exists: each lock is addressed by id, so its cost is O(1)
///   however many locks a holder keeps; listing a holder's locks is the indexer's job.
/// - An ended lock keeps its weight until withdrawn; anyone may `kick` it to stop it earning, so an
///   abandoned lock cannot dilute live ones. The kick transfers nothing: what the lock earned up to
///   the kick is credited to it (`_kickCredit`) and paid with its next claim or withdrawal, so a
///   kick succeeds whoever the owner is (a frozen owner, which MSC cannot pay, included).
/// - No holder's action depends on a third party being payable: an early-exit penalty the
///   recipient cannot take (frozen after it was set) accrues here (`_penaltiesAccrued`) and is
///   collected to the recipient later (`collectPenalties`).
/// - Reward that found nothing locked (`_unallocatedScaled`) is owed to no lock: the operator may
///   re-stream it (fundRewards) or sweep it out (`sweepUnallocated`), which can never reach what a
///   lock has earned or is scheduled to earn (both sit in `_committedScaled`).
/// Balance identity: balanceOf(this) == totalPrincipal + funded - paid - swept + penaltiesAccrued.
contract LockStaking is ILockStaking, AccessControl, Pausable {
    using SafeERC20 for IERC20;

    /// @notice May configure tiers, fund rewards and set the penalty recipient.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    /// @notice May pause and unpause new locks.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    uint256 private constant PRECISION = 1e27;
    uint256 private constant BPS = 10_000;
    /// @dev Lifetime reward funding cap (Rp 700 trillion), so every quantity fits its packed field.
    uint256 private constant MAX_REWARD_FUNDS = 7e16;
    uint256 private constant MAX_DURATION = 5 * 365 days;

    IERC20 private immutable _msc;

    mapping(uint8 tier => Tier) private _tiers;
    mapping(uint256 lockId => Lock) private _locks;

    // Hot state, packed so that an action reads three words and writes two.
    uint160 private _rewardRate; // scaled by PRECISION, per second
    uint40 private _periodFinish;
    uint160 private _rewardPerWeight; // scaled by PRECISION
    uint40 private _lastUpdate;
    uint56 private _rewardsPaid; // <= MAX_REWARD_FUNDS < 2^56
    uint128 private _totalWeighted;
    uint96 private _totalPrincipal;
    uint32 private _lockCount;

    // Cold state, written when funding or when nothing is locked.
    uint256 private _rewardsFunded;
    uint256 private _committedScaled;
    uint256 private _unallocatedScaled;
    address private _penaltyRecipient;
    uint96 private _penaltiesAccrued; // packed with the recipient, read with it on every exit
    uint256 private _rewardsSwept;
    mapping(uint256 lockId => uint256) private _kickCredit;

    constructor(IERC20 msc, address admin, address operator, address pauser, address penaltyRecipient) {
        if (
            address(msc) == address(0) || admin == address(0) || operator == address(0) || pauser == address(0)
                || penaltyRecipient == address(0)
        ) revert LockZeroAddress();
        _msc = msc;
        if (!Payee.isPayable(msc, penaltyRecipient, address(this))) revert LockRecipientUnpayable(penaltyRecipient);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(OPERATOR_ROLE, operator);
        _grantRole(PAUSER_ROLE, pauser);
        _penaltyRecipient = penaltyRecipient;
        emit PenaltyRecipientSet(penaltyRecipient);
    }

    // ================================================================ holders

    /// @inheritdoc ILockStaking
    function lock(uint256 amount, uint8 tier) external returns (uint256) {
        return _lock(amount, tier);
    }

    /// @inheritdoc ILockStaking
    function lockWithPermit(uint256 amount, uint8 tier, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        returns (uint256)
    {
        SafePermit.permitOrAllowance(IERC20Permit(address(_msc)), msg.sender, amount, deadline, v, r, s);
        return _lock(amount, tier);
    }

    /// @inheritdoc ILockStaking
    function claim(uint256 lockId) external returns (uint256 reward) {
        Lock storage l = _ownedLock(lockId);
        reward = _settle(lockId, l, _accrue());
        if (reward > 0) _msc.safeTransfer(msg.sender, reward);
    }

    /// @inheritdoc ILockStaking
    function withdraw(uint256 lockId) external returns (uint256 principal, uint256 reward) {
        Lock storage l = _ownedLock(lockId);
        if (block.timestamp < l.end) revert LockNotEnded(lockId, l.end);
        reward = _settle(lockId, l, _accrue());
        principal = l.amount;
        _close(lockId, l);
        emit Withdrawn(lockId, msg.sender, principal);
        _msc.safeTransfer(msg.sender, principal + reward);
    }

    /// @inheritdoc ILockStaking
    function exitEarly(uint256 lockId) external returns (uint256 returned, uint256 penalty, uint256 reward) {
        Lock storage l = _ownedLock(lockId);
        if (block.timestamp >= l.end) revert LockAlreadyEnded(lockId, l.end);
        reward = _settle(lockId, l, _accrue());
        uint256 principal = l.amount;
        penalty = principal * l.penaltyBps / BPS; // rounded down, in the holder's favour
        returned = principal - penalty;
        _close(lockId, l);
        emit ExitedEarly(lockId, msg.sender, returned, penalty);
        _msc.safeTransfer(msg.sender, returned + reward);
        if (penalty > 0) {
            address recipient = _penaltyRecipient;
            // Tried, not required: a recipient frozen after it was set must not stop every early
            // exit. The try costs what safeTransfer cost; only the failure path writes storage.
            if (!_msc.trySafeTransfer(recipient, penalty)) {
                _penaltiesAccrued += uint96(penalty); // penalty <= principal < 2^80
                emit PenaltyAccrued(lockId, recipient, penalty);
            }
        }
    }

    /// @inheritdoc ILockStaking
    function kick(uint256 lockId) external returns (uint256 credited) {
        Lock storage l = _locks[lockId];
        address owner = l.owner;
        if (owner == address(0) || l.weightBps == 0) revert LockNotOpen(lockId);
        if (block.timestamp < l.end) revert LockNotEnded(lockId, l.end);
        uint256 rpw = _accrue();
        credited = _earned(l, rpw);
        l.rewardPerWeightPaid = uint160(rpw);
        _totalWeighted -= uint128(uint256(l.amount) * l.weightBps);
        l.weightBps = 0;
        // A kicked lock earns nothing more, so its credit is written once and only read back by
        // _settle of a lock with weight 0: live locks' claims and withdrawals never read it.
        if (credited > 0) _kickCredit[lockId] = credited;
        emit LockKicked(lockId, owner, credited);
    }

    /// @inheritdoc ILockStaking
    function collectPenalties() external returns (uint256 amount) {
        amount = _penaltiesAccrued;
        if (amount == 0) revert LockNothingToCollect();
        address recipient = _penaltyRecipient;
        _penaltiesAccrued = 0;
        emit PenaltiesCollected(recipient, amount);
        _msc.safeTransfer(recipient, amount);
    }

    // ================================================================ operator

    /// @inheritdoc ILockStaking
    function setTier(uint8 tier, uint40 duration, uint16 weightBps, uint16 penaltyBps, bool active)
        external
        onlyRole(OPERATOR_ROLE)
    {
        if (duration == 0 || duration > MAX_DURATION || weightBps == 0 || penaltyBps > BPS) {
            revert LockTierInvalid(duration, weightBps, penaltyBps);
        }
        _tiers[tier] = Tier({duration: duration, weightBps: weightBps, penaltyBps: penaltyBps, active: active});
        emit TierConfigured(tier, duration, weightBps, penaltyBps, active);
    }

    /// @inheritdoc ILockStaking
    function fundRewards(uint256 amount, uint256 duration) external onlyRole(OPERATOR_ROLE) {
        if (amount == 0 || duration == 0 || duration > MAX_DURATION) revert LockRewardPeriodInvalid(amount, duration);
        uint256 funded = _rewardsFunded + amount;
        if (funded > MAX_REWARD_FUNDS) revert LockAmountInvalid(amount, MAX_REWARD_FUNDS - _rewardsFunded);
        _accrue();
        uint256 finish = _periodFinish;
        uint256 unemitted = block.timestamp < finish ? (finish - block.timestamp) * _rewardRate : 0;
        uint256 pool = amount * PRECISION + unemitted + _unallocatedScaled;
        uint256 rate = pool / duration;
        uint256 scheduled = rate * duration;
        uint256 committed = _committedScaled - unemitted + scheduled;
        uint256 available = (funded - _rewardsSwept) * PRECISION; // swept reward left the contract
        if (committed > available) revert LockRewardsUnderfunded(committed, available);
        _committedScaled = committed;
        _unallocatedScaled = pool - scheduled; // the rate's rounding remainder waits for the next period
        _rewardsFunded = funded;
        _rewardRate = uint160(rate);
        _periodFinish = uint40(block.timestamp + duration);
        _lastUpdate = uint40(block.timestamp);
        emit RewardsFunded(msg.sender, amount, rate, uint40(block.timestamp + duration));
        _msc.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc ILockStaking
    function setPenaltyRecipient(address recipient) external onlyRole(OPERATOR_ROLE) {
        if (recipient == address(0)) revert LockZeroAddress();
        if (!Payee.isPayable(_msc, recipient, address(this))) revert LockRecipientUnpayable(recipient);
        _penaltyRecipient = recipient;
        emit PenaltyRecipientSet(recipient);
    }

    /// @inheritdoc ILockStaking
    function sweepUnallocated(address to) external onlyRole(OPERATOR_ROLE) returns (uint256 amount) {
        if (to == address(0)) revert LockZeroAddress();
        _accrue(); // moves what was emitted while nothing was locked into _unallocatedScaled
        uint256 unallocated = _unallocatedScaled;
        if (unallocated < PRECISION) revert LockNothingToCollect();
        amount = unallocated / PRECISION;
        // Only whole sen leave; the sub-sen rest stays unallocated for the next period.
        _unallocatedScaled = unallocated - amount * PRECISION;
        _rewardsSwept += amount;
        emit UnallocatedRewardsSwept(to, amount);
        _msc.safeTransfer(to, amount);
    }

    /// @inheritdoc ILockStaking
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @inheritdoc ILockStaking
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    // ================================================================ views

    /// @inheritdoc ILockStaking
    function getLock(uint256 lockId) external view returns (Lock memory) {
        return _locks[lockId];
    }

    /// @inheritdoc ILockStaking
    function getTier(uint8 tier) external view returns (Tier memory) {
        return _tiers[tier];
    }

    /// @inheritdoc ILockStaking
    function earned(uint256 lockId) external view returns (uint256) {
        Lock storage l = _locks[lockId];
        if (l.owner == address(0)) return 0;
        if (l.weightBps == 0) return _kickCredit[lockId];
        (uint256 rpw,) = _pendingRewardPerWeight();
        return _earned(l, rpw);
    }

    /// @inheritdoc ILockStaking
    function totalPrincipal() external view returns (uint256) {
        return _totalPrincipal;
    }

    /// @inheritdoc ILockStaking
    function totalWeighted() external view returns (uint256) {
        return _totalWeighted;
    }

    /// @inheritdoc ILockStaking
    function rewardTotals() external view returns (uint256 funded, uint256 paid) {
        return (_rewardsFunded, _rewardsPaid);
    }

    /// @inheritdoc ILockStaking
    function rewardPeriod() external view returns (uint256 rate, uint40 periodFinish, uint40 lastUpdate) {
        return (_rewardRate, _periodFinish, _lastUpdate);
    }

    /// @notice Where early-exit penalties go.
    function penaltyRecipient() external view returns (address) {
        return _penaltyRecipient;
    }

    /// @inheritdoc ILockStaking
    function penaltiesAccrued() external view returns (uint256) {
        return _penaltiesAccrued;
    }

    /// @inheritdoc ILockStaking
    function rewardsSwept() external view returns (uint256) {
        return _rewardsSwept;
    }

    /// @inheritdoc ILockStaking
    function unallocatedRewards() external view returns (uint256) {
        (, uint256 pending) = _pendingRewardPerWeight();
        return (_unallocatedScaled + pending) / PRECISION;
    }

    /// @notice The staked and rewarded token.
    function token() external view returns (IERC20) {
        return _msc;
    }

    // ================================================================ internals

    function _lock(uint256 amount, uint8 tierId) private whenNotPaused returns (uint256 lockId) {
        Tier memory tier = _tiers[tierId];
        if (!tier.active) revert LockTierInactive(tierId);
        if (amount == 0 || amount > type(uint80).max) revert LockAmountInvalid(amount, type(uint80).max);
        uint256 rpw = _accrue();
        lockId = ++_lockCount;
        _totalWeighted += uint128(amount * tier.weightBps);
        _totalPrincipal += uint96(amount);
        uint40 end = uint40(block.timestamp) + tier.duration;
        _locks[lockId] = Lock({
            owner: msg.sender,
            amount: uint80(amount),
            penaltyBps: tier.penaltyBps,
            rewardPerWeightPaid: uint160(rpw),
            start: uint40(block.timestamp),
            end: end,
            weightBps: tier.weightBps
        });
        emit Locked(lockId, msg.sender, tierId, amount, uint40(block.timestamp), end, tier.weightBps);
        _msc.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @dev The open lock `lockId`, which the caller must own.
    function _ownedLock(uint256 lockId) private view returns (Lock storage l) {
        l = _locks[lockId];
        address owner = l.owner;
        if (owner == address(0)) revert LockNotOpen(lockId);
        if (owner != msg.sender) revert LockNotOwner(lockId, msg.sender);
    }

    /// @dev Brings the reward per weighted unit up to now and returns it.
    function _accrue() private returns (uint256 rpw) {
        uint256 unallocated;
        (rpw, unallocated) = _pendingRewardPerWeight();
        uint256 finish = _periodFinish;
        uint256 applicable = block.timestamp < finish ? block.timestamp : finish;
        if (applicable > _lastUpdate) {
            _rewardPerWeight = uint160(rpw);
            _lastUpdate = uint40(applicable);
            if (unallocated > 0) {
                // Emitted while nothing was locked: no longer owed to anyone, so it leaves the
                // committed total and waits, unallocated, for the next period.
                _unallocatedScaled += unallocated;
                _committedScaled -= unallocated;
            }
        }
    }

    /// @dev The reward per weighted unit as of now, and what was emitted while nothing was locked.
    function _pendingRewardPerWeight() private view returns (uint256 rpw, uint256 unallocated) {
        rpw = _rewardPerWeight;
        uint256 finish = _periodFinish;
        uint256 applicable = block.timestamp < finish ? block.timestamp : finish;
        uint256 last = _lastUpdate;
        if (applicable <= last) return (rpw, 0);
        uint256 emitted = (applicable - last) * _rewardRate;
        uint256 weighted = _totalWeighted;
        if (weighted == 0) return (rpw, emitted);
        // The division's remainder (< weighted scaled units, far below a sen) is not tracked.
        rpw += emitted / weighted;
    }

    function _earned(Lock storage l, uint256 rpw) private view returns (uint256) {
        return uint256(l.amount) * l.weightBps * (rpw - l.rewardPerWeightPaid) / PRECISION;
    }

    /// @dev Records what lock `lockId` earned up to `rpw` as paid; the caller transfers it.
    function _settle(uint256 lockId, Lock storage l, uint256 rpw) private returns (uint256 reward) {
        if (l.weightBps == 0) {
            // Kicked: it earns nothing more; pay what it had earned up to the kick, once.
            reward = _kickCredit[lockId];
            if (reward > 0) delete _kickCredit[lockId];
        } else {
            reward = _earned(l, rpw);
            l.rewardPerWeightPaid = uint160(rpw);
        }
        if (reward > 0) {
            _rewardsPaid += uint56(reward);
            emit RewardPaid(lockId, l.owner, reward);
        }
    }

    /// @dev Removes an open lock from the totals and deletes it, so it cannot be closed twice.
    function _close(uint256 lockId, Lock storage l) private {
        _totalWeighted -= uint128(uint256(l.amount) * l.weightBps);
        _totalPrincipal -= l.amount;
        delete _locks[lockId];
    }
}
