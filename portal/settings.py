"""Settings of the merchant portal (``MSC_PORTAL_*``)."""

from __future__ import annotations

from pydantic import Field

from common.settings import EnvSettings


class PortalSettings(EnvSettings):
    """Where the portal is reached and how its cookies are marked.

    Attributes:
        public_base_url: The origin people reach the platform at (links in QR codes and shared
            payment-request links); empty: the origin of the request being answered.
        secure_cookies: Mark cookies ``Secure`` (and name the session cookie ``__Host-...``).
            Browsers keep Secure cookies of ``http://localhost`` and ``http://127.0.0.1`` (they
            are potentially trustworthy origins), so development needs no exception; turn it off
            only to reach a development server at another plain-HTTP host name.
        feed_poll_seconds: How often the live feed reads new payment events.
        feed_heartbeat_seconds: How often the live feed sends a comment to keep proxies from
            closing the connection.
        feed_session_check_seconds: How often an open live feed checks that its session and
            role still hold (a feed outlives neither a sign-out everywhere nor a removed role).
        page_size: Rows per page of the payment and request lists.
    """

    env_prefix = "MSC_PORTAL_"

    public_base_url: str = ""
    secure_cookies: bool = True
    feed_poll_seconds: float = Field(default=0.3, gt=0, le=5)
    feed_heartbeat_seconds: float = Field(default=15.0, gt=0)
    feed_session_check_seconds: float = Field(default=30.0, gt=0)
    page_size: int = Field(default=25, ge=5, le=200)
