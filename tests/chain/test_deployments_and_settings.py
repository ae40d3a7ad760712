"""The deployment file round trip, its errors, and settings validation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chain.deployments import DeployedContract, Deployment, deployment_path, read_deployment, write_deployment
from chain.errors import DeploymentNotFoundError
from chain.settings import ChainSettings
from chain.signer import Signer
from common.errors import ConfigurationError

MSC = DeployedContract("MadiunStableCoin", "0x5FbDB2315678afecb367f032d93F642f64180aa3", 1, "0x" + "ab" * 32)


def test_deployment_roundTripsThroughItsFile(tmp_path: Path) -> None:
    deployment = Deployment("development", 31337, "0x" + "11" * 32, {"MadiunStableCoin": MSC})
    path = deployment_path(tmp_path, "development")
    write_deployment(path, deployment)
    assert read_deployment(path) == deployment
    assert [p.name for p in tmp_path.iterdir()] == ["development.json"]  # no temp file left behind


def test_readDeployment_missingFileSaysHowToDeploy(tmp_path: Path) -> None:
    hint = re.escape("brownie run scripts/deploy.py --network polygon")
    with pytest.raises(DeploymentNotFoundError, match=hint):
        read_deployment(deployment_path(tmp_path, "polygon"))


def test_deployment_unknownContractListsDeployedOnes() -> None:
    deployment = Deployment("development", 31337, "0x", {"MadiunStableCoin": MSC})
    with pytest.raises(DeploymentNotFoundError, match=r"Escrow is not deployed .*MadiunStableCoin"):
        deployment.contract("Escrow")


def test_settings_readPrefixedEnvironment() -> None:
    settings = ChainSettings.from_env(
        {"MSC_RPC_URL": "http://node:8545", "msc_chain_id": "137", "OTHER": "x"}
    )
    assert settings.rpc_url == "http://node:8545"
    assert settings.chain_id == 137
    assert settings.network == "development"


def test_settings_invalidValueNamesTheVariable() -> None:
    with pytest.raises(ConfigurationError, match="MSC_CHAIN_ID"):
        ChainSettings.from_env({"MSC_CHAIN_ID": "polygon"})


def test_settings_keyIsSecretInRepr() -> None:
    key = "0x" + "12" * 32
    settings = ChainSettings.from_env({"MSC_SIGNER_KEY": key})
    assert key not in repr(settings)
    assert Signer.from_settings(settings).address == Signer.from_key(key).address


def test_signer_requiresAConfiguredKey() -> None:
    with pytest.raises(ConfigurationError, match="MSC_SIGNER_KEY"):
        Signer.from_settings(ChainSettings.from_env({}))


def test_signer_rejectsMalformedKey() -> None:
    with pytest.raises(ConfigurationError, match="not a valid private key"):
        Signer.from_key("0x1234")


def test_signer_keystoreRoundTrip(tmp_path: Path) -> None:
    import json

    from eth_account import Account

    key = "0x" + "34" * 32
    path = tmp_path / "key.json"
    path.write_text(json.dumps(Account.encrypt(key, "correct horse", iterations=2)))
    assert Signer.from_keystore(path, "correct horse").address == Account.from_key(key).address
    with pytest.raises(ConfigurationError, match="wrong password"):
        Signer.from_keystore(path, "wrong")


def test_devSigner_matchesAnvilsFirstAccount() -> None:
    assert Signer.dev(0).address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
