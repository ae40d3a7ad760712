"""Settings of the API process (``MSC_API_*``), refused at start-up when unsafe for production."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar, Literal, Self

from pydantic import Field, SecretStr, model_validator

from common.settings import EnvSettings
from common.sql.settings import DatabaseSettings

# Values that are known placeholders: a production process refuses them like an empty secret.
PLACEHOLDER_SECRETS = frozenset({"", "changethis", "changeme", "secret", "admin", "password", "test"})
MIN_SECRET_LENGTH = 16


class ApiSettings(EnvSettings):
    """How the API runs.

    Attributes:
        database_url: SQLAlchemy URL; empty means ``MSC_DATABASE_URL`` (the platform database).
        max_body_bytes: Largest request body accepted; larger ones get 413 before any handler runs.
        environment: ``production`` refuses to start with an empty or placeholder secret.
        webhook_secret: Shared secret that signs incoming platform webhooks (Pi callbacks).
        admin_secret: Bootstraps operator and auditor API keys (``POST /v1/api-keys``); empty
            disables that endpoint.
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
    fixed_rate_idr_per_pi: Decimal = Field(default=Decimal("15000"), gt=0)
    webhook_allow_private_targets: bool = False

    @model_validator(mode="after")
    def _refuse_default_secrets_in_production(self) -> Self:
        if self.environment != "production":
            return self
        for name in ("webhook_secret", "admin_secret"):
            value: SecretStr = getattr(self, name)
            secret = value.get_secret_value()
            if secret.lower() in PLACEHOLDER_SECRETS or len(secret) < MIN_SECRET_LENGTH:
                raise ValueError(
                    f"{name} must be a random secret of at least {MIN_SECRET_LENGTH} characters in "
                    "production (it is empty or a placeholder)"
                )
        return self

    def resolved_database_url(self) -> str:
        """The database to use: ``database_url`` if set, else the platform's ``MSC_DATABASE_URL``."""
        return self.database_url or DatabaseSettings.from_env().url
