"""MSC_CUSTODY_MASTER_KEY: required, unpublished and random in production; development-only default."""

from __future__ import annotations

import base64
import os

import pytest

from common.errors import ConfigurationError
from custody.settings import CustodySettings, development_master_key, master_key_id

GOOD = base64.b64encode(os.urandom(32)).decode()


def test_development_derives_a_key_marked_development_only():
    settings = CustodySettings.from_env({})
    ring = settings.key_ring()
    assert ring.development and ring.current == development_master_key()


@pytest.mark.parametrize(
    "value, why",
    [
        (None, "required in production"),
        (base64.b64encode(development_master_key()).decode(), "development-only"),
        (base64.b64encode(bytes(32)).decode(), "not random"),
        (base64.b64encode(bytes(range(32))).decode(), "published|entropy|not random"),
        (base64.b64encode(os.urandom(16)).decode(), "32 bytes"),
        ("not base64 at all!", "base64"),
    ],
)
def test_production_refuses_a_missing_published_or_weak_master_key(value, why):
    environ = {"MSC_API_ENVIRONMENT": "production"}
    if value is not None:
        environ["MSC_CUSTODY_MASTER_KEY"] = value
    with pytest.raises(ConfigurationError, match=why) as caught:
        CustodySettings.from_env(environ)
    if value:
        assert value not in str(caught.value)


def test_production_accepts_a_random_key_standard_or_urlsafe():
    raw = os.urandom(32)
    standard, urlsafe = base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()
    for text in (standard, urlsafe, standard.rstrip("="), urlsafe.rstrip("=")):
        settings = CustodySettings.from_env(
            {"MSC_API_ENVIRONMENT": "production", "MSC_CUSTODY_MASTER_KEY": text}
        )
        ring = settings.key_ring()
        assert ring.current == raw and not ring.development


def test_previous_master_keys_are_readable_and_the_current_one_wraps():
    old, new = os.urandom(32), os.urandom(32)
    settings = CustodySettings.from_env(
        {
            "MSC_CUSTODY_MASTER_KEY": base64.b64encode(new).decode(),
            "MSC_CUSTODY_PREVIOUS_MASTER_KEYS": base64.b64encode(old).decode(),
        }
    )
    ring = settings.key_ring()
    assert ring.current_id == master_key_id(new) and set(ring.keys) == {
        master_key_id(old),
        master_key_id(new),
    }


def test_settings_and_key_ring_never_show_a_key():
    settings = CustodySettings.from_env({"MSC_CUSTODY_MASTER_KEY": GOOD})
    ring = settings.key_ring()
    for text in (repr(settings), str(settings), repr(ring), str(ring)):
        assert GOOD not in text and ring.current.hex() not in text
