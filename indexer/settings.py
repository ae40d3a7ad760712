"""Settings of the indexer (environment variables with the ``MSC_INDEXER_`` prefix)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from chain.settings import ChainSettings
from common.settings import EnvSettings
from common.sql.settings import DatabaseSettings


class IndexerSettings(EnvSettings):
    """How the indexer reads the chain and writes the mirror.

    Attributes:
        database_url: Mirror database; default ``MSC_DATABASE_URL`` (the platform database).
        rpc_url: JSON-RPC endpoint; default ``MSC_RPC_URL``.
        deployment_file: Deployment file naming the contracts to follow; default
            ``deployments/<MSC_NETWORK>.json``.
        build_dir: Brownie build folder with the contracts' ABIs; default ``MSC_BUILD_DIR``.
        stream: Name of this indexer's checkpoint (several indexers can share a database).
        confirmations: Blocks to stay behind the head; reorgs shallower than this never reach
            the mirror (0 follows the head and relies on reorg rollback).
        initial_span: First eth_getLogs block range; it adapts to the results from there.
        min_span / max_span: Bounds of the adaptive range.
        target_logs: Aim for this many logs per eth_getLogs answer (the range grows below half
            of it and shrinks above twice it).
        max_logs_per_request: An answer with more logs than this is treated as "range too large".
        header_batch_size: Block headers per JSON-RPC batch request.
        reorg_window: Near the head (within this many blocks) every block header is fetched and
            linked by parent hash; deeper ranges fetch only the headers they need.
        rpc_timeout_s / rpc_max_retries / rpc_backoff_s: per-request timeout, retries and the
            first backoff delay (doubling, capped at 30 s).
        poll_interval_s: How long ``follow`` sleeps when it has caught up.
        metrics_port: Serve Prometheus metrics on this port (None: off).
    """

    env_prefix = "MSC_INDEXER_"

    database_url: str | None = None
    rpc_url: str | None = None
    deployment_file: Path | None = None
    build_dir: Path | None = None
    stream: str = "default"
    confirmations: int = Field(default=0, ge=0)
    initial_span: int = Field(default=2_000, ge=1)
    min_span: int = Field(default=1, ge=1)
    max_span: int = Field(default=100_000, ge=1)
    target_logs: int = Field(default=5_000, ge=1)
    max_logs_per_request: int = Field(default=50_000, ge=1)
    header_batch_size: int = Field(default=200, ge=1)
    reorg_window: int = Field(default=64, ge=1)
    rpc_timeout_s: float = Field(default=30.0, gt=0)
    rpc_max_retries: int = Field(default=6, ge=0)
    rpc_backoff_s: float = Field(default=0.25, ge=0)
    poll_interval_s: float = Field(default=1.0, gt=0)
    metrics_port: int | None = None

    def resolved_database_url(self) -> str:
        """The mirror's URL (this setting, else the platform database)."""
        return self.database_url or DatabaseSettings.from_env().url

    def resolved_chain(self) -> tuple[str, Path, Path]:
        """RPC URL, deployment file and build folder, filled in from the chain settings."""
        chain = ChainSettings.from_env()
        rpc_url = self.rpc_url or chain.rpc_url
        deployment = self.deployment_file or chain.deployments_dir / f"{chain.network}.json"
        build_dir = self.build_dir or chain.build_dir
        return rpc_url, deployment, build_dir
