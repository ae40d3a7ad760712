"""Settings of merchant refunds (environment variables with the ``MSC_REFUNDS_`` prefix)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from common.settings import EnvSettings


class RefundSettings(EnvSettings):
    """How refunds are signed and sent.

    Attributes:
        operator_key: Private key of the escrow's OPERATOR_ROLE holder, which pays refunds of
            released payments from the guarantee fund (``coverRefund``). None: refunds after
            release are not offered (the page says so); refunds while held still work.
        authorization_ttl_seconds: How long a merchant's RefundAuthorization stays valid on-chain.
    """

    env_prefix = "MSC_REFUNDS_"

    operator_key: SecretStr | None = None
    authorization_ttl_seconds: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
