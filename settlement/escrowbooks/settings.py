"""Settings of the escrow books (environment variables with the ``MSC_ESCROW_BOOKS_`` prefix)."""

from __future__ import annotations

from pydantic import Field

from chain.deployments import deployment_path, read_deployment
from chain.settings import ChainSettings
from common.settings import EnvSettings


class EscrowBooksSettings(EnvSettings):
    """Where and how deep the escrow books read the mirror.

    Attributes:
        escrow: The escrow's address; default: ``MerchantEscrow`` of the network's deployment file.
        stream: The indexer stream whose checkpoint says how far the mirror is.
        confirmations: Blocks below the chain head (as the indexer last saw it) before an event is
            booked: a reorg shallower than this never reaches the books. Use at least the depth of
            reorgs the chain can have; the books cannot take an entry back.
        page_size: Events booked per transaction.
    """

    env_prefix = "MSC_ESCROW_BOOKS_"

    escrow: str | None = None
    stream: str = "default"
    confirmations: int = Field(default=12, ge=0)
    page_size: int = Field(default=500, ge=1)

    def resolved_escrow(self) -> str:
        """The escrow's address, lowercase (as the mirror stores it).

        Raises:
            DeploymentNotFoundError: no address is set and the deployment file has no escrow.
        """
        if self.escrow:
            return self.escrow.lower()
        chain = ChainSettings.from_env()
        deployment = read_deployment(deployment_path(chain.deployments_dir, chain.network))
        return deployment.contract("MerchantEscrow").address.lower()
