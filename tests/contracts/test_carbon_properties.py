"""Stateful property test of CarbonCredits' invariants (see ICarbonCredits.sol), per token id:

- holders' balances + credits held for bridge-back + retired + bridged == issued;
- issued <= verified tonnes;
- credits held for a bridge-back leave custody only by confirmation (burn) or refusal (return).
"""

from __future__ import annotations

import hashlib

import brownie
from brownie import accounts, chain
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from tests.support.profile import stateful_settings

HOLDERS = (7, 8, 9)
YEARS = (2024, 2025)
VERIFIED = 500


def test_carbon_invariants_hold(carbon, roles):
    for year in YEARS:
        carbon.verifyVintage(
            1,
            year,
            VERIFIED,
            hashlib.sha256(b"report %d" % year).digest(),
            "bafkdocs",
            "bafkmeta",
            {"from": roles.rescuer},
        )
    tokens = [carbon.tokenIdOf(1, y) for y in YEARS]
    chain.snapshot()

    class CarbonMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            chain.revert()
            self.pending: dict[int, tuple[int, int, int]] = {}  # request -> (token, holder, tonnes)

        @rule(token=st.sampled_from(tokens), to=st.sampled_from(HOLDERS), tonnes=st.integers(1, 300))
        def issue(self, token: int, to: int, tonnes: int) -> None:
            issued = carbon.vintage(token)[4]
            if issued + tonnes <= VERIFIED:
                carbon.issue(token, accounts[to], tonnes, {"from": roles.rescuer})
            else:
                with brownie.reverts():
                    carbon.issue(token, accounts[to], tonnes, {"from": roles.rescuer})

        @rule(
            token=st.sampled_from(tokens),
            src=st.sampled_from(HOLDERS),
            dst=st.sampled_from(HOLDERS),
            tonnes=st.integers(1, 200),
        )
        def transfer(self, token: int, src: int, dst: int, tonnes: int) -> None:
            if carbon.balanceOf(accounts[src], token) >= tonnes:
                carbon.safeTransferFrom(
                    accounts[src], accounts[dst], token, tonnes, b"", {"from": accounts[src]}
                )

        @rule(token=st.sampled_from(tokens), holder=st.sampled_from(HOLDERS), tonnes=st.integers(1, 200))
        def retire(self, token: int, holder: int, tonnes: int) -> None:
            if carbon.balanceOf(accounts[holder], token) >= tonnes:
                who = str(accounts[holder])
                carbon.retire(
                    (who, token, tonnes, who, "Beneficiary", "Offset", 1, 2), {"from": accounts[holder]}
                )

        @rule(token=st.sampled_from(tokens), holder=st.sampled_from(HOLDERS), tonnes=st.integers(1, 200))
        def request_bridge(self, token: int, holder: int, tonnes: int) -> None:
            if carbon.balanceOf(accounts[holder], token) >= tonnes:
                tx = carbon.requestBridgeBack(token, tonnes, "SRN-ACC", {"from": accounts[holder]})
                self.pending[tx.return_value] = (token, holder, tonnes)

        @rule(data=st.data(), confirm=st.booleans())
        def answer_bridge(self, data: st.DataObject, confirm: bool) -> None:
            if not self.pending:
                return
            request_id = data.draw(st.sampled_from(sorted(self.pending)))
            if confirm:
                carbon.confirmBridgeBack(request_id, "REG-REF", {"from": roles.freezer})
            else:
                carbon.refuseBridgeBack(request_id, "refused", {"from": roles.freezer})
            del self.pending[request_id]
            with brownie.reverts():
                carbon.confirmBridgeBack(request_id, "again", {"from": roles.freezer})

        @invariant()
        def supply_is_conserved_per_token(self) -> None:
            for token in tokens:
                _key, _year, _ok, verified, issued, retired, bridged, *_rest = carbon.vintage(token)
                held = sum(carbon.balanceOf(accounts[h], token) for h in HOLDERS)
                custody = carbon.balanceOf(carbon, token)
                assert custody == sum(t for tok, _h, t in self.pending.values() if tok == token)
                assert held + custody + retired + bridged == issued
                assert issued <= verified

    run_state_machine_as_test(
        CarbonMachine,
        settings=stateful_settings(),
    )
