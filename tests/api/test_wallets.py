"""GET /v1/wallets/contracts: addresses, ABIs and EIP-712 domains from the deployment file + artifacts."""

from __future__ import annotations

import json
import os
from pathlib import Path

from web3 import Web3

from chain.artifacts import load_artifact
from chain.deployments import DeployedContract, Deployment, write_deployment
from tests.api.support import BUILD_DIR, Harness

MSC = "0x5fbdb2315678afecb367f032d93f642f64180aa3"
ESCROW = "0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0"


def _deploy(folder: Path, chain_id: int = 31337, **contracts: str) -> Path:
    path = folder / "development.json"
    write_deployment(
        path,
        Deployment(
            network="development",
            chain_id=chain_id,
            genesis_hash="0x" + "00" * 32,
            contracts={
                name: DeployedContract(
                    name=name, address=address, block_number=i + 1, tx_hash="0x" + "11" * 32
                )
                for i, (name, address) in enumerate(contracts.items())
            },
        ),
    )
    return path


def test_noDeployment_is503(api: Harness) -> None:
    response = api.client.get("/v1/wallets/contracts")
    assert response.status_code == 503
    assert response.json()["error"] == "contracts_not_deployed"
    assert "deploy" in response.json()["message"]


def test_contracts_comeFromTheDeploymentFileAndArtifacts(api: Harness) -> None:
    _deploy(api.deployments_dir, MadiunStableCoin=MSC, MerchantEscrow=ESCROW)
    response = api.client.get("/v1/wallets/contracts")  # the RPC URL is unreachable: no chain call
    assert response.status_code == 200
    body = response.json()
    assert body["chain_id"] == 31337 and body["network"] == "development"
    by_name = {c["name"]: c for c in body["contracts"]}
    assert set(by_name) == {"MadiunStableCoin", "MerchantEscrow"}
    assert by_name["MadiunStableCoin"]["address"] == Web3.to_checksum_address(MSC)
    assert by_name["MerchantEscrow"]["abi"] == list(load_artifact(BUILD_DIR, "MerchantEscrow").abi)
    assert {"permit", "transferWithAuthorization"} <= {
        item.get("name") for item in by_name["MadiunStableCoin"]["abi"]
    }
    assert body["eip712_domains"] == {
        "MadiunStableCoin": {
            "name": "Madiun Stable Coin",
            "version": "1",
            "chainId": 31337,
            "verifyingContract": Web3.to_checksum_address(MSC),
        }
    }


def test_redeploy_isPickedUpWithoutRestart(api: Harness) -> None:
    path = _deploy(api.deployments_dir, MadiunStableCoin=MSC)
    assert api.client.get("/v1/wallets/contracts").json()["chain_id"] == 31337
    _deploy(api.deployments_dir, chain_id=80002, MadiunStableCoin=ESCROW)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    body = api.client.get("/v1/wallets/contracts").json()
    assert body["chain_id"] == 80002
    assert body["eip712_domains"]["MadiunStableCoin"]["verifyingContract"] == Web3.to_checksum_address(ESCROW)


def test_missingArtifact_orBrokenFile_is503(api: Harness) -> None:
    _deploy(api.deployments_dir, NoSuchContract=MSC)
    assert api.client.get("/v1/wallets/contracts").status_code == 503
    (api.deployments_dir / "development.json").write_text(json.dumps({"network": "development"}))
    response = api.client.get("/v1/wallets/contracts")
    assert response.status_code == 503
    assert response.json()["error"] == "contracts_not_deployed"


CREDITS = "0xcf7ed3acca5a467e9e704c703e8d87f634fb0fc9"
MARKET = "0xdc64a140aa3e981100a9beca4e685f962f0cf6c9"


def test_carbonCreditsAndMarket_domainsAndTypes_areServed(api: Harness) -> None:
    _deploy(api.deployments_dir, MadiunStableCoin=MSC, CarbonCredits=CREDITS, CarbonMarket=MARKET)
    body = api.client.get("/v1/wallets/contracts").json()
    assert body["eip712_domains"]["CarbonCredits"] == {
        "name": "MSC Carbon Credits",
        "version": "1",
        "chainId": 31337,
        "verifyingContract": Web3.to_checksum_address(CREDITS),
    }
    assert body["eip712_domains"]["CarbonMarket"] == {
        "name": "MSC Carbon Market",
        "version": "1",
        "chainId": 31337,
        "verifyingContract": Web3.to_checksum_address(MARKET),
    }
    types = body["eip712_types"]
    assert set(types["MadiunStableCoin"]) == {
        "EIP712Domain",
        "Permit",
        "TransferWithAuthorization",
        "ReceiveWithAuthorization",
        "CancelAuthorization",
    }
    assert set(types["CarbonCredits"]) == {"EIP712Domain", "Retirement"}
    order = ",".join(f"{f['type']} {f['name']}" for f in types["CarbonMarket"]["Order"])
    # The contract's ORDER_TYPEHASH string, member for member.
    assert order == (
        "address trader,uint8 side,uint256 tokenId,uint64 amount,"
        "uint256 price,uint64 expiry,uint256 salt,uint256 nonce"
    )
    domain_type = [f["name"] for f in types["CarbonCredits"]["EIP712Domain"]]
    assert domain_type == ["name", "version", "chainId", "verifyingContract"]
