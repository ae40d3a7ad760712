"""LiabilityAttestation: role-gated, strictly increasing, never-overwritten monthly roots."""

from __future__ import annotations

import brownie
import pytest
from brownie import LiabilityAttestation, accounts, chain, web3
from eth_utils import keccak

from tests.support.brownie_errors import err

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
