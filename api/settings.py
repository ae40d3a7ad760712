"""Settings of the API process (``MSC_API_*``), refused at start-up when unsafe for production."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, ClassVar, Literal, Self

from pydantic import Field, SecretStr, model_validator

from common.secrets import KNOWN_PUBLIC_SECRETS, secret_hash, secret_refusal
from common.settings import EnvSettings
from common.sql.settings import DatabaseSettings

_HEX_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class ApiSettings(EnvSettings):
    """How the API runs.

    Attributes:
        database_url: SQLAlchemy URL; empty means ``MSC_DATABASE_URL`` (the platform database).
        max_body_bytes: Largest request body accepted; larger ones get 413 before any handler runs.
        environment: ``production`` refuses to start with a secret that is empty (where one is
            needed), published in the repository or not random (:mod:`common.secrets`).
        webhook_secret: Shared secret that signs incoming platform webhooks (Pi callbacks).
        admin_secret: Bootstraps operator and auditor API keys (``POST /v1/api-keys``); empty
            disables that endpoint. Only its SHA-256 is kept (in ``admin_secret_hash``): the
            settings never hold it after validation. Production needs no shared secret at all:
            issue the first operator key with ``python -m api keys issue --role operator``.
        admin_secret_hash: The hex SHA-256 of the admin secret, instead of the secret itself.
        fixed_rate_idr_per_pi: Rupiah per Pi that quotes are priced at (the fixed-rate source).
        webhook_allow_private_targets: Accept webhook URLs on loopback and private addresses
            (``MSC_WEBHOOK_ALLOW_PRIVATE_TARGETS``, shared with the dispatcher); development and
            tests only, refused in production.
    """

    env_prefix = "MSC_API_"
    env_aliases: ClassVar[dict[str, str]] = {
        "webhook_allow_private_targets": "MSC_WEBHOOK_ALLOW_PRIVATE_TARGETS"
    }

    database_url: str | None = None
    max_body_bytes: int = Field(default=64 * 1024, gt=0)
    environment: Literal["development", "production"] = "development"
    webhook_secret: SecretStr = SecretStr("")
    admin_secret: SecretStr = SecretStr("")
    admin_secret_hash: str = ""
    fixed_rate_idr_per_pi: Decimal = Field(default=Decimal("15000"), gt=0)
    webhook_allow_private_targets: bool = False

    @model_validator(mode="before")
    @classmethod
    def _keep_only_the_admin_secrets_hash(cls, values: Any) -> Any:
        """Checks the admin secret (in production) and replaces it with its hash."""
        if not isinstance(values, dict):
            return values
        raw = values.get("admin_secret") or ""
        secret = raw.get_secret_value() if isinstance(raw, SecretStr) else str(raw)
        if not secret:
            return values
        if values.get("environment") == "production":
            problem = secret_refusal(secret)
            if problem is not None:
                raise ValueError(f"admin_secret is refused in production: {problem}")
        if values.get("admin_secret_hash"):
            raise ValueError("set admin_secret or admin_secret_hash, not both")
        return {**values, "admin_secret": SecretStr(""), "admin_secret_hash": secret_hash(secret)}

    @model_validator(mode="after")
    def _refuse_default_secrets_in_production(self) -> Self:
        if self.admin_secret_hash and not _HEX_SHA256.match(self.admin_secret_hash):
            raise ValueError("admin_secret_hash must be 64 lower-case hex digits (a SHA-256)")
        if self.environment != "production":
            return self
        if self.webhook_allow_private_targets:
            raise ValueError("webhook_allow_private_targets is for development only; refused in production")
        if self.admin_secret_hash in {secret_hash(known) for known in KNOWN_PUBLIC_SECRETS}:
            raise ValueError("admin_secret_hash is refused in production: it hashes a published secret")
        problem = secret_refusal(self.webhook_secret.get_secret_value())
        if problem is not None:
            raise ValueError(f"webhook_secret is refused in production: {problem}")
        return self

    def resolved_database_url(self) -> str:
        """The database to use: ``database_url`` if set, else the platform's ``MSC_DATABASE_URL``."""
        return self.database_url or DatabaseSettings.from_env().url
