"""Settings of the chain layer (environment variables with the ``MSC_`` prefix)."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from common.settings import EnvSettings

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ChainSettings(EnvSettings):
    """Where the chain is and who signs.

    Attributes:
        rpc_url: JSON-RPC endpoint (``MSC_RPC_URL``); the embedded default is the local anvil.
        network: Brownie network id naming the deployment file ``deployments/<network>.json``.
        chain_id: If set, connecting to a node with another chain id is refused.
        build_dir: Brownie's build folder with the compiled contracts' ABIs.
        deployments_dir: Folder of the per-network deployment files.
        signer_key: Hex private key of the platform's signer (never commit one).
        keystore_path: Alternatively, an encrypted JSON keystore ...
        keystore_password: ... and its password.
        receipt_timeout_s: How long to wait for a receipt before giving up on a transaction.
    """

    env_prefix = "MSC_"

    rpc_url: str = "http://127.0.0.1:8545"
    network: str = "development"
    chain_id: int | None = None
    build_dir: Path = PROJECT_ROOT / "build"
    deployments_dir: Path = PROJECT_ROOT / "deployments"
    signer_key: SecretStr | None = None
    keystore_path: Path | None = None
    keystore_password: SecretStr | None = None
    receipt_timeout_s: float = 120.0
