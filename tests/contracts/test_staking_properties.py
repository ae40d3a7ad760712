"""Stateful property test of LockStaking's invariants (see ILockStaking.sol).

Random locks, claims, withdrawals, early exits, kicks, fundings and time jumps; after every step:
- total principal == the sum of the open locks' amounts (ghost sum from the model);
- the contract's MSC balance == total principal + rewards funded - rewards paid;
- rewards paid <= rewards funded, and what open locks have earned fits in what is left;
- a closed lock can never be withdrawn or exited again.
"""

from __future__ import annotations

import brownie
from brownie import accounts, chain
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from tests.contracts.conftest import DAY, TIER_30, TIER_90
from tests.support.profile import STATEFUL_EXAMPLES, STATEFUL_STEPS

HOLDERS = (7, 8, 9)


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

        @rule(
            holder=st.sampled_from(HOLDERS),
            amount=st.integers(1, 200_000),
            tier=st.sampled_from((TIER_30, TIER_90)),
        )
        def lock(self, holder: int, amount: int, tier: int) -> None:
            if amount > funded.balanceOf(accounts[holder]):
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
                staking.claim(lock_id, {"from": staking.getLock(lock_id)[0]})

        @rule(data=st.data())
        def close(self, data: st.DataObject) -> None:
            if not self.open:
                return
            lock_id = data.draw(st.sampled_from(sorted(self.open)))
            owner, _amount, _p, _paid, _start, end, _w = staking.getLock(lock_id)
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
                    staking.kick(lock_id, {"from": accounts[0]})

        @invariant()
        def principal_is_sum_of_open_locks(self) -> None:
            assert staking.totalPrincipal() == sum(self.open.values())

        @invariant()
        def balance_covers_principal_and_unpaid_rewards(self) -> None:
            funded_total, paid = (int(x) for x in staking.rewardTotals())
            assert paid <= funded_total
            assert funded.balanceOf(staking) == staking.totalPrincipal() + funded_total - paid
            assert sum(staking.earned(i) for i in self.open) <= funded_total - paid

    run_state_machine_as_test(
        StakingMachine,
        settings=settings(max_examples=STATEFUL_EXAMPLES, stateful_step_count=STATEFUL_STEPS, deadline=None),
    )
