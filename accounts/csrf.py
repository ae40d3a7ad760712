"""CSRF tokens of the portal's forms: random, HMAC-bound to the session's secret, checked in constant time.

A token is ``nonce.mac`` with ``mac = HMAC-SHA256(session secret, "msc-csrf|" + nonce)``. Only the
server knows the session's secret (it never leaves the database), so a page on another site can
neither read nor forge a valid token; tokens of one session fail in every other session, and a
new session (sign-in rotates it) invalidates every earlier token. The per-token nonce keeps
tokens different on every page (BREACH-style compression attacks learn nothing reusable).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

_LABEL = b"msc-csrf|"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_secret() -> bytes:
    """A session's CSRF secret: 32 random bytes."""
    return secrets.token_bytes(32)


def issue(secret: bytes) -> str:
    """A fresh token for a form of the session whose secret is ``secret``."""
    nonce = secrets.token_bytes(16)
    mac = hmac.new(secret, _LABEL + nonce, hashlib.sha256).digest()
    return f"{_b64(nonce)}.{_b64(mac)}"


def verify(secret: bytes, token: str | None) -> bool:
    """Whether ``token`` was issued for ``secret`` (constant time in the token's MAC)."""
    if not token or token.count(".") != 1:
        return False
    nonce_text, mac_text = token.split(".")
    try:
        nonce, mac = _unb64(nonce_text), _unb64(mac_text)
    except (binascii.Error, ValueError):
        return False
    expected = hmac.new(secret, _LABEL + nonce, hashlib.sha256).digest()
    return hmac.compare_digest(expected, mac)
