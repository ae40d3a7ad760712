"""Worker settings refuse unsafe secrets in production (``MSC_API_ENVIRONMENT=production``): the Pi
API key and the broker password published in the repository or not random, a redeemer key of
anvil's public mnemonic; development keeps accepting them."""

from __future__ import annotations

import secrets

import pytest

from chain.signer import dev_private_key
from common.errors import ConfigurationError
from settlement.workers.settings import PiSettings, WorkerSettings

PRODUCTION = {"MSC_API_ENVIRONMENT": "production"}
STRONG = secrets.token_urlsafe(32)


@pytest.mark.parametrize(
    "api_key",
    ["workers-test-server-key", "msc-demo-pi-server-key", "changeme", "x" * 64, secrets.token_hex(15)],
)
def test_production_refusesAPublishedOrWeakPiApiKey(api_key: str) -> None:
    environ = {**PRODUCTION, "MSC_PI_API_KEY": api_key, "MSC_PI_APP_ADDRESS": "GAPP"}
    with pytest.raises(ConfigurationError, match="MSC_PI_API_KEY is refused in production"):
        PiSettings.from_env(environ)
    assert PiSettings.from_env({"MSC_PI_API_KEY": api_key}).api_key.get_secret_value() == api_key


def test_production_acceptsARandomPiApiKeyOrNone() -> None:
    settings = PiSettings.from_env({**PRODUCTION, "MSC_PI_API_KEY": STRONG, "MSC_PI_APP_ADDRESS": "GAPP"})
    assert settings.configured and settings.environment == "production"
    assert not PiSettings.from_env(PRODUCTION).configured  # unset: the Pi flow does not run


@pytest.mark.parametrize("index", [0, 2, 7])
def test_production_refusesADevelopmentRedeemerKey(index: int) -> None:
    key = dev_private_key(index)
    with pytest.raises(ConfigurationError, match="public development key"):
        WorkerSettings.from_env({**PRODUCTION, "MSC_WORKER_REDEEMER_KEY": key})
    with pytest.raises(ConfigurationError, match="public development key"):
        WorkerSettings.from_env({**PRODUCTION, "MSC_WORKER_REDEEMER_KEY": key.removeprefix("0x").upper()})
    assert WorkerSettings.from_env({"MSC_WORKER_REDEEMER_KEY": key}).worker_redeemer_key is not None


def test_production_refusesAWeakBrokerPassword() -> None:
    with pytest.raises(ConfigurationError, match="broker URL's password"):
        WorkerSettings.from_env({**PRODUCTION, "MSC_BROKER_URL": "redis://:changeme@redis:6379/0"})
    ok = WorkerSettings.from_env({**PRODUCTION, "MSC_BROKER_URL": f"redis://:{STRONG}@redis:6379/0"})
    assert ok.broker_url.startswith("redis://")
    assert WorkerSettings.from_env({**PRODUCTION, "MSC_BROKER_URL": "redis://redis:6379/0"}).broker_url


def test_production_acceptsARandomRedeemerKey() -> None:
    key = "0x" + secrets.token_hex(32)
    settings = WorkerSettings.from_env({**PRODUCTION, "MSC_WORKER_REDEEMER_KEY": key})
    assert settings.worker_redeemer_key is not None and settings.environment == "production"
