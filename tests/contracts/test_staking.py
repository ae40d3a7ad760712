"""LockStaking: tiers, locks, reward streaming, claims, withdrawals, early exits, kicks."""

from __future__ import annotations

import brownie
from brownie import ZERO_ADDRESS, LockStaking, chain
from eth_utils import keccak

from tests.contracts.conftest import DAY, TIER_30, TIER_90, USER_FUNDS
from tests.support.brownie_errors import err
from tests.support.profile import block_time
from tests.support.signing import sign_permit

OPERATOR_ROLE = keccak(text="OPERATOR_ROLE")
PAUSER_ROLE = keccak(text="PAUSER_ROLE")
REWARDS = 3_000_000  # Rp 30.000 of rewards


def _advance(seconds: int) -> None:
    chain.sleep(seconds)
    chain.mine()


# --------------------------------------------------------------- tiers and set-up


def test_setTier_storesTermsAndEmits(staking, roles):
    tx = staking.setTier(7, 60 * DAY, 15_000, 250, True, {"from": roles.master_minter})
    assert list(staking.getTier(7)) == [60 * DAY, 15_000, 250, True]
    assert tx.events["TierConfigured"][0]["tier"] == 7


def test_setTier_revertsForInvalidTerms(staking, roles):
    for duration, weight, penalty in ((0, 1, 0), (DAY, 0, 0), (DAY, 1, 10_001), (6 * 365 * DAY, 1, 0)):
        with brownie.reverts(err("LockTierInvalid", duration, weight, penalty)):
            staking.setTier(9, duration, weight, penalty, True, {"from": roles.master_minter})


def test_setTier_revertsForNonOperator(staking, alice):
    with brownie.reverts(err("AccessControlUnauthorizedAccount", alice, OPERATOR_ROLE)):
        staking.setTier(9, DAY, 1, 0, True, {"from": alice})


def test_constructor_revertsForZeroAddress(funded, roles):
    with brownie.reverts(err("LockZeroAddress")):
        LockStaking.deploy(funded, roles.owner, roles.owner, roles.owner, ZERO_ADDRESS, {"from": roles.owner})


def test_setPenaltyRecipient_changesItAndRejectsZero(staking, roles, carol):
    tx = staking.setPenaltyRecipient(carol, {"from": roles.master_minter})
    assert staking.penaltyRecipient() == carol
    assert tx.events["PenaltyRecipientSet"][0]["recipient"] == carol
    with brownie.reverts(err("LockZeroAddress")):
        staking.setPenaltyRecipient(ZERO_ADDRESS, {"from": roles.master_minter})


# --------------------------------------------------------------- lock


def test_lock_takesPrincipalAndRecordsTerms(staking, funded, alice):
    funded.approve(staking, 100_000, {"from": alice})
    tx = staking.lock(100_000, TIER_90, {"from": alice})
    lock_id = tx.return_value
    start = chain[tx.block_number].timestamp
    assert lock_id == 1
    owner, amount, penalty, _paid, lock_start, end, weight = staking.getLock(lock_id)
    assert (owner, amount, penalty, lock_start, end, weight) == (
        alice,
        100_000,
        1_000,
        start,
        start + 90 * DAY,
        20_000,
    )
    assert funded.balanceOf(staking) == 100_000
    assert staking.totalPrincipal() == 100_000
    assert staking.totalWeighted() == 100_000 * 20_000
    event = tx.events["Locked"][0]
    assert (event["lockId"], event["owner"], event["tier"], event["amount"]) == (1, alice, TIER_90, 100_000)


def test_lock_revertsForInactiveTier(staking, roles, funded, alice):
    staking.setTier(TIER_30, 30 * DAY, 10_000, 500, False, {"from": roles.master_minter})
    funded.approve(staking, 1, {"from": alice})
    with brownie.reverts(err("LockTierInactive", TIER_30)):
        staking.lock(1, TIER_30, {"from": alice})
    with brownie.reverts(err("LockTierInactive", 42)):
        staking.lock(1, 42, {"from": alice})


def test_lock_revertsForZeroOrHugeAmount(staking, alice):
    with brownie.reverts(err("LockAmountInvalid", 0, 2**80 - 1)):
        staking.lock(0, TIER_30, {"from": alice})
    with brownie.reverts(err("LockAmountInvalid", 2**80, 2**80 - 1)):
        staking.lock(2**80, TIER_30, {"from": alice})


def test_lock_revertsWithoutAllowance(staking, alice):
    with brownie.reverts(err("ERC20InsufficientAllowance", staking, 0, 5)):
        staking.lock(5, TIER_30, {"from": alice})


def test_lock_revertsWhenPausedButExitsGoOn(staking, funded, roles, alice):
    funded.approve(staking, 10_000, {"from": alice})
    lock_id = staking.lock(5_000, TIER_30, {"from": alice}).return_value
    staking.pause({"from": roles.pauser})
    with brownie.reverts(err("EnforcedPause")):
        staking.lock(5_000, TIER_30, {"from": alice})
    staking.exitEarly(lock_id, {"from": alice})
    assert staking.totalPrincipal() == 0


def test_pause_revertsForNonPauser(staking, alice):
    with brownie.reverts(err("AccessControlUnauthorizedAccount", alice, PAUSER_ROLE)):
        staking.pause({"from": alice})


def test_lockWithPermit_locksInOneTransaction(staking, funded, alice, alice_key):
    deadline = block_time() + 3600
    v, r, s = sign_permit(funded, alice_key, str(staking), 70_000, funded.nonces(alice), deadline)
    lock_id = staking.lockWithPermit(70_000, TIER_30, deadline, v, r, s, {"from": alice}).return_value
    assert staking.getLock(lock_id)[1] == 70_000
    assert funded.allowance(alice, staking) == 0


def test_lockWithPermit_survivesFrontRunPermit(staking, funded, alice, bob, alice_key):
    deadline = block_time() + 3600
    v, r, s = sign_permit(funded, alice_key, str(staking), 70_000, funded.nonces(alice), deadline)
    funded.permit(alice, staking, 70_000, deadline, v, r, s, {"from": bob})  # someone used it first
    lock_id = staking.lockWithPermit(70_000, TIER_30, deadline, v, r, s, {"from": alice}).return_value
    assert staking.getLock(lock_id)[0] == alice


# --------------------------------------------------------------- rewards


def test_fundRewards_schedulesRateAndEmits(staking, roles):
    tx = staking.fundRewards(REWARDS, 30 * DAY, {"from": roles.master_minter})
    rate, finish, last = (int(x) for x in staking.rewardPeriod())
    now = chain[tx.block_number].timestamp
    assert rate == REWARDS * 10**27 // (30 * DAY)
    assert (finish, last) == (now + 30 * DAY, now)
    assert [int(x) for x in staking.rewardTotals()] == [REWARDS, 0]
    assert tx.events["RewardsFunded"][0]["amount"] == REWARDS


def test_fundRewards_revertsForBadPeriod(staking, roles):
    with brownie.reverts(err("LockRewardPeriodInvalid", 0, DAY)):
        staking.fundRewards(0, DAY, {"from": roles.master_minter})
    with brownie.reverts(err("LockRewardPeriodInvalid", 1, 0)):
        staking.fundRewards(1, 0, {"from": roles.master_minter})


def test_fundRewards_revertsForNonOperator(staking, alice):
    with brownie.reverts(err("AccessControlUnauthorizedAccount", alice, OPERATOR_ROLE)):
        staking.fundRewards(1, DAY, {"from": alice})


def test_rewards_soleLockerEarnsTheWholePeriod(staking, funded, roles, alice):
    funded.approve(staking, 100_000, {"from": alice})
    lock_id = staking.lock(100_000, TIER_90, {"from": alice}).return_value
    staking.fundRewards(REWARDS, 30 * DAY, {"from": roles.master_minter})
    _advance(31 * DAY)
    before = funded.balanceOf(alice)
    reward = staking.claim(lock_id, {"from": alice}).return_value
    assert REWARDS - 1 <= reward <= REWARDS  # rounded down: under one sen of dust
    assert funded.balanceOf(alice) == before + reward
    assert [int(x) for x in staking.rewardTotals()] == [REWARDS, reward]
    assert staking.claim(lock_id, {"from": alice}).return_value == 0


def test_rewards_splitByAmountTimesWeight(staking, funded, roles, alice, bob):
    funded.approve(staking, 100_000, {"from": alice})
    funded.approve(staking, 100_000, {"from": bob})
    a = staking.lock(100_000, TIER_30, {"from": alice}).return_value  # weight 1x
    b = staking.lock(100_000, TIER_90, {"from": bob}).return_value  # weight 2x
    staking.fundRewards(REWARDS, 10 * DAY, {"from": roles.master_minter})
    _advance(11 * DAY)
    ra = staking.claim(a, {"from": alice}).return_value
    rb = staking.claim(b, {"from": bob}).return_value
    assert abs(rb - 2 * ra) <= 2
    assert REWARDS - 2 <= ra + rb <= REWARDS


def test_rewards_forTimeWithNothingLockedCarryToNextPeriod(staking, funded, roles, alice):
    staking.fundRewards(REWARDS, 10 * DAY, {"from": roles.master_minter})
    _advance(5 * DAY)  # half the period with nothing locked
    funded.approve(staking, 100_000, {"from": alice})
    lock_id = staking.lock(100_000, TIER_90, {"from": alice}).return_value
    _advance(6 * DAY)
    first = staking.claim(lock_id, {"from": alice}).return_value
    assert abs(first - REWARDS // 2) <= REWARDS // 100  # about half, as timing allows
    staking.fundRewards(1_000, 10 * DAY, {"from": roles.master_minter})
    _advance(11 * DAY)
    second = staking.claim(lock_id, {"from": alice}).return_value
    assert REWARDS + 1_000 - 2 <= first + second <= REWARDS + 1_000  # nothing vanished


def test_fundRewards_rollsLeftoverIntoNewPeriod(staking, funded, roles, alice):
    funded.approve(staking, 100_000, {"from": alice})
    lock_id = staking.lock(100_000, TIER_30, {"from": alice}).return_value
    staking.fundRewards(REWARDS, 10 * DAY, {"from": roles.master_minter})
    _advance(5 * DAY)
    staking.fundRewards(REWARDS, 10 * DAY, {"from": roles.master_minter})
    _advance(11 * DAY)
    total = staking.claim(lock_id, {"from": alice}).return_value
    assert 2 * REWARDS - 2 <= total <= 2 * REWARDS


def test_earned_matchesWhatClaimPays(staking, funded, roles, alice):
    funded.approve(staking, 100_000, {"from": alice})
    lock_id = staking.lock(100_000, TIER_30, {"from": alice}).return_value
    staking.fundRewards(REWARDS, 10 * DAY, {"from": roles.master_minter})
    _advance(12 * DAY)
    assert staking.earned(lock_id) == staking.claim(lock_id, {"from": alice}).return_value
    assert staking.earned(999) == 0


def test_claim_revertsForOthersAndClosedLocks(staking, funded, alice, bob):
    funded.approve(staking, 10, {"from": alice})
    lock_id = staking.lock(10, TIER_30, {"from": alice}).return_value
    with brownie.reverts(err("LockNotOwner", lock_id, bob)):
        staking.claim(lock_id, {"from": bob})
    with brownie.reverts(err("LockNotOpen", 77)):
        staking.claim(77, {"from": alice})


# --------------------------------------------------------------- withdraw, exit, kick


def test_withdraw_afterEndPaysPrincipalAndRewardOnce(staking, funded, roles, alice):
    funded.approve(staking, 100_000, {"from": alice})
    lock_id = staking.lock(100_000, TIER_30, {"from": alice}).return_value
    staking.fundRewards(REWARDS, 10 * DAY, {"from": roles.master_minter})
    with brownie.reverts(err("LockNotEnded", lock_id, staking.getLock(lock_id)[5])):
        staking.withdraw(lock_id, {"from": alice})
    _advance(31 * DAY)
    before = funded.balanceOf(alice)
    tx = staking.withdraw(lock_id, {"from": alice})
    principal, reward = tx.return_value
    assert principal == 100_000
    assert REWARDS - 1 <= reward <= REWARDS
    assert funded.balanceOf(alice) == before + principal + reward
    assert tx.events["Withdrawn"][0]["principal"] == 100_000
    assert staking.getLock(lock_id)[0] == ZERO_ADDRESS
    assert staking.totalPrincipal() == 0
    assert staking.totalWeighted() == 0
    with brownie.reverts(err("LockNotOpen", lock_id)):
        staking.withdraw(lock_id, {"from": alice})


def test_exitEarly_returnsPrincipalLessPenaltyToRecipient(staking, funded, roles, alice):
    funded.approve(staking, 100_000, {"from": alice})
    lock_id = staking.lock(100_000, TIER_90, {"from": alice}).return_value  # 10% penalty
    staking.fundRewards(REWARDS, 10 * DAY, {"from": roles.master_minter})
    _advance(5 * DAY)
    before, recipient_before = funded.balanceOf(alice), funded.balanceOf(roles.rescuer)
    tx = staking.exitEarly(lock_id, {"from": alice})
    returned, penalty, reward = tx.return_value
    assert (returned, penalty) == (90_000, 10_000)
    assert 0 < reward <= REWARDS // 2 + REWARDS // 100
    assert funded.balanceOf(alice) == before + returned + reward
    assert funded.balanceOf(roles.rescuer) == recipient_before + penalty
    assert tx.events["ExitedEarly"][0]["penalty"] == 10_000
    with brownie.reverts(err("LockNotOpen", lock_id)):
        staking.exitEarly(lock_id, {"from": alice})


def test_exitEarly_revertsAfterEnd(staking, funded, alice):
    funded.approve(staking, 10, {"from": alice})
    lock_id = staking.lock(10, TIER_30, {"from": alice}).return_value
    _advance(31 * DAY)
    with brownie.reverts(err("LockAlreadyEnded", lock_id, staking.getLock(lock_id)[5])):
        staking.exitEarly(lock_id, {"from": alice})


def test_kick_stopsAnEndedLockEarning(staking, funded, roles, alice, bob, carol):
    funded.approve(staking, 100_000, {"from": alice})
    funded.approve(staking, 100_000, {"from": bob})
    a = staking.lock(100_000, TIER_30, {"from": alice}).return_value
    with brownie.reverts(err("LockNotEnded", a, staking.getLock(a)[5])):
        staking.kick(a, {"from": carol})
    _advance(31 * DAY)
    b = staking.lock(100_000, TIER_30, {"from": bob}).return_value
    staking.kick(a, {"from": carol})  # anyone may kick
    assert staking.getLock(a)[6] == 0
    staking.fundRewards(REWARDS, 10 * DAY, {"from": roles.master_minter})
    _advance(11 * DAY)
    assert staking.earned(a) == 0
    assert REWARDS - 1 <= staking.earned(b) <= REWARDS
    with brownie.reverts(err("LockNotOpen", a)):
        staking.kick(a, {"from": carol})
    principal, reward = staking.withdraw(a, {"from": alice}).return_value
    assert (principal, reward) == (100_000, 0)


def test_withdraw_revertsForFrozenHolder(staking, funded, roles, alice):
    funded.approve(staking, 10, {"from": alice})
    lock_id = staking.lock(10, TIER_30, {"from": alice}).return_value
    _advance(31 * DAY)
    funded.freeze(alice, {"from": roles.freezer})
    with brownie.reverts(err("MSCAccountFrozen", alice)):
        staking.withdraw(lock_id, {"from": alice})
    assert staking.totalPrincipal() == 10
    funded.unfreeze(alice, {"from": roles.freezer})
    staking.withdraw(lock_id, {"from": alice})
    assert funded.balanceOf(alice) == USER_FUNDS


def test_unpause_allowsLocksAgain(staking, funded, roles, alice):
    staking.pause({"from": roles.pauser})
    staking.unpause({"from": roles.pauser})
    funded.approve(staking, 1, {"from": alice})
    assert staking.lock(1, TIER_30, {"from": alice}).return_value == 1
    with brownie.reverts(err("ExpectedPause")):
        staking.unpause({"from": roles.pauser})


def test_fundRewards_revertsAboveLifetimeCap(staking, roles):
    cap = 7 * 10**16
    with brownie.reverts(err("LockAmountInvalid", cap + 1, cap)):
        staking.fundRewards(cap + 1, DAY, {"from": roles.master_minter})


def test_setPenaltyRecipient_revertsForNonOperator(staking, alice):
    with brownie.reverts(err("AccessControlUnauthorizedAccount", alice, OPERATOR_ROLE)):
        staking.setPenaltyRecipient(alice, {"from": alice})


# --------------------------------------------------------------- third parties that cannot be paid


def _balance_identity(staking, funded) -> None:  # type: ignore[no-untyped-def]
    funded_total, paid = (int(x) for x in staking.rewardTotals())
    assert funded.balanceOf(staking) == (
        staking.totalPrincipal() + funded_total - paid - staking.rewardsSwept() + staking.penaltiesAccrued()
    )


def test_kick_succeedsWhenOwnerFrozen(staking, funded, roles, alice, bob, carol):
    funded.approve(staking, 100_000, {"from": alice})
    funded.approve(staking, 100_000, {"from": bob})
    a = staking.lock(100_000, TIER_30, {"from": alice}).return_value
    b = staking.lock(100_000, TIER_90, {"from": bob}).return_value
    staking.fundRewards(REWARDS, 60 * DAY, {"from": roles.master_minter})
    _advance(31 * DAY)
    funded.freeze(alice, {"from": roles.freezer})
    owed = staking.earned(a)
    assert owed > 0
    tx = staking.kick(a, {"from": carol})  # reverted on the owner's frozen account before
    assert tx.return_value == owed
    assert tx.events["LockKicked"][0]["credited"] == owed and "RewardPaid" not in tx.events
    assert staking.getLock(a)[6] == 0 and staking.totalWeighted() == 100_000 * 20_000
    _advance(30 * DAY)
    # The live lock takes everything streamed after the kick: no dilution by the ended lock.
    assert staking.earned(a) == owed
    assert REWARDS - 2 <= owed + staking.earned(b) <= REWARDS
    _balance_identity(staking, funded)
    funded.unfreeze(alice, {"from": roles.freezer})
    tx = staking.withdraw(a, {"from": alice})
    assert tuple(tx.return_value) == (100_000, owed)
    assert tx.events["RewardPaid"][0]["reward"] == owed
    assert funded.balanceOf(alice) == USER_FUNDS + owed
    _balance_identity(staking, funded)


def test_kick_creditIsPaidOnceByClaimThenWithdraw(staking, funded, roles, alice, carol):
    funded.approve(staking, 100_000, {"from": alice})
    a = staking.lock(100_000, TIER_30, {"from": alice}).return_value
    staking.fundRewards(REWARDS, 20 * DAY, {"from": roles.master_minter})
    _advance(31 * DAY)
    credited = staking.kick(a, {"from": carol}).return_value
    assert REWARDS - 1 <= credited <= REWARDS
    assert staking.claim(a, {"from": alice}).return_value == credited
    assert staking.earned(a) == 0
    assert tuple(staking.withdraw(a, {"from": alice}).return_value) == (100_000, 0)
    assert [int(x) for x in staking.rewardTotals()] == [REWARDS, credited]


def test_exitEarly_accruesPenaltyWhenRecipientFrozen(staking, funded, roles, alice, carol):
    funded.approve(staking, 100_000, {"from": alice})
    lock_id = staking.lock(100_000, TIER_90, {"from": alice}).return_value  # 10% penalty
    funded.freeze(roles.rescuer, {"from": roles.freezer})  # the penalty recipient
    tx = staking.exitEarly(lock_id, {"from": alice})  # reverted on the frozen recipient before
    assert tuple(tx.return_value)[:2] == (90_000, 10_000)
    accrued = dict(tx.events["PenaltyAccrued"][0])
    assert accrued == {"lockId": lock_id, "recipient": roles.rescuer, "penalty": 10_000}
    assert staking.penaltiesAccrued() == 10_000
    _balance_identity(staking, funded)
    with brownie.reverts(err("MSCAccountFrozen", roles.rescuer)):
        staking.collectPenalties({"from": carol})
    staking.setPenaltyRecipient(carol, {"from": roles.master_minter})
    before = funded.balanceOf(carol)
    tx = staking.collectPenalties({"from": alice})  # anyone may push them to the recipient
    assert tx.return_value == 10_000 and tx.events["PenaltiesCollected"][0]["recipient"] == carol
    assert funded.balanceOf(carol) == before + 10_000
    assert staking.penaltiesAccrued() == 0
    with brownie.reverts(err("LockNothingToCollect")):
        staking.collectPenalties({"from": alice})
    _balance_identity(staking, funded)


def test_setPenaltyRecipient_revertsForUnpayable(staking, funded, roles, carol):
    funded.freeze(carol, {"from": roles.freezer})
    for unpayable in (carol, funded.address, staking.address):
        with brownie.reverts(err("LockRecipientUnpayable", unpayable)):
            staking.setPenaltyRecipient(unpayable, {"from": roles.master_minter})
    with brownie.reverts(err("LockRecipientUnpayable", carol)):
        LockStaking.deploy(funded, roles.owner, roles.owner, roles.owner, carol, {"from": roles.owner})


def test_sweepUnallocated_sendsOnlyWhatNoLockIsOwed(staking, funded, roles, alice, carol):
    staking.fundRewards(REWARDS, 10 * DAY, {"from": roles.master_minter})
    _advance(5 * DAY)  # half the period streams with nothing locked
    funded.approve(staking, 100_000, {"from": alice})
    lock_id = staking.lock(100_000, TIER_30, {"from": alice}).return_value
    _advance(6 * DAY)
    unowed = staking.unallocatedRewards()
    assert abs(unowed - REWARDS // 2) <= REWARDS // 100
    with brownie.reverts(err("AccessControlUnauthorizedAccount", alice, OPERATOR_ROLE)):
        staking.sweepUnallocated(alice, {"from": alice})
    owed = staking.earned(lock_id)
    tx = staking.sweepUnallocated(carol, {"from": roles.master_minter})
    assert tx.return_value == unowed and funded.balanceOf(carol) == unowed
    assert tx.events["UnallocatedRewardsSwept"][0]["amount"] == unowed
    assert staking.rewardsSwept() == unowed and staking.unallocatedRewards() == 0
    with brownie.reverts(err("LockNothingToCollect")):
        staking.sweepUnallocated(carol, {"from": roles.master_minter})
    assert staking.earned(lock_id) == owed  # the lock's reward is untouched
    assert REWARDS - 2 <= owed + unowed <= REWARDS
    _balance_identity(staking, funded)
    _advance(25 * DAY)
    assert tuple(staking.withdraw(lock_id, {"from": alice}).return_value) == (100_000, owed)
    _balance_identity(staking, funded)
    # A new period is checked against what is left after the sweep.
    staking.fundRewards(1_000, DAY, {"from": roles.master_minter})
    _balance_identity(staking, funded)
