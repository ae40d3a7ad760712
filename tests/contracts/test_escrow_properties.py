"""Stateful property test of MerchantEscrow's invariants (see IMerchantEscrow.sol).

Random deposits (with reused ids, and to unpayable merchants: the token, the escrow), releases
one by one and in batches, refunds (by the merchant, or its signed authorization relayed),
disputes, arbiter and default decisions, guarantee funding and covered refunds, freezes and
unfreezes of a merchant, and time jumps; after every step:
- the contract's MSC balance == sum of open escrows + the guarantee fund (model and contract);
- every payment reaches a final status (Released, Refunded, Split) exactly once and never leaves it;
- a payment id is never deposited twice;
- a batch release never reverts for a frozen merchant: it pays every payable due payment and
  leaves the frozen merchant's held (ReleaseSkipped).
"""

from __future__ import annotations

import os

import brownie
from brownie import accounts, chain
from eth_utils import keccak
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from chain import eip712
from chain.signer import Signer
from tests.contracts.conftest import DAY
from tests.support.profile import block_time, stateful_settings

HELD, DISPUTED, RELEASED, REFUNDED, SPLIT = 1, 2, 3, 4, 5
FINAL = {RELEASED, REFUNDED, SPLIT}
MERCHANTS, PAYER = (7, 9), 8
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
            self.merchant: dict[int, int] = {}
            self.frozen: set[int] = set()

        def _finish(self, n: int, status: int) -> None:
            self.status[n] = status
            self.finals[n] = self.finals.get(n, 0) + 1

        @rule(
            n=ids,
            merchant=st.sampled_from(MERCHANTS),
            amount=st.integers(1, 100_000),
            hold=st.integers(0, 5 * DAY),
            unpayable=st.sampled_from((None, "token", "escrow")),
        )
        def deposit(self, n: int, merchant: int, amount: int, hold: int, unpayable: str | None) -> None:
            to = {None: accounts[merchant], "token": funded.address, "escrow": escrow.address}[unpayable]
            call = lambda: escrow.deposit(  # noqa: E731
                pid(n), to, accounts[PAYER], amount, hold, {"from": roles.minter}
            )
            if n in self.status or unpayable is not None:
                with brownie.reverts():
                    call()
                return
            call()
            self.status[n], self.amount[n], self.merchant[n] = HELD, amount, merchant

        @rule(merchant=st.sampled_from(MERCHANTS))
        def toggle_freeze(self, merchant: int) -> None:
            if merchant in self.frozen:
                funded.unfreeze(accounts[merchant], {"from": roles.freezer})
                self.frozen.discard(merchant)
            else:
                funded.freeze(accounts[merchant], {"from": roles.freezer})
                self.frozen.add(merchant)

        @rule(picked=st.sets(ids, min_size=1, max_size=6))
        def release_batch(self, picked: set[int]) -> None:
            now = chain[-1].timestamp + 1
            due = {n for n in picked if self.status.get(n) == HELD and now >= escrow.getPayment(pid(n))[3]}
            tx = escrow.releaseBatch([pid(n) for n in sorted(picked)], {"from": accounts[0]})
            paid = {n for n in due if self.merchant[n] not in self.frozen}
            assert tx.return_value == len(paid)
            skipped = (
                {bytes.fromhex(str(e["paymentId"])[2:]) for e in tx.events["ReleaseSkipped"]}
                if ("ReleaseSkipped" in tx.events)
                else set()
            )
            assert skipped == {pid(n) for n in due - paid}
            for n in paid:
                self.released[n] = self.amount[n]
                self.amount[n] = 0
                self._finish(n, RELEASED)

        @rule(seconds=st.integers(60, 20 * DAY))
        def advance(self, seconds: int) -> None:
            chain.sleep(seconds)
            chain.mine()

        @rule(n=ids, by_payer=st.booleans())
        def release(self, n: int, by_payer: bool) -> None:
            sender = accounts[PAYER] if by_payer else accounts[0]
            due = (
                self.status.get(n) == HELD
                and self.merchant[n] not in self.frozen
                and (by_payer or chain[-1].timestamp + 1 >= escrow.getPayment(pid(n))[3])
            )
            if due:
                escrow.release(pid(n), {"from": sender})
                self.released[n] = self.amount[n]
                self.amount[n] = 0
                self._finish(n, RELEASED)
            else:
                with brownie.reverts():
                    escrow.release(pid(n), {"from": sender})

        @rule(n=ids, part=st.integers(1, 100_000), signed=st.booleans())
        def refund(self, n: int, part: int, signed: bool) -> None:
            index = self.merchant.get(n, MERCHANTS[0])
            merchant = accounts[index]
            ok = self.status.get(n) in (HELD, DISPUTED) and part <= self.amount[n]
            if signed:  # the merchant's RefundAuthorization, relayed by the payer
                nonce, deadline = os.urandom(32), block_time() + 3_600
                typed = eip712.refund_authorization(
                    eip712.escrow_domain(chain.id, escrow.address), pid(n), part, nonce, deadline
                )
                signature = Signer.dev(index).sign_typed_data(typed).signature
                args = (pid(n), part, nonce, deadline, signature, {"from": accounts[PAYER]})
                send = escrow.refundWithAuthorization
            else:
                args, send = (pid(n), part, {"from": merchant}), escrow.refund
            if not ok:
                with brownie.reverts():
                    send(*args)
                return
            send(*args)
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
            expired = chain[-1].timestamp + 1 > escrow.getPayment(pid(n))[4]
            if expired or (share > 0 and self.merchant[n] in self.frozen):
                if not expired:
                    return  # the arbiter cannot pay a frozen merchant: the decision waits
                with brownie.reverts():  # past the deadline only the default applies
                    escrow.resolveDispute(pid(n), 0, {"from": roles.freezer})
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
        settings=stateful_settings(),
    )
