"""The per-network deployment file: which contract lives at which address on which chain.

``scripts/deploy.py`` writes ``deployments/<network>.json``; everything in Python reads it here.
The file records the chain id and the genesis block hash, so a file left over from a restarted
development node (same chain id, new chain) is recognised as stale instead of silently pointing
at empty addresses.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from web3 import Web3

from chain.errors import DeploymentNotFoundError, StaleDeploymentError


@dataclass(frozen=True)
class DeployedContract:
    """One deployed contract."""

    name: str
    address: str
    block_number: int
    tx_hash: str


@dataclass(frozen=True)
class Deployment:
    """All contracts of the platform on one network."""

    network: str
    chain_id: int
    genesis_hash: str
    contracts: dict[str, DeployedContract] = field(default_factory=dict)

    def contract(self, name: str) -> DeployedContract:
        """The deployed contract called ``name``.

        Raises:
            DeploymentNotFoundError: it is not part of this deployment.
        """
        try:
            return self.contracts[name]
        except KeyError:
            known = ", ".join(sorted(self.contracts)) or "none"
            raise DeploymentNotFoundError(
                f"{name} is not deployed on {self.network} (deployed: {known})", contract=name
            ) from None

    def to_json(self) -> dict[str, Any]:
        """The file's JSON form."""
        return {
            "network": self.network,
            "chain_id": self.chain_id,
            "genesis_hash": self.genesis_hash,
            "contracts": {name: asdict(c) for name, c in sorted(self.contracts.items())},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Deployment:
        """Parses the file's JSON form."""
        return cls(
            network=data["network"],
            chain_id=int(data["chain_id"]),
            genesis_hash=data["genesis_hash"],
            contracts={name: DeployedContract(**c) for name, c in data["contracts"].items()},
        )


def deployment_path(deployments_dir: Path, network: str) -> Path:
    """Where the deployment file of ``network`` lives."""
    return deployments_dir / f"{network}.json"


def write_deployment(path: Path, deployment: Deployment) -> None:
    """Writes the file atomically: a reader sees the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as fh:
        json.dump(deployment.to_json(), fh, indent=2)
        fh.write("\n")
    os.replace(tmp, path)


def read_deployment(path: Path) -> Deployment:
    """Reads a deployment file.

    Raises:
        DeploymentNotFoundError: there is none; the message says how to make one.
    """
    if not path.exists():
        raise DeploymentNotFoundError(
            f"no deployment file at {path}: deploy with `brownie run scripts/deploy.py --network "
            f"{path.stem}` (make run does it for the local chain)",
            path=str(path),
        )
    return Deployment.from_json(json.loads(path.read_text()))


def check_deployment(w3: Web3, deployment: Deployment) -> None:
    """Checks that ``deployment`` describes the chain ``w3`` talks to.

    Raises:
        StaleDeploymentError: another chain id, another genesis block, or no code at an address.
    """
    chain_id = w3.eth.chain_id
    if chain_id != deployment.chain_id:
        raise StaleDeploymentError(
            f"deployment {deployment.network} is for chain {deployment.chain_id}, "
            f"the node is chain {chain_id}"
        )
    genesis = w3.eth.get_block(0)["hash"].to_0x_hex()
    if genesis != deployment.genesis_hash:
        raise StaleDeploymentError(
            f"deployment {deployment.network} was made on another chain (genesis {deployment.genesis_hash}, "
            f"the node's is {genesis}): redeploy"
        )
    for c in deployment.contracts.values():
        if not w3.eth.get_code(Web3.to_checksum_address(c.address)):
            raise StaleDeploymentError(f"no code at {c.address} for {c.name}: redeploy")
