"""Settings of the audit jobs (environment variables with the ``MSC_AUDIT_`` prefix)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from chain.connection import connect
from chain.deployments import check_deployment, deployment_path, read_deployment
from chain.platform import Platform
from chain.settings import ChainSettings
from common.settings import EnvSettings
from common.sql.settings import DatabaseSettings


class AuditSettings(EnvSettings):
    """How reconciliation and anomaly scanning find their inputs and report.

    Attributes:
        database_url: The platform database (mirror, books, audit tables); default ``MSC_DATABASE_URL``.
        rpc_url / deployment_file / build_dir: The chain; defaults from the chain settings.
        stream: The indexer stream whose checkpoint is the block reconciled and scanned up to.
        alert_webhook_url: Failed reconciliations are POSTed here as JSON (empty: log and metric only).
        redemption_burners: Comma-separated addresses whose MSC burns are redemptions (empty: all).
        detector_config: The anomaly detector's TOML/JSON config (thresholds, allow-list).
        model_path: The IsolationForest the scanner scores with (empty: rules only).
        lookback_days: Earlier activity the rules see as context on each scan.
        metrics_port: Serve Prometheus metrics on this port while a job runs (None: off).
    """

    env_prefix = "MSC_AUDIT_"

    database_url: str | None = None
    rpc_url: str | None = None
    deployment_file: Path | None = None
    build_dir: Path | None = None
    stream: str = "default"
    alert_webhook_url: str | None = None
    redemption_burners: str = ""
    detector_config: Path | None = None
    model_path: Path | None = None
    lookback_days: int = Field(default=8, ge=0)
    metrics_port: int | None = None

    def resolved_database_url(self) -> str:
        """The database URL (this setting, else the platform database)."""
        return self.database_url or DatabaseSettings.from_env().url

    def burners(self) -> list[str]:
        """The redemption burners as a list."""
        return [a.strip() for a in self.redemption_burners.split(",") if a.strip()]

    def platform(self) -> Platform:
        """The deployed contracts (connects to the node and checks the deployment is current)."""
        chain = ChainSettings.from_env()
        rpc_url = self.rpc_url or chain.rpc_url
        path = self.deployment_file or deployment_path(chain.deployments_dir, chain.network)
        w3 = connect(rpc_url)
        deployment = read_deployment(path)
        check_deployment(w3, deployment)
        return Platform(w3, deployment, self.build_dir or chain.build_dir)
