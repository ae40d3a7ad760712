"""LiabilityAttestation: role-gated, strictly increasing, never-overwritten monthly roots."""

from __future__ import annotations

import brownie
import pytest
from brownie import LiabilityAttestation, accounts, chain, web3
from eth_utils import keccak
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from tests.support.brownie_errors import err
from tests.support.profile import stateful_settings

ROOT = "0x" + "ab" * 32
OTHER_ROOT = "0x" + "cd" * 32


@pytest.fixture(scope="module")
def attestation():  # type: ignore[no-untyped-def]
    return LiabilityAttestation.deploy(accounts[0], accounts[5], {"from": accounts[0]})


def test_publish_storesPeriodAndEmits(attestation) -> None:  # type: ignore[no-untyped-def]
    as_of = web3.eth.block_number
    tx = attestation.publish(202611, ROOT, 12_345, as_of, {"from": accounts[5]})
    stored = attestation.attestation(202611)
    assert (stored[0].hex(), stored[1], stored[2]) == (ROOT[2:], 12_345, as_of)
    assert stored[3] == chain[tx.block_number].timestamp
    assert attestation.latestPeriod() == 202611
    event = tx.events["LiabilitiesAttested"]
    assert (event["period"], event["total"], event["blockNumber"], event["attester"]) == (
        202611,
        12_345,
        as_of,
        accounts[5],
    )


def test_publish_revertsForNonAttester(attestation) -> None:  # type: ignore[no-untyped-def]
    role = keccak(text="ATTESTER_ROLE")
    with brownie.reverts(err("AccessControlUnauthorizedAccount", accounts[7], role)):
        attestation.publish(202611, ROOT, 1, 0, {"from": accounts[7]})
    assert attestation.latestPeriod() == 0


def test_publish_revertsOnOverwriteAndBackfill(attestation) -> None:  # type: ignore[no-untyped-def]
    attestation.publish(202611, ROOT, 1, 0, {"from": accounts[5]})
    for period in (202611, 202610):
        with brownie.reverts(err("LiabilityPeriodNotAfterLatest", period, 202611)):
            attestation.publish(period, OTHER_ROOT, 2, 0, {"from": accounts[5]})
    assert attestation.attestation(202611)[0].hex() == ROOT[2:]
    attestation.publish(202612, OTHER_ROOT, 2, 0, {"from": accounts[5]})
    assert attestation.latestPeriod() == 202612


@pytest.mark.parametrize("period", [0, 202600, 202613, 99_912])
def test_publish_revertsOnInvalidPeriod(attestation, period: int) -> None:  # type: ignore[no-untyped-def]
    with brownie.reverts(err("LiabilityPeriodInvalid", period)):
        attestation.publish(period, ROOT, 1, 0, {"from": accounts[5]})


def test_publish_revertsOnFutureBlockAndZeroRoot(attestation) -> None:  # type: ignore[no-untyped-def]
    future = web3.eth.block_number + 2
    with brownie.reverts(err("LiabilityBlockInFuture", future, future - 1)):
        attestation.publish(202611, ROOT, 1, future, {"from": accounts[5]})
    with brownie.reverts(err("LiabilityRootZero")):
        attestation.publish(202611, "0x" + "00" * 32, 1, 0, {"from": accounts[5]})


def test_attestation_revertsForUnknownPeriod(attestation) -> None:  # type: ignore[no-untyped-def]
    with brownie.reverts(err("LiabilityPeriodUnknown", 202501)):
        attestation.attestation(202501)


def test_attestation_invariantsHold(attestation) -> None:  # type: ignore[no-untyped-def]
    """A model of the published periods runs beside the contract: every publish is accepted exactly
    when its period is valid and after the latest one; a stored period never changes afterwards.

    Refusals are checked with ``eth_call`` (the same code path, without a reverted transaction's
    trace, which costs Brownie most of a second); accepted publishes are real transactions. Each step
    checks the latest period and the one stored last; the teardown checks every stored period.
    """
    chain.snapshot()
    periods = st.integers(min_value=202_500, max_value=202_813)

    class Machine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            chain.revert()
            self.stored: dict[int, tuple[str, int]] = {}
            self.latest = 0

        @rule(period=periods, total=st.integers(min_value=0, max_value=10**30), tag=st.integers(1, 250))
        def publish(self, period: int, total: int, tag: int) -> None:
            root = "0x" + f"{tag:02x}" * 32
            if 1 <= period % 100 <= 12 and period > self.latest:
                attestation.publish(period, root, total, 0, {"from": accounts[5]})
                self.stored[period], self.latest = (root[2:], total), period
            else:
                with brownie.reverts():
                    attestation.publish.call(period, root, total, 0, {"from": accounts[5]})

        def _matches(self, period: int) -> None:
            root, total = self.stored[period]
            got = attestation.attestation(period)
            assert (got[0].hex(), got[1]) == (root, total)

        @invariant()
        def latestIsTheModels(self) -> None:
            assert attestation.latestPeriod() == self.latest
            if self.latest:
                self._matches(self.latest)

        def teardown(self) -> None:
            for period in self.stored:
                self._matches(period)

    run_state_machine_as_test(
        Machine,
        settings=stateful_settings(),
    )
