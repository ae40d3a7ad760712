"""ApiSettings: MSC_API_* variables, and no default secrets in production."""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path

import pytest

from api.app import create_app
from api.settings import ApiSettings
from common.errors import ConfigurationError
from common.secrets import KNOWN_PUBLIC_SECRETS, secret_hash, secret_refusal

STRONG = secrets.token_urlsafe(32)
ROOT = Path(__file__).resolve().parents[2]


def test_fromEnvironment() -> None:
    settings = ApiSettings.from_env({"MSC_API_MAX_BODY_BYTES": "2048", "MSC_API_DATABASE_URL": "sqlite:///x"})
    assert settings.max_body_bytes == 2048
    assert settings.resolved_database_url() == "sqlite:///x"
    assert ApiSettings.from_env({}).max_body_bytes == 64 * 1024


@pytest.mark.parametrize(
    ("webhook", "admin"),
    [
        ("", STRONG),
        ("changethis", STRONG),
        (STRONG, "short"),
        (STRONG, "msc-demo-admin-secret-local-only"),  # the README's
        (STRONG, "x" * 16),
        (STRONG, "a" * 64),
        (STRONG, "s3cret-admin-token-for-tests-" + "Ab1" * 10),  # a published one, lengthened
        ("msc-bench-admin-secret-local-only", STRONG),
        (secrets.token_hex(15), STRONG),  # 120 bits
        (STRONG, secrets.token_urlsafe(16)),  # 128 bits
    ],
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
            "MSC_API_ADMIN_SECRET": secrets.token_urlsafe(32),
        }
    )
    assert create_app(settings).title == "MSC platform API"
    hex_admin = ApiSettings.from_env(
        {"MSC_API_ENVIRONMENT": "production", "MSC_API_WEBHOOK_SECRET": secrets.token_hex(32)}
    )
    assert hex_admin.admin_secret_hash == ""  # no shared admin secret at all: keys come from the CLI


def test_adminSecret_isKeptOnlyAsItsHash() -> None:
    admin = secrets.token_urlsafe(32)
    settings = ApiSettings.from_env({"MSC_API_ADMIN_SECRET": admin})
    assert settings.admin_secret.get_secret_value() == "" and settings.admin_secret_hash == secret_hash(admin)
    assert admin not in repr(settings) and admin not in settings.model_dump_json()
    by_hash = ApiSettings.from_env({"MSC_API_ADMIN_SECRET_HASH": secret_hash(admin)})
    assert by_hash.admin_secret_hash == settings.admin_secret_hash
    with pytest.raises(ConfigurationError, match="64 lower-case hex"):
        ApiSettings.from_env({"MSC_API_ADMIN_SECRET_HASH": "not-a-hash"})
    with pytest.raises(ConfigurationError, match="published"):
        ApiSettings.from_env(
            {
                "MSC_API_ENVIRONMENT": "production",
                "MSC_API_WEBHOOK_SECRET": STRONG,
                "MSC_API_ADMIN_SECRET_HASH": secret_hash("msc-demo-admin-secret-local-only"),
            }
        )


def test_production_refusesPrivateWebhookTargets() -> None:
    with pytest.raises(ConfigurationError, match="development only"):
        ApiSettings.from_env(
            {
                "MSC_API_ENVIRONMENT": "production",
                "MSC_API_WEBHOOK_SECRET": STRONG,
                "MSC_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
            }
        )


def test_everySecretWrittenInTheRepository_isRefused() -> None:
    """The refusal list is checked against the repository itself: every literal assigned to a
    secret-like name in README, .env.example, the launcher, the bench and the tests is refused."""
    listed = subprocess.run(
        ["git", "grep", "-h", "-o", "-E", r"(SECRET|API_KEY)[A-Z_]* = \"[^\"]+\"|X-Admin-Secret: [^ `]+"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.splitlines()
    found = {line.split('"')[1] if '"' in line else line.split(": ", 1)[1] for line in listed}
    assert "msc-demo-admin-secret-local-only" in found
    for value in found:
        assert secret_refusal(value) is not None, value
    assert all(secret_refusal(known) is not None for known in KNOWN_PUBLIC_SECRETS)
    assert all(secret_refusal(secrets.token_urlsafe(32)) is None for _ in range(200))
    assert all(secret_refusal(secrets.token_hex(32)) is None for _ in range(50))


def test_invalidValue_namesTheVariable() -> None:
    with pytest.raises(ConfigurationError, match="MSC_API_MAX_BODY_BYTES"):
        ApiSettings.from_env({"MSC_API_MAX_BODY_BYTES": "0"})
