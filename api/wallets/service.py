"""Reading the deployment file and build artifacts once, not on every request.

The result is cached by the deployment file's modification time, so a redeploy is picked up on
the next request without a restart, and no request ever talks to the chain.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from web3 import Web3

from api.wallets.schemas import ContractsRead, DeployedContractRead, Eip712DomainRead, Eip712FieldRead
from chain.artifacts import load_artifact
from chain.deployments import deployment_path, read_deployment
from chain.eip712 import (
    Domain,
    authorization,
    cancel_authorization,
    carbon_domain,
    market_domain,
    msc_domain,
    order,
    permit,
    retirement,
)
from chain.errors import DeploymentNotFoundError, ToolchainMissingError
from chain.settings import ChainSettings
from common.errors import MSCError

MSC_CONTRACT = "MadiunStableCoin"
CARBON_CONTRACT = "CarbonCredits"
MARKET_CONTRACT = "CarbonMarket"
_ZERO = "0x" + "00" * 20


def _types(*typed_data: dict[str, Any]) -> dict[str, list[Eip712FieldRead]]:
    """The union of the ``types`` of typed-data documents."""
    merged: dict[str, list[Eip712FieldRead]] = {}
    for document in typed_data:
        for name, fields in document["types"].items():
            merged[name] = [Eip712FieldRead(**f) for f in fields]
    return merged


def signed_types(contract: str, domain: Domain) -> dict[str, list[Eip712FieldRead]]:
    """The EIP-712 types ``contract`` verifies, taken from the same builders the platform signs and
    verifies with (:mod:`chain.eip712`), so what wallets are told cannot drift from what is checked."""
    if contract == MSC_CONTRACT:
        return _types(
            permit(domain, _ZERO, _ZERO, 0, 0, 0),
            authorization(domain, "TransferWithAuthorization", _ZERO, _ZERO, 0, 0, 0, bytes(32)),
            authorization(domain, "ReceiveWithAuthorization", _ZERO, _ZERO, 0, 0, 0, bytes(32)),
            cancel_authorization(domain, _ZERO, bytes(32)),
        )
    if contract == CARBON_CONTRACT:
        return _types(retirement(domain, (_ZERO, 0, 0, _ZERO, "", "", 0, 0), 0, 0))
    if contract == MARKET_CONTRACT:
        return _types(order(domain, (_ZERO, 0, 0, 0, 0, 0, 0, 0)))
    raise KeyError(contract)


DOMAINS = {MSC_CONTRACT: msc_domain, CARBON_CONTRACT: carbon_domain, MARKET_CONTRACT: market_domain}
"""The contracts that verify EIP-712 signatures, with their domain (as each constructor sets it)."""


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
        types = {}
        for name, make_domain in DOMAINS.items():
            if name in deployment.contracts:
                domain = make_domain(deployment.chain_id, deployment.contracts[name].address)
                domains[name] = Eip712DomainRead(**domain.as_dict())
                types[name] = signed_types(name, domain)
        return ContractsRead(
            network=deployment.network,
            chain_id=deployment.chain_id,
            contracts=contracts,
            eip712_domains=domains,
            eip712_types=types,
        )
