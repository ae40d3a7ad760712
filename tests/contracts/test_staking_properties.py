"""Stateful property test of LockStaking's invariants (see ILockStaking.sol).

Random locks, claims, withdrawals, early exits, kicks, fundings, sweeps of unowed reward, freezes
and unfreezes of holders and of the penalty recipient, and time jumps; after every step:
- total principal == the sum of the open locks' amounts (ghost sum from the model);
- the contract's MSC balance == total principal + rewards funded - rewards paid - rewards swept
  + penalties accrued;
- rewards paid + swept + what open locks are owed (kick credits included) <= rewards funded;
- a kick of an ended lock always succeeds, frozen owner or not;
- a closed lock can never be withdrawn or exited again.
"""

from __future__ import annotations

import brownie
from brownie import accounts, chain
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from tests.contracts.conftest import DAY, TIER_30, TIER_90
from tests.support.profile import stateful_settings

HOLDERS = (7, 8, 9)
PENALTY_RECIPIENT = 4  # roles.rescuer in the staking fixture


def test_staking_invariants_hold(staking, funded, roles):
    funded.mint(accounts[9], 1_000_000, {"from": roles.minter})  # alice and bob hold funds already
    for i in HOLDERS:
        funded.approve(staking, 2**256 - 1, {"from": accounts[i]})
    chain.snapshot()

    class StakingMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            chain.revert()
            self.open: dict[int, int] = {}  # lock id -> amount
            self.closed: set[int] = set()
            self.frozen: set[int] = set()  # account indexes frozen now

        def _frozen(self, address: str) -> bool:
            return any(accounts[i] == address for i in self.frozen)

        @rule(who=st.sampled_from((*HOLDERS, PENALTY_RECIPIENT)))
        def toggle_freeze(self, who: int) -> None:
            if who in self.frozen:
                funded.unfreeze(accounts[who], {"from": roles.freezer})
                self.frozen.discard(who)
            else:
                funded.freeze(accounts[who], {"from": roles.freezer})
                self.frozen.add(who)

        @rule(seconds=st.integers(0, 1))
        def sweep(self, seconds: int) -> None:
            if staking.unallocatedRewards() > 0:
                staking.sweepUnallocated(accounts[0], {"from": roles.master_minter})
            else:
                with brownie.reverts():
                    staking.sweepUnallocated(accounts[0], {"from": roles.master_minter})

        @rule()
        def collect_penalties(self) -> None:
            if staking.penaltiesAccrued() > 0 and PENALTY_RECIPIENT not in self.frozen:
                staking.collectPenalties({"from": accounts[0]})
                assert staking.penaltiesAccrued() == 0

        @rule(
            holder=st.sampled_from(HOLDERS),
            amount=st.integers(1, 200_000),
            tier=st.sampled_from((TIER_30, TIER_90)),
        )
        def lock(self, holder: int, amount: int, tier: int) -> None:
            if amount > funded.balanceOf(accounts[holder]) or holder in self.frozen:
                # Locking more than the holder has reverts in the token and changes nothing.
                with brownie.reverts():
                    staking.lock(amount, tier, {"from": accounts[holder]})
                return
            lock_id = staking.lock(amount, tier, {"from": accounts[holder]}).return_value
            self.open[lock_id] = amount

        @rule(amount=st.integers(1, 500_000), days=st.integers(1, 60))
        def fund(self, amount: int, days: int) -> None:
            staking.fundRewards(amount, days * DAY, {"from": roles.master_minter})

        @rule(seconds=st.integers(60, 40 * DAY))
        def advance(self, seconds: int) -> None:
            chain.sleep(seconds)
            chain.mine()

        @rule(data=st.data())
        def claim(self, data: st.DataObject) -> None:
            if self.open:
                lock_id = data.draw(st.sampled_from(sorted(self.open)))
                owner = staking.getLock(lock_id)[0]
                if not self._frozen(owner):
                    staking.claim(lock_id, {"from": owner})

        @rule(data=st.data())
        def close(self, data: st.DataObject) -> None:
            if not self.open:
                return
            lock_id = data.draw(st.sampled_from(sorted(self.open)))
            owner, _amount, _p, _paid, _start, end, _w = staking.getLock(lock_id)
            if self._frozen(owner):
                # A frozen owner cannot be paid its principal: the lock stays open, nothing moves.
                with brownie.reverts():
                    staking.withdraw(lock_id, {"from": owner})
                return
            if chain[-1].timestamp + 1 >= end:
                staking.withdraw(lock_id, {"from": owner})
            else:
                staking.exitEarly(lock_id, {"from": owner})
            del self.open[lock_id]
            self.closed.add(lock_id)
            with brownie.reverts():
                staking.withdraw(lock_id, {"from": owner})
            with brownie.reverts():
                staking.exitEarly(lock_id, {"from": owner})

        @rule(data=st.data())
        def kick(self, data: st.DataObject) -> None:
            if self.open:
                lock_id = data.draw(st.sampled_from(sorted(self.open)))
                lock = staking.getLock(lock_id)
                if chain[-1].timestamp + 1 >= lock[5] and lock[6] > 0:
                    # Succeeds whether or not the owner is frozen: a kick pays no one.
                    before = funded.balanceOf(staking)
                    staking.kick(lock_id, {"from": accounts[0]})
                    assert funded.balanceOf(staking) == before
                    assert staking.getLock(lock_id)[6] == 0

        @invariant()
        def principal_is_sum_of_open_locks(self) -> None:
            assert staking.totalPrincipal() == sum(self.open.values())

        @invariant()
        def balance_covers_principal_and_unpaid_rewards(self) -> None:
            funded_total, paid = (int(x) for x in staking.rewardTotals())
            swept, penalties = staking.rewardsSwept(), staking.penaltiesAccrued()
            assert paid + swept <= funded_total
            principal = staking.totalPrincipal()
            assert funded.balanceOf(staking) == principal + funded_total - paid - swept + penalties
            owed = sum(staking.earned(i) for i in self.open)
            assert paid + swept + owed <= funded_total

    run_state_machine_as_test(
        StakingMachine,
        settings=stateful_settings(),
    )
