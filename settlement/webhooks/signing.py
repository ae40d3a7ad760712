"""Stripe-style webhook signatures: ``MSC-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]``.

Each ``v1`` is the hex HMAC-SHA256, keyed by one of the endpoint's active secrets, of
``"<t>." + body``. Signing the timestamp with the body lets a receiver refuse replays of an old
request (``tolerance_s``); one ``v1`` per active secret lets a merchant rotate its secret without
a window where its receiver refuses genuine events.

Receivers verify with :func:`verify_signature` over the raw body bytes (before any JSON parsing:
re-serialising changes the bytes).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence

from common.errors import ValidationError

SIGNATURE_HEADER = "MSC-Signature"
SCHEME = "v1"
DEFAULT_TOLERANCE_S = 300


class WebhookSignatureError(ValidationError):
    """A webhook's signature header is malformed, too old, or matches none of its ``v1`` values."""

    code = "webhook_signature_invalid"
    status_code = 400


def compute(secret: str, timestamp: int, payload: bytes) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>." + payload`` under ``secret``."""
    message = str(timestamp).encode() + b"." + payload
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(payload: bytes, secrets: Sequence[str], timestamp: int) -> str:
    """The ``MSC-Signature`` header value for ``payload``: one ``v1`` per secret.

    Raises:
        ValueError: no secret (an endpoint always has at least one active secret).
    """
    if not secrets:
        raise ValueError("a webhook is signed with at least one secret")
    return ",".join([f"t={timestamp}", *(f"{SCHEME}={compute(s, timestamp, payload)}" for s in secrets)])


def parse_header(header: str) -> tuple[int, list[str]]:
    """``(timestamp, [v1 signatures])`` of a header; other schemes are ignored (forward compatible).

    Raises:
        WebhookSignatureError: no timestamp, a non-integer one, or no ``v1`` signature.
    """
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise WebhookSignatureError("the signature header's timestamp is not an integer") from None
        elif key == SCHEME:
            signatures.append(value)
    if timestamp is None:
        raise WebhookSignatureError("the signature header has no timestamp (t=)")
    if not signatures:
        raise WebhookSignatureError(f"the signature header has no {SCHEME} signature")
    return timestamp, signatures


def verify_signature(
    payload: bytes,
    header: str,
    secret: str,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
    *,
    now: int | None = None,
) -> int:
    """Checks that ``payload`` was signed by the platform with ``secret`` within ``tolerance_s``.

    Args:
        payload: The raw request body, exactly as received.
        header: The ``MSC-Signature`` header.
        secret: The endpoint's secret (any one of them during a rotation).
        tolerance_s: Largest accepted age (and clock skew into the future) of the timestamp.
        now: Current Unix time (default: the clock).

    Returns:
        The signed timestamp.

    Raises:
        WebhookSignatureError: malformed header, timestamp outside the tolerance, or no ``v1``
            matches (a tampered body, another secret).
    """
    timestamp, signatures = parse_header(header)
    current = int(time.time()) if now is None else now
    if abs(current - timestamp) > tolerance_s:
        raise WebhookSignatureError(
            f"the signature's timestamp is {current - timestamp} s from now, outside the {tolerance_s} s "
            "tolerance (a replayed or delayed request)",
            age_s=current - timestamp,
        )
    expected = compute(secret, timestamp, payload)
    # compare_digest on every candidate: the time taken tells nothing about the expected value.
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise WebhookSignatureError("no signature matches the payload and the secret")
    return timestamp
