"""Deploys the platform's contracts with Brownie and writes ``deployments/<network>.json``.

Run it with ``brownie run scripts/deploy.py --network <id>``. On the development network the
deployer is anvil's first unlocked account; on a live network it is the key in
``MSC_DEPLOYER_KEY`` (never a key in the repository). Each role goes to the address in
``MSC_ROLE_<ROLE>`` (see ROLES), and to the deployer when that variable is unset — on a live
network, set them to the issuer's real role holders, ideally multisigs.
"""

from __future__ import annotations

import os
from pathlib import Path

from brownie import (
    CarbonCredits,
    CarbonMarket,
    LiabilityAttestation,
    LockStaking,
    MadiunStableCoin,
    MerchantEscrow,
    accounts,
    network,
    web3,
)
from brownie._config import CONFIG
from brownie.network.account import Account as BrownieAccount

from chain.deployments import DeployedContract, Deployment, deployment_path, write_deployment

ROOT = Path(__file__).resolve().parent.parent
ROLES = (
    "OWNER",  # MSC owner and admin of the other contracts
    "MASTER_MINTER",
    "PAUSER",
    "FREEZER",
    "RESCUER",
    "RESERVE_ATTESTER",
    "STAKING_OPERATOR",  # configures tiers, funds rewards
    "STAKING_PENALTY_RECIPIENT",
    "ESCROW_DEPOSITOR",  # the settlement service
    "ESCROW_ARBITER",
    "ESCROW_OPERATOR",  # guarantee fund, dispute window, pause
    "CARBON_REGISTRAR",  # registers carbon projects
    "CARBON_VERIFIER",  # verifies vintages, issues credits
    "CARBON_BRIDGE_OPERATOR",  # relays the national registry's bridge-back answers
    "MARKET_SETTLER",  # the matching engine's signer, submits matched fills
    "MARKET_OPERATOR",  # allowlist, size limit, fee
    "MARKET_FEE_RECIPIENT",
    "LIABILITY_ATTESTER",  # publishes the monthly proof-of-liabilities root
)

#: Market terms on deployment (the operator can change them): 0.25% fee, and only allowlisted
#: (verified) entities may place orders above 1,000 tonnes.
MARKET_FEE_BPS = 25
MARKET_SIZE_LIMIT_TONNES = 1_000


def deployer_account() -> BrownieAccount:
    """The account that pays for the deployment."""
    if CONFIG.network_type == "development":
        return accounts[0]
    key = os.environ.get("MSC_DEPLOYER_KEY")
    if not key:
        raise SystemExit("deploy: set MSC_DEPLOYER_KEY to deploy on a live network")
    return accounts.add(key)


def role_holders(default: str) -> dict[str, str]:
    """Each role's holder, from MSC_ROLE_<ROLE> or the deployer."""
    return {role: os.environ.get(f"MSC_ROLE_{role}", default) for role in ROLES}


def deploy(deployer: BrownieAccount | None = None, deployments_dir: Path | None = None) -> Deployment:
    """Deploys every contract and writes the deployment file; returns what it wrote.

    Args:
        deployer: who pays (default: see :func:`deployer_account`).
        deployments_dir: where the deployment file goes (default: ``deployments/``).
    """
    deployer = deployer or deployer_account()
    roles = role_holders(deployer.address)
    msc = MadiunStableCoin.deploy(
        roles["OWNER"],
        roles["MASTER_MINTER"],
        roles["PAUSER"],
        roles["FREEZER"],
        roles["RESCUER"],
        roles["RESERVE_ATTESTER"],
        {"from": deployer},
    )
    staking = LockStaking.deploy(
        msc,
        roles["OWNER"],
        roles["STAKING_OPERATOR"],
        roles["PAUSER"],
        roles["STAKING_PENALTY_RECIPIENT"],
        {"from": deployer},
    )
    escrow = MerchantEscrow.deploy(
        msc,
        roles["OWNER"],
        roles["ESCROW_DEPOSITOR"],
        roles["ESCROW_ARBITER"],
        roles["ESCROW_OPERATOR"],
        {"from": deployer},
    )
    carbon = CarbonCredits.deploy(
        roles["OWNER"],
        roles["CARBON_REGISTRAR"],
        roles["CARBON_VERIFIER"],
        roles["CARBON_BRIDGE_OPERATOR"],
        roles["PAUSER"],
        {"from": deployer},
    )
    market = CarbonMarket.deploy(
        msc,
        carbon,
        roles["OWNER"],
        roles["MARKET_SETTLER"],
        roles["MARKET_OPERATOR"],
        roles["MARKET_FEE_RECIPIENT"],
        MARKET_FEE_BPS,
        MARKET_SIZE_LIMIT_TONNES,
        {"from": deployer},
    )
    liabilities = LiabilityAttestation.deploy(roles["OWNER"], roles["LIABILITY_ATTESTER"], {"from": deployer})
    deployed = (
        ("MadiunStableCoin", msc),
        ("LockStaking", staking),
        ("MerchantEscrow", escrow),
        ("CarbonCredits", carbon),
        ("CarbonMarket", market),
        ("LiabilityAttestation", liabilities),
    )
    contracts = {name: _record(name, c) for name, c in deployed}
    deployment = Deployment(
        network=network.show_active(),
        chain_id=web3.eth.chain_id,
        genesis_hash=web3.eth.get_block(0)["hash"].to_0x_hex(),
        contracts=contracts,
    )
    write_deployment(deployment_path(deployments_dir or ROOT / "deployments", deployment.network), deployment)
    return deployment


def _record(name: str, contract: object) -> DeployedContract:
    tx = contract.tx  # type: ignore[attr-defined]
    return DeployedContract(
        name=name,
        address=str(contract.address),
        block_number=tx.block_number,
        tx_hash=tx.txid,  # type: ignore[attr-defined]
    )


def main() -> None:
    """Brownie entry point."""
    deployment = deploy()
    for name, c in deployment.contracts.items():
        print(f"{name}: {c.address} (block {c.block_number})")
