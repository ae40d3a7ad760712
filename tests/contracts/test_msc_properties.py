"""Stateful property tests of MSC's invariants (see the header of IMadiunStableCoin.sol).

A model of the token (balances, allowances, frozen set, pause flag, reserves, minter allowance)
runs beside the contract. Each rule predicts whether the call must succeed; the contract must
agree, and after every step the invariants are checked against the chain:

- the sum of all balances equals totalSupply (ghost sum over every account that can hold MSC);
- totalSupply never exceeds the attested reserves;
- a frozen account's balance changes only by a court-ordered wipe or the minter's own burn;
- while paused no balance changes except by a wipe;
- a permit or authorization is used at most once, never after expiry, never by another spender.

Brownie's ``state_machine`` fixture fails on Python 3.11 (mypyc), so this uses hypothesis's
``run_state_machine_as_test`` directly, reverting a chain snapshot at the start of each example.
"""

from __future__ import annotations

import brownie
from brownie import accounts, chain
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from chain.signer import Signer
from tests.contracts.conftest import MINTER_ALLOWANCE, RESERVES
from tests.support.profile import block_time, stateful_settings
from tests.support.signing import sign_authorization, sign_permit

HOLDERS = (6, 7, 8, 9)  # minter, alice, bob, carol
amounts = st.integers(min_value=0, max_value=3_000_000)
holder = st.sampled_from(HOLDERS)


def test_msc_invariants_hold(msc, roles):
    """Runs the machine below against a fresh copy of the deployed token for every example."""
    chain.snapshot()

    class MSCMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            chain.revert()
            self.balance = dict.fromkeys(HOLDERS, 0)
            self.allowance: dict[tuple[int, int], int] = {}
            self.frozen: set[int] = set()
            self.paused = False
            self.reserves = RESERVES
            self.minter_allowance = MINTER_ALLOWANCE
            self.nonce_counter = 0
            self.permit_nonce = dict.fromkeys(HOLDERS, 0)
            self.guarded: dict[int, int] = {}  # balances that must not change, by account

        # ------------------------------------------------------------ helpers

        def _acct(self, i: int):  # type: ignore[no-untyped-def]
            return accounts[i]

        def _expect(self, ok: bool, call) -> bool:  # type: ignore[no-untyped-def]
            if ok:
                call()
            else:
                with brownie.reverts():
                    call()
            return ok

        def _guard_now(self) -> None:
            """Records the balances that must stay put: frozen accounts always, everyone when paused."""
            watched = set(HOLDERS) if self.paused else self.frozen
            self.guarded = {i: self.balance[i] for i in watched}

        # ------------------------------------------------------------ rules

        @rule(to=holder, amount=amounts)
        def mint(self, to: int, amount: int) -> None:
            supply = sum(self.balance.values())
            ok = (
                not self.paused
                and amount > 0
                and 6 not in self.frozen
                and to not in self.frozen
                and amount <= self.minter_allowance
                and supply + amount <= self.reserves
            )
            if self._expect(ok, lambda: msc.mint(self._acct(to), amount, {"from": roles.minter})):
                self.balance[to] += amount
                self.minter_allowance -= amount

        @rule(amount=amounts)
        def burn(self, amount: int) -> None:
            ok = not self.paused and 0 < amount <= self.balance[6]
            if self._expect(ok, lambda: msc.burn(amount, {"from": roles.minter})):
                self.balance[6] -= amount
                if 6 in self.guarded:
                    self.guarded[6] = self.balance[6]  # the minter's own burn is authorised

        @rule(src=holder, dst=holder, amount=amounts)
        def transfer(self, src: int, dst: int, amount: int) -> None:
            ok = (
                not self.paused
                and src not in self.frozen
                and dst not in self.frozen
                and amount <= self.balance[src]
            )
            if self._expect(ok, lambda: msc.transfer(self._acct(dst), amount, {"from": self._acct(src)})):
                self.balance[src] -= amount
                self.balance[dst] += amount

        @rule(owner=holder, spender=holder, amount=amounts)
        def approve(self, owner: int, spender: int, amount: int) -> None:
            ok = not self.paused and owner not in self.frozen and spender not in self.frozen
            if self._expect(
                ok, lambda: msc.approve(self._acct(spender), amount, {"from": self._acct(owner)})
            ):
                self.allowance[(owner, spender)] = amount

        @rule(owner=holder, spender=holder, dst=holder, amount=amounts)
        def transfer_from(self, owner: int, spender: int, dst: int, amount: int) -> None:
            allowed = self.allowance.get((owner, spender), 0)
            ok = (
                not self.paused
                and not {owner, spender, dst} & self.frozen
                and amount <= allowed
                and amount <= self.balance[owner]
            )
            call = lambda: msc.transferFrom(  # noqa: E731
                self._acct(owner), self._acct(dst), amount, {"from": self._acct(spender)}
            )
            if self._expect(ok, call):
                self.allowance[(owner, spender)] = allowed - amount
                self.balance[owner] -= amount
                self.balance[dst] += amount

        @rule(who=holder)
        def freeze(self, who: int) -> None:
            ok = who not in self.frozen
            if self._expect(ok, lambda: msc.freeze(self._acct(who), {"from": roles.freezer})):
                self.frozen.add(who)
                self._guard_now()

        @rule(who=holder)
        def unfreeze(self, who: int) -> None:
            ok = who in self.frozen
            if self._expect(ok, lambda: msc.unfreeze(self._acct(who), {"from": roles.freezer})):
                self.frozen.discard(who)
                self._guard_now()

        @rule()
        def toggle_pause(self) -> None:
            if self.paused:
                msc.unpause({"from": roles.pauser})
            else:
                msc.pause({"from": roles.pauser})
            self.paused = not self.paused
            self._guard_now()

        @rule(who=holder)
        def wipe(self, who: int) -> None:
            ok = who in self.frozen
            if self._expect(
                ok, lambda: msc.wipeFrozenBalance(self._acct(who), "COURT/1", {"from": roles.owner})
            ):
                self.balance[who] = 0
                self._guard_now()

        @rule(extra=st.integers(min_value=-2_000_000, max_value=5_000_000))
        def attest(self, extra: int) -> None:
            supply = sum(self.balance.values())
            new = max(0, supply + extra)
            ok = new >= supply
            if self._expect(ok, lambda: msc.attestReserves(new, "AUDIT", {"from": roles.attester})):
                self.reserves = new

        @rule(
            owner=st.sampled_from((7, 8)),
            spender=holder,
            value=amounts,
            misuse=st.sampled_from(("none", "replay", "expired", "other_spender")),
        )
        def permit(self, owner: int, spender: int, value: int, misuse: str) -> None:
            key = Signer.dev(owner)
            deadline = block_time() + (-10 if misuse == "expired" else 3600)
            nonce = self.permit_nonce[owner]
            v, r, s = sign_permit(msc, key, str(self._acct(spender)), value, nonce, deadline)
            target = next(h for h in HOLDERS if h != spender) if misuse == "other_spender" else spender
            ok = (
                not self.paused
                and misuse in ("none", "replay")
                and owner not in self.frozen
                and spender not in self.frozen
            )

            def call() -> None:
                msc.permit(
                    self._acct(owner), self._acct(target), value, deadline, v, r, s, {"from": accounts[0]}
                )

            if self._expect(ok, call):
                self.permit_nonce[owner] += 1
                self.allowance[(owner, spender)] = value
                if misuse == "replay":
                    with brownie.reverts():
                        call()

        @rule(src=st.sampled_from((7, 8)), dst=holder, amount=amounts, replay=st.booleans())
        def authorized_transfer(self, src: int, dst: int, amount: int, replay: bool) -> None:
            self.nonce_counter += 1
            nonce = self.nonce_counter.to_bytes(32, "big")
            valid_before = block_time() + 3600
            v, r, s = sign_authorization(
                msc,
                "TransferWithAuthorization",
                Signer.dev(src),
                str(self._acct(dst)),
                amount,
                0,
                valid_before,
                nonce,
            )
            ok = (
                not self.paused
                and src not in self.frozen
                and dst not in self.frozen
                and amount <= self.balance[src]
            )

            def call() -> None:
                msc.transferWithAuthorization(
                    self._acct(src),
                    self._acct(dst),
                    amount,
                    0,
                    valid_before,
                    nonce,
                    v,
                    r,
                    s,
                    {"from": accounts[0]},
                )

            if self._expect(ok, call):
                self.balance[src] -= amount
                self.balance[dst] += amount
                if replay:
                    with brownie.reverts():
                        call()

        # ------------------------------------------------------------ invariants

        @invariant()
        def balances_match_model_and_sum_to_supply(self) -> None:
            on_chain = {i: msc.balanceOf(self._acct(i)) for i in HOLDERS}
            assert on_chain == self.balance
            assert sum(on_chain.values()) == msc.totalSupply()

        @invariant()
        def supply_within_reserves(self) -> None:
            assert msc.totalSupply() <= msc.attestedReserves()[0]
            assert msc.attestedReserves()[0] == self.reserves

        @invariant()
        def guarded_balances_unchanged(self) -> None:
            for i, expected in self.guarded.items():
                assert msc.balanceOf(self._acct(i)) == expected

        @invariant()
        def allowances_match_model(self) -> None:
            for (owner, spender), value in self.allowance.items():
                assert msc.allowance(self._acct(owner), self._acct(spender)) == value

    run_state_machine_as_test(
        MSCMachine,
        settings=stateful_settings(),
    )
