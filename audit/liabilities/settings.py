"""Settings of proof of liabilities (environment variables with the ``MSC_LIABILITIES_`` prefix)."""

from __future__ import annotations

from pydantic import SecretStr

from common.errors import ConfigurationError
from common.settings import EnvSettings


class LiabilitySettings(EnvSettings):
    """The server secret the merchants' salts are derived from.

    Attributes:
        salt_secret: HMAC key of every leaf's salt; losing it makes old proofs unservable, leaking
            it lets anyone brute-force small amounts out of the public leaves. Never logged.
    """

    env_prefix = "MSC_LIABILITIES_"

    salt_secret: SecretStr | None = None

    def secret(self) -> bytes:
        """The salt secret as bytes.

        Raises:
            ConfigurationError: it is unset or shorter than 32 characters.
        """
        value = self.salt_secret.get_secret_value() if self.salt_secret else ""
        if len(value) < 32:
            raise ConfigurationError("set MSC_LIABILITIES_SALT_SECRET (at least 32 characters)")
        return value.encode()
