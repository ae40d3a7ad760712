"""Settings of the webhook dispatcher (``MSC_WEBHOOK_*``)."""

from __future__ import annotations

from pydantic import Field

from common.settings import EnvSettings
from common.sql.settings import DatabaseSettings


class WebhookSettings(EnvSettings):
    """How webhooks are delivered.

    Attributes:
        database_url: Database with the webhook tables; empty means ``MSC_DATABASE_URL``.
        timeout_s: Per-POST timeout; a slower receiver counts as a failed attempt.
        max_attempts: Attempts before a delivery is dead (8 at 30 s doubling spans about an hour).
        backoff_base_s / backoff_max_s: First retry delay and its cap; jitter takes 0-50 % off.
        lease_s: How long a dispatcher owns a claimed delivery; must outlast ``timeout_s``.
        poll_interval_s: Sleep between polls when nothing is due.
    """

    env_prefix = "MSC_WEBHOOK_"

    database_url: str | None = None
    timeout_s: float = Field(default=10.0, gt=0)
    max_attempts: int = Field(default=8, ge=1, le=50)
    backoff_base_s: float = Field(default=30.0, gt=0)
    backoff_max_s: float = Field(default=6 * 3600.0, gt=0)
    lease_s: float = Field(default=60.0, gt=0)
    poll_interval_s: float = Field(default=1.0, gt=0)

    def resolved_database_url(self) -> str:
        """``database_url`` if set, else the platform's ``MSC_DATABASE_URL``."""
        return self.database_url or DatabaseSettings.from_env().url
