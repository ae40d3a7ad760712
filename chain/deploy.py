"""Deploys the whole platform with web3.py from the compiled artifacts in ``build/``.

The Brownie script (``scripts/deploy.py``) is how an operator deploys to a live network. This is
the same deployment for a local node whose accounts are unlocked (anvil): the tests, the
benchmarks and ``msc up`` use it to put a fresh platform on a private node in a second, without a
Brownie process. Both take the same constructor arguments in the same order, so what is tested
is what ships.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from web3 import Web3

from chain.artifacts import load_artifact
from chain.deployments import DeployedContract, Deployment, write_deployment
from common.errors import ConfigurationError

#: The roles a deployment hands out (see scripts/deploy.py, which reads them from MSC_ROLE_*).
ROLES = (
    "OWNER",
    "MASTER_MINTER",
    "PAUSER",
    "FREEZER",
    "RESCUER",
    "RESERVE_ATTESTER",
    "STAKING_OPERATOR",
    "STAKING_PENALTY_RECIPIENT",
    "ESCROW_DEPOSITOR",
    "ESCROW_ARBITER",
    "ESCROW_OPERATOR",
    "CARBON_REGISTRAR",
    "CARBON_VERIFIER",
    "CARBON_BRIDGE_OPERATOR",
    "MARKET_SETTLER",
    "MARKET_OPERATOR",
    "MARKET_FEE_RECIPIENT",
    "LIABILITY_ATTESTER",
)

MARKET_FEE_BPS = 25
MARKET_SIZE_LIMIT_TONNES = 1_000


@dataclass(frozen=True)
class DeployPlan:
    """Who deploys, who holds each role, and the market's opening terms.

    ``roles`` maps a name of :data:`ROLES` to an address; a role not given goes to the deployer.
    """

    deployer: str
    roles: Mapping[str, str] = field(default_factory=dict)
    network: str = "development"
    market_fee_bps: int = MARKET_FEE_BPS
    market_size_limit: int = MARKET_SIZE_LIMIT_TONNES

    def holder(self, role: str) -> str:
        """The address holding ``role``."""
        if role not in ROLES:
            raise ConfigurationError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
        return Web3.to_checksum_address(self.roles.get(role, self.deployer))


def deploy_platform(w3: Web3, build_dir: Path, plan: DeployPlan, out: Path | None = None) -> Deployment:
    """Deploys MSC, LockStaking, MerchantEscrow, CarbonCredits, CarbonMarket and
    LiabilityAttestation; returns (and, with ``out``, writes) the deployment record.

    The deployer must be an account the node signs for (anvil's development accounts).
    """
    for role in plan.roles:
        plan.holder(role)  # unknown role names fail before anything is sent
    r = plan.holder
    deployed: dict[str, DeployedContract] = {}

    def create(name: str, *args: Any) -> str:
        artifact = load_artifact(build_dir, name)
        factory = w3.eth.contract(abi=list(artifact.abi), bytecode=artifact.bytecode)
        tx_hash = factory.constructor(*args).transact({"from": plan.deployer})
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120)
        if receipt["status"] != 1:
            raise ConfigurationError(f"deploying {name} failed (tx {tx_hash.to_0x_hex()})")
        address = str(receipt["contractAddress"])
        deployed[name] = DeployedContract(name, address, int(receipt["blockNumber"]), tx_hash.to_0x_hex())
        return address

    msc = create(
        "MadiunStableCoin",
        r("OWNER"),
        r("MASTER_MINTER"),
        r("PAUSER"),
        r("FREEZER"),
        r("RESCUER"),
        r("RESERVE_ATTESTER"),
    )
    create("LockStaking", msc, r("OWNER"), r("STAKING_OPERATOR"), r("PAUSER"), r("STAKING_PENALTY_RECIPIENT"))
    create(
        "MerchantEscrow", msc, r("OWNER"), r("ESCROW_DEPOSITOR"), r("ESCROW_ARBITER"), r("ESCROW_OPERATOR")
    )
    carbon = create(
        "CarbonCredits",
        r("OWNER"),
        r("CARBON_REGISTRAR"),
        r("CARBON_VERIFIER"),
        r("CARBON_BRIDGE_OPERATOR"),
        r("PAUSER"),
    )
    create(
        "CarbonMarket",
        msc,
        carbon,
        r("OWNER"),
        r("MARKET_SETTLER"),
        r("MARKET_OPERATOR"),
        r("MARKET_FEE_RECIPIENT"),
        plan.market_fee_bps,
        plan.market_size_limit,
    )
    create("LiabilityAttestation", r("OWNER"), r("LIABILITY_ATTESTER"))
    deployment = Deployment(
        network=plan.network,
        chain_id=w3.eth.chain_id,
        genesis_hash=w3.eth.get_block(0)["hash"].to_0x_hex(),
        contracts=deployed,
    )
    if out is not None:
        write_deployment(out, deployment)
    return deployment
