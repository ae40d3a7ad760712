"""The deployed platform as web3.py contract objects."""

from __future__ import annotations

from pathlib import Path

from web3 import Web3
from web3.contract import Contract

from chain.artifacts import all_abis, load_artifact
from chain.connection import connect
from chain.deployments import Deployment, check_deployment, deployment_path, read_deployment
from chain.revert import RevertDecoder
from chain.settings import ChainSettings


class Platform:
    """The platform's contracts on one network, with a revert decoder for all of them."""

    def __init__(self, w3: Web3, deployment: Deployment, build_dir: Path) -> None:
        self.w3 = w3
        self.deployment = deployment
        self._build_dir = build_dir
        self.decoder = RevertDecoder(all_abis(build_dir).values())
        self._contracts: dict[str, Contract] = {}

    def contract(self, name: str) -> Contract:
        """The web3.py contract object of deployed contract ``name``."""
        if name not in self._contracts:
            deployed = self.deployment.contract(name)
            abi = load_artifact(self._build_dir, name).abi
            self._contracts[name] = self.w3.eth.contract(
                address=Web3.to_checksum_address(deployed.address), abi=list(abi)
            )
        return self._contracts[name]

    @property
    def msc(self) -> Contract:
        """The Madiun Stable Coin token."""
        return self.contract("MadiunStableCoin")

    @property
    def staking(self) -> Contract:
        """Lock-and-earn staking of MSC."""
        return self.contract("LockStaking")

    @property
    def escrow(self) -> Contract:
        """The merchant escrow holding customer payments."""
        return self.contract("MerchantEscrow")

    @property
    def carbon(self) -> Contract:
        """Tokenised carbon credits (ERC-1155)."""
        return self.contract("CarbonCredits")

    @property
    def market(self) -> Contract:
        """Delivery-versus-payment settlement of matched carbon orders."""
        return self.contract("CarbonMarket")


def load_platform(settings: ChainSettings | None = None) -> Platform:
    """Connects to the configured node and loads its deployment, checking it is not stale."""
    settings = settings or ChainSettings.from_env()
    w3 = connect(settings.rpc_url, expected_chain_id=settings.chain_id)
    deployment = read_deployment(deployment_path(settings.deployments_dir, settings.network))
    check_deployment(w3, deployment)
    return Platform(w3, deployment, settings.build_dir)
