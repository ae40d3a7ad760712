"""Settings of the webhook dispatcher (``MSC_WEBHOOK_*``)."""

from __future__ import annotations

from typing import ClassVar, Literal, Self

from pydantic import Field, model_validator

from common.settings import EnvSettings
from common.sql.settings import DatabaseSettings
from settlement.webhooks.targets import TargetPolicy


class WebhookSettings(EnvSettings):
    """How webhooks are delivered.

    Attributes:
        database_url: Database with the webhook tables; empty means ``MSC_DATABASE_URL``.
        timeout_s: Per-POST timeout; a slower receiver counts as a failed attempt.
        max_attempts: Attempts before a delivery is dead (8 at 30 s doubling spans about an hour).
        backoff_base_s / backoff_max_s: First retry delay and its cap; jitter takes 0-50 % off.
        lease_s: How long a dispatcher owns a claimed delivery; must outlast ``timeout_s``.
        poll_interval_s: Sleep between polls when nothing is due.
        allow_private_targets: Deliver to loopback and private addresses too (development and
            tests only; refused in production).
        environment: The deployment's ``MSC_API_ENVIRONMENT``; ``production`` delivers to https
            URLs only.
    """

    env_prefix = "MSC_WEBHOOK_"
    env_aliases: ClassVar[dict[str, str]] = {"environment": "MSC_API_ENVIRONMENT"}

    database_url: str | None = None
    timeout_s: float = Field(default=10.0, gt=0)
    max_attempts: int = Field(default=8, ge=1, le=50)
    backoff_base_s: float = Field(default=30.0, gt=0)
    backoff_max_s: float = Field(default=6 * 3600.0, gt=0)
    lease_s: float = Field(default=60.0, gt=0)
    poll_interval_s: float = Field(default=1.0, gt=0)
    allow_private_targets: bool = False
    environment: Literal["development", "production"] = "development"

    @model_validator(mode="after")
    def _no_private_targets_in_production(self) -> Self:
        if self.environment == "production" and self.allow_private_targets:
            raise ValueError("allow_private_targets is for development only; it is refused in production")
        return self

    def target_policy(self) -> TargetPolicy:
        """Which webhook targets the dispatcher may connect to."""
        return TargetPolicy(
            allow_private=self.allow_private_targets, require_https=self.environment == "production"
        )

    def resolved_database_url(self) -> str:
        """``database_url`` if set, else the platform's ``MSC_DATABASE_URL``."""
        return self.database_url or DatabaseSettings.from_env().url
