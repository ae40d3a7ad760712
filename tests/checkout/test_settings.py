"""Checkout settings: the SDK script's origin, and production's https and Secure cookies."""

from __future__ import annotations

import pytest

from checkout.settings import PI_SDK_URL, CheckoutSettings
from common.errors import ConfigurationError


def test_development_defaults_to_pis_sdk_and_takes_the_peers() -> None:
    assert CheckoutSettings.from_env({}).sdk_origin == "https://sdk.minepi.com"
    peer = CheckoutSettings.from_env({"MSC_CHECKOUT_SDK_URL": "http://127.0.0.1:8765/sdk/pi-sdk.js"})
    assert peer.sdk_origin == "http://127.0.0.1:8765" and peer.secure_cookies is False


def test_production_needs_https_and_sets_secure_cookies() -> None:
    production = CheckoutSettings.from_env({"MSC_API_ENVIRONMENT": "production"})
    assert production.sdk_url == PI_SDK_URL and production.secure_cookies is True
    for bad in (
        {"MSC_CHECKOUT_SDK_URL": "http://127.0.0.1:8765/sdk/pi-sdk.js"},
        {"MSC_CHECKOUT_PUBLIC_URL": "http://pay.example"},
    ):
        with pytest.raises(ConfigurationError):
            CheckoutSettings.from_env({"MSC_API_ENVIRONMENT": "production", **bad})
    with pytest.raises(ConfigurationError, match="MSC_CHECKOUT_SDK_URL"):
        CheckoutSettings.from_env({"MSC_CHECKOUT_SDK_URL": "javascript:alert(1)"})


def test_only_pis_sandbox_may_frame_the_pages_and_only_in_sandbox_mode() -> None:
    assert CheckoutSettings.from_env({}).frame_ancestors == "'none'"
    sandbox = CheckoutSettings.from_env({"MSC_CHECKOUT_SANDBOX": "true"})
    assert sandbox.frame_ancestors == "'self' https://sandbox.minepi.com"
