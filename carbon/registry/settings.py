"""Where the registry API is and how patiently to talk to it (``MSC_REGISTRY_*``)."""

from __future__ import annotations

from pydantic import Field

from common.settings import EnvSettings


class RegistrySettings(EnvSettings):
    """Settings of :class:`carbon.registry.http.HttpRegistryAdapter`.

    Attributes:
        base_url: Root of the registry API (the ``/v1`` paths are appended).
        api_token: Bearer token issued by the registry to the platform.
        timeout_seconds: Per-request connect/read/write timeout.
        max_attempts: Tries per call, the first included (retries only on network errors, 429, 5xx).
        backoff_base_seconds: First retry delay before jitter; doubles per retry.
        backoff_max_seconds: Cap of one backoff delay.
        max_retry_after_seconds: Longest Retry-After honoured; a longer one ends the retries at once.
    """

    env_prefix = "MSC_REGISTRY_"

    base_url: str = "http://127.0.0.1:8700"
    api_token: str = Field(default="", repr=False)
    timeout_seconds: float = Field(default=10.0, gt=0)
    max_attempts: int = Field(default=5, ge=1, le=20)
    backoff_base_seconds: float = Field(default=0.5, ge=0)
    backoff_max_seconds: float = Field(default=30.0, ge=0)
    max_retry_after_seconds: float = Field(default=120.0, ge=0)
