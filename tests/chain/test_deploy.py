"""chain.deploy puts the whole platform on a private anvil with the roles the plan names."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from web3 import Web3

from chain.deploy import DeployPlan, deploy_platform
from chain.deployments import read_deployment
from chain.localnode import AnvilNode
from chain.platform import Platform
from chain.settings import PROJECT_ROOT
from common.errors import ConfigurationError

BUILD = PROJECT_ROOT / "build"


@pytest.fixture(scope="module")
def w3() -> Iterator[Web3]:
    with AnvilNode(port=8598) as node:
        yield Web3(Web3.HTTPProvider(node.url))


def test_deploys_all_five_contracts_with_the_planned_roles(w3: Web3, tmp_path: Path) -> None:
    deployer, escrow_depositor, settler = w3.eth.accounts[0], w3.eth.accounts[3], w3.eth.accounts[4]
    plan = DeployPlan(deployer, roles={"ESCROW_DEPOSITOR": escrow_depositor, "MARKET_SETTLER": settler})
    out = tmp_path / "development.json"
    deployment = deploy_platform(w3, BUILD, plan, out)

    assert read_deployment(out) == deployment
    assert set(deployment.contracts) == {
        "MadiunStableCoin",
        "LockStaking",
        "MerchantEscrow",
        "CarbonCredits",
        "CarbonMarket",
        "LiabilityAttestation",
    }
    platform = Platform(w3, deployment, BUILD)
    assert platform.msc.functions.decimals().call() == 2
    assert platform.escrow.functions.token().call() == platform.msc.address
    depositor_role = platform.escrow.functions.DEPOSITOR_ROLE().call()
    assert platform.escrow.functions.hasRole(depositor_role, escrow_depositor).call()
    assert not platform.escrow.functions.hasRole(depositor_role, deployer).call()
    fee_bps, fee_recipient, size_limit = platform.market.functions.terms().call()
    assert (fee_bps, fee_recipient, size_limit) == (25, deployer, 1_000)


def test_an_unknown_role_is_refused_before_anything_is_sent(w3: Web3) -> None:
    before = w3.eth.block_number
    with pytest.raises(ConfigurationError, match="unknown role"):
        deploy_platform(
            w3, BUILD, DeployPlan(w3.eth.accounts[0], roles={"MINTER_OF_ALL": w3.eth.accounts[1]})
        )
    assert w3.eth.block_number == before
