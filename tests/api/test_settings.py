"""ApiSettings: MSC_API_* variables, and no default secrets in production."""

from __future__ import annotations

import pytest

from api.app import create_app
from api.settings import ApiSettings
from common.errors import ConfigurationError

STRONG = "x7Gv2-very-random-and-long-secret"


def test_fromEnvironment() -> None:
    settings = ApiSettings.from_env({"MSC_API_MAX_BODY_BYTES": "2048", "MSC_API_DATABASE_URL": "sqlite:///x"})
    assert settings.max_body_bytes == 2048
    assert settings.resolved_database_url() == "sqlite:///x"
    assert ApiSettings.from_env({}).max_body_bytes == 64 * 1024


@pytest.mark.parametrize(
    ("webhook", "admin"), [("", STRONG), (STRONG, ""), ("changethis", STRONG), (STRONG, "short")]
)
def test_production_refusesDefaultSecrets(webhook: str, admin: str) -> None:
    environ = {
        "MSC_API_ENVIRONMENT": "production",
        "MSC_API_WEBHOOK_SECRET": webhook,
        "MSC_API_ADMIN_SECRET": admin,
    }
    with pytest.raises(ConfigurationError, match="production"):
        ApiSettings.from_env(environ)


def test_production_startsWithRealSecrets() -> None:
    settings = ApiSettings.from_env(
        {
            "MSC_API_ENVIRONMENT": "production",
            "MSC_API_WEBHOOK_SECRET": STRONG,
            "MSC_API_ADMIN_SECRET": STRONG + "2",
        }
    )
    assert create_app(settings).title == "MSC platform API"


def test_invalidValue_namesTheVariable() -> None:
    with pytest.raises(ConfigurationError, match="MSC_API_MAX_BODY_BYTES"):
        ApiSettings.from_env({"MSC_API_MAX_BODY_BYTES": "0"})
