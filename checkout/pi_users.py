"""Who signed in: the Pi platform's answer to ``GET /v2/me`` with the customer's access token.

The browser hands the server the access token ``Pi.authenticate`` returned; the server never takes
a uid from the browser. It asks the Pi platform whom the token belongs to (pi-platform-docs
``authentication.md``: ``GET /me`` with ``Authorization: Bearer <access token>``; an invalid or
expired token is 401) and binds the payment to that Pioneer.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from common.errors import MSCError
from settlement.pi.platform_client import PiPlatformUnavailableError


class PiSignInRefusedError(MSCError):
    """The Pi platform does not accept the customer's access token (expired, forged, another app's)."""

    code = "pi_sign_in_refused"
    status_code = 401

    def __init__(self) -> None:
        super().__init__("the Pi platform did not accept the access token; sign in with Pi again")


@dataclass(frozen=True)
class PiUser:
    """A signed-in Pioneer as the Pi platform names them."""

    uid: str
    username: str


def fetch_me(
    platform_url: str,
    access_token: str,
    *,
    transport: httpx.BaseTransport | None = None,
    timeout: float = 10.0,
) -> PiUser:
    """The Pioneer ``access_token`` belongs to, from ``GET {platform_url}/me``.

    Raises:
        PiSignInRefusedError: the token is refused (401/403) or the answer names nobody.
        PiPlatformUnavailableError: the Pi platform did not answer, or failed (5xx).
    """
    if not access_token or len(access_token) > 4096:
        raise PiSignInRefusedError()
    url = platform_url.rstrip("/") + "/me"
    try:
        with httpx.Client(transport=transport, timeout=timeout) as client:
            response = client.get(
                url, headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
            )
    except httpx.HTTPError as exc:
        raise PiPlatformUnavailableError(f"Pi Platform API unreachable: {exc}.", path="me") from exc
    if response.status_code in (401, 403):
        raise PiSignInRefusedError()
    if response.status_code >= 400:
        raise PiPlatformUnavailableError(f"Pi answered HTTP {response.status_code} to /me.", path="me")
    try:
        body = response.json()
    except ValueError as exc:
        raise PiPlatformUnavailableError("Pi answered non-JSON to /me.", path="me") from exc
    uid = body.get("uid") if isinstance(body, dict) else None
    if not isinstance(uid, str) or not uid:
        raise PiSignInRefusedError()
    username = body.get("username")
    return PiUser(uid=uid, username=username if isinstance(username, str) else "")
