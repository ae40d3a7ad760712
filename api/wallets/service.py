"""Reading the deployment file and build artifacts once, not on every request.

The result is cached by the deployment file's modification time, so a redeploy is picked up on
the next request without a restart, and no request ever talks to the chain.
"""

from __future__ import annotations

import threading
from pathlib import Path

from web3 import Web3

from api.wallets.schemas import ContractsRead, DeployedContractRead, Eip712DomainRead
from chain.artifacts import load_artifact
from chain.deployments import deployment_path, read_deployment
from chain.eip712 import msc_domain
from chain.errors import DeploymentNotFoundError, ToolchainMissingError
from chain.settings import ChainSettings
from common.errors import MSCError

MSC_CONTRACT = "MadiunStableCoin"


class ContractsNotDeployedError(MSCError):
    """There is no usable deployment for the API's network yet."""

    code = "contracts_not_deployed"
    status_code = 503

    def __init__(self, network: str, problem: str) -> None:
        super().__init__(
            f"the platform's contracts are not available on {network}: {problem}", network=network
        )


class ContractsCatalog:
    """The deployed contracts of one network, cached per version of the deployment file."""

    def __init__(self, settings: ChainSettings) -> None:
        self.network = settings.network
        self.build_dir = settings.build_dir
        self.path: Path = deployment_path(settings.deployments_dir, settings.network)
        self._lock = threading.Lock()
        self._cached: tuple[int, ContractsRead] | None = None

    def current(self) -> ContractsRead:
        """The contracts as of the deployment file now on disk.

        Raises:
            ContractsNotDeployedError: no deployment file, or an artifact is missing.
        """
        try:
            version = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            raise ContractsNotDeployedError(
                self.network, f"no deployment file at {self.path}; deploy the contracts first"
            ) from None
        with self._lock:
            if self._cached is None or self._cached[0] != version:
                self._cached = (version, self._load())
            return self._cached[1]

    def _load(self) -> ContractsRead:
        try:
            deployment = read_deployment(self.path)
            contracts = [
                DeployedContractRead(
                    name=c.name,
                    address=Web3.to_checksum_address(c.address),
                    block_number=c.block_number,
                    abi=list(load_artifact(self.build_dir, c.name).abi),
                )
                for c in sorted(deployment.contracts.values(), key=lambda c: c.name)
            ]
        except (DeploymentNotFoundError, ToolchainMissingError) as exc:
            raise ContractsNotDeployedError(self.network, exc.message) from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise ContractsNotDeployedError(self.network, f"unreadable deployment file: {exc}") from exc
        domains = {}
        if MSC_CONTRACT in deployment.contracts:
            domain = msc_domain(deployment.chain_id, deployment.contracts[MSC_CONTRACT].address)
            domains[MSC_CONTRACT] = Eip712DomainRead(**domain.as_dict())
        return ContractsRead(
            network=deployment.network,
            chain_id=deployment.chain_id,
            contracts=contracts,
            eip712_domains=domains,
        )
