"""Slither over contracts/: no high or medium finding that is not triaged with a justification."""

from __future__ import annotations

import pytest

from tools.slither_gate import Finding, run_gate


@pytest.mark.slow
def test_slither_hasNoUntriagedHighOrMediumFinding() -> None:
    result = run_gate()
    assert result.findings, "slither reported nothing at all: did it analyse the contracts?"
    assert result.untriaged == [], "\n".join(
        f"{f.impact} {f.check}: {f.description}" for f in result.untriaged
    )
    assert result.stale_triage == []


def test_gate_failsOnAnUntriagedMediumFinding() -> None:
    finding = Finding("Medium", "High", "reentrancy-no-eth", "MadiunStableCoin.mint", "made up for the test")
    low = Finding("Low", "Medium", "timestamp", "MadiunStableCoin.permit", "accepted by impact")
    result = run_gate([finding, low])
    assert result.untriaged == [finding]
    assert not result.ok


@pytest.mark.slow
def test_msc_conformsToErc20() -> None:
    from tools.slither_gate import check_erc

    assert check_erc("contracts/MadiunStableCoin.sol", "MadiunStableCoin", "ERC20") == []


@pytest.mark.slow
def test_ercCheck_reportsANonToken() -> None:
    from tools.slither_gate import check_erc

    failures = check_erc("contracts/mocks/PermitVault.sol", "PermitVault", "ERC20")
    assert any("transfer(address,uint256) is missing" in f for f in failures)


@pytest.mark.slow
def test_carbonCredits_conformsToErc1155() -> None:
    from tools.slither_gate import check_erc

    assert check_erc("contracts/CarbonCredits.sol", "CarbonCredits", "ERC1155") == []
