"""Stateful property test of MerchantEscrow's invariants (see IMerchantEscrow.sol).

Random deposits (with reused ids), releases, refunds, disputes, arbiter and default decisions,
guarantee funding and covered refunds, and time jumps; after every step:
- the contract's MSC balance == sum of open escrows + the guarantee fund (model and contract);
- every payment reaches a final status (Released, Refunded, Split) exactly once and never leaves it;
- a payment id is never deposited twice.
"""

from __future__ import annotations

import brownie
from brownie import accounts, chain
from eth_utils import keccak
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from tests.contracts.conftest import DAY
from tests.support.profile import STATEFUL_EXAMPLES, STATEFUL_STEPS

HELD, DISPUTED, RELEASED, REFUNDED, SPLIT = 1, 2, 3, 4, 5
FINAL = {RELEASED, REFUNDED, SPLIT}
MERCHANT, PAYER = 7, 8
ids = st.integers(0, 11)


def pid(n: int) -> bytes:
    return keccak(text=f"prop-{n}")


def test_escrow_invariants_hold(escrow, funded, roles):
    chain.snapshot()

    class EscrowMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            chain.revert()
            self.status: dict[int, int] = {}
            self.amount: dict[int, int] = {}
            self.released: dict[int, int] = {}
            self.covered: dict[int, int] = {}
            self.fund = 0
            self.finals: dict[int, int] = {}

        def _finish(self, n: int, status: int) -> None:
            self.status[n] = status
            self.finals[n] = self.finals.get(n, 0) + 1

        @rule(n=ids, amount=st.integers(1, 100_000), hold=st.integers(0, 5 * DAY))
        def deposit(self, n: int, amount: int, hold: int) -> None:
            call = lambda: escrow.deposit(  # noqa: E731
                pid(n), accounts[MERCHANT], accounts[PAYER], amount, hold, {"from": roles.minter}
            )
            if n in self.status:
                with brownie.reverts():
                    call()
                return
            call()
            self.status[n], self.amount[n] = HELD, amount

        @rule(seconds=st.integers(60, 20 * DAY))
        def advance(self, seconds: int) -> None:
            chain.sleep(seconds)
            chain.mine()

        @rule(n=ids, by_payer=st.booleans())
        def release(self, n: int, by_payer: bool) -> None:
            sender = accounts[PAYER] if by_payer else accounts[0]
            due = self.status.get(n) == HELD and (
                by_payer or chain[-1].timestamp + 1 >= escrow.getPayment(pid(n))[3]
            )
            if due:
                escrow.release(pid(n), {"from": sender})
                self.released[n] = self.amount[n]
                self.amount[n] = 0
                self._finish(n, RELEASED)
            else:
                with brownie.reverts():
                    escrow.release(pid(n), {"from": sender})

        @rule(n=ids, part=st.integers(1, 100_000))
        def refund(self, n: int, part: int) -> None:
            ok = self.status.get(n) in (HELD, DISPUTED) and part <= self.amount[n]
            if not ok:
                with brownie.reverts():
                    escrow.refund(pid(n), part, {"from": accounts[MERCHANT]})
                return
            escrow.refund(pid(n), part, {"from": accounts[MERCHANT]})
            self.amount[n] -= part
            if self.amount[n] == 0:
                self._finish(n, REFUNDED)

        @rule(n=ids)
        def dispute(self, n: int) -> None:
            if self.status.get(n) == HELD:
                escrow.dispute(pid(n), {"from": accounts[PAYER]})
                self.status[n] = DISPUTED
            else:
                with brownie.reverts():
                    escrow.dispute(pid(n), {"from": accounts[PAYER]})

        @rule(n=ids, share=st.integers(0, 100))
        def decide(self, n: int, share: int) -> None:
            if self.status.get(n) != DISPUTED:
                with brownie.reverts():
                    escrow.resolveDispute(pid(n), 0, {"from": roles.freezer})
                return
            if share == 100 and chain[-1].timestamp + 1 > escrow.getPayment(pid(n))[4]:
                escrow.resolveExpiredDispute(pid(n), {"from": accounts[0]})
                self._finish(n, REFUNDED)
            else:
                escrow.resolveDispute(pid(n), self.amount[n] * share // 100, {"from": roles.freezer})
                self._finish(n, SPLIT)
            self.amount[n] = 0

        @rule(amount=st.integers(1, 50_000))
        def fund_guarantee(self, amount: int) -> None:
            escrow.fundGuarantee(amount, {"from": roles.master_minter})
            self.fund += amount

        @rule(n=ids, amount=st.integers(1, 50_000))
        def cover(self, n: int, amount: int) -> None:
            ok = (
                self.status.get(n) == RELEASED
                and amount <= self.released[n] - self.covered.get(n, 0)
                and amount <= self.fund
            )
            if not ok:
                with brownie.reverts():
                    escrow.coverRefund(pid(n), amount, {"from": roles.master_minter})
                return
            escrow.coverRefund(pid(n), amount, {"from": roles.master_minter})
            self.covered[n] = self.covered.get(n, 0) + amount
            self.fund -= amount

        @invariant()
        def balance_is_open_escrows_plus_fund(self) -> None:
            open_total = sum(a for n, a in self.amount.items() if self.status[n] in (HELD, DISPUTED))
            assert [int(x) for x in escrow.totals()] == [open_total, self.fund]
            assert funded.balanceOf(escrow) == open_total + self.fund

        @invariant()
        def statuses_match_and_finals_happen_once(self) -> None:
            for n, status in self.status.items():
                assert escrow.getPayment(pid(n))[5] == status
            assert all(count == 1 for count in self.finals.values())
            assert all(self.status[n] in FINAL for n in self.finals)

    run_state_machine_as_test(
        EscrowMachine,
        settings=settings(max_examples=STATEFUL_EXAMPLES, stateful_step_count=STATEFUL_STEPS, deadline=None),
    )
