"""Settings of the hosted checkout (``MSC_CHECKOUT_*``)."""

from __future__ import annotations

from typing import ClassVar, Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from common.settings import EnvSettings

PI_SDK_URL = "https://sdk.minepi.com/pi-sdk.js"
"""Pi's own SDK script, loaded by the checkout page in the Pi Browser."""
PI_SANDBOX_ORIGIN = "https://sandbox.minepi.com"
"""Pi's sandbox, which shows an app under test in a frame (``Pi.init({sandbox: true})``)."""


class CheckoutSettings(EnvSettings):
    """How the checkout pages run.

    Attributes:
        sdk_url: The Pi SDK script the page loads: Pi's (:data:`PI_SDK_URL`) in production, the
            local peer's stand-in (``http://127.0.0.1:8765/sdk/pi-sdk.js``) in development and
            tests. The page's Content-Security-Policy allows exactly this script's origin.
        sandbox: ``Pi.init({sandbox})``: true while the Pi app is tested in Pi's sandbox, which
            frames the app: only then may :data:`PI_SANDBOX_ORIGIN` frame the checkout pages.
        public_url: The origin customers reach the checkout at (QR codes encode it); empty: the
            origin of the request.
        poll_ms: How often the page asks for a payment's progress.
        cookie_secure: Cookies get ``Secure`` (always in production: :attr:`secure_cookies`).
        environment: The deployment's (``MSC_API_ENVIRONMENT``): production needs an https SDK
            script and public URL, and sets ``Secure`` on cookies.
    """

    env_prefix = "MSC_CHECKOUT_"
    env_aliases: ClassVar[dict[str, str]] = {"environment": "MSC_API_ENVIRONMENT"}

    sdk_url: str = PI_SDK_URL
    sandbox: bool = False
    public_url: str = ""
    poll_ms: int = Field(default=1500, ge=200, le=60_000)
    cookie_secure: bool = False
    environment: Literal["development", "production"] = "development"

    @field_validator("sdk_url")
    @classmethod
    def _absolute_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("sdk_url must be an absolute http(s) URL")
        return value

    @model_validator(mode="after")
    def _production_is_https(self) -> Self:
        if self.environment != "production":
            return self
        if urlsplit(self.sdk_url).scheme != "https":
            raise ValueError("sdk_url must be https in production (Pi's is https://sdk.minepi.com/pi-sdk.js)")
        if self.public_url and urlsplit(self.public_url).scheme != "https":
            raise ValueError("public_url must be https in production")
        return self

    @property
    def secure_cookies(self) -> bool:
        """Whether cookies get ``Secure``: when asked, and always in production."""
        return self.cookie_secure or self.environment == "production"

    @property
    def frame_ancestors(self) -> str:
        """Who may frame the pages: nobody, or Pi's sandbox while testing in it."""
        return f"'self' {PI_SANDBOX_ORIGIN}" if self.sandbox else "'none'"

    @property
    def sdk_origin(self) -> str:
        """``scheme://host[:port]`` of the SDK script: the one other origin the page may use."""
        parts = urlsplit(self.sdk_url)
        return f"{parts.scheme}://{parts.netloc}"
