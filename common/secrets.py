"""Whether a configured secret is fit for production: not one the repository publishes, and random.

Why: a secret written in the README, ``.env.example``, the launcher, the bench or the tests is
public; a short or patterned one can be guessed. A production process refuses both at start-up
(FastAPI template ``core/config.py`` does the same for its defaults). "Random enough" means at
least 256 bits by a generous estimate (length times the bits per character of the alphabet the
secret draws from), which is what ``secrets.token_urlsafe(32)`` (43 characters) or
``secrets.token_hex(32)`` gives; a secret that repeats a few characters is refused whatever its
length.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import string

MIN_SECRET_BITS = 256
"""What ``secrets.token_urlsafe(32)`` gives: 32 random bytes."""
MIN_DISTINCT_CHARACTERS = 10

KNOWN_PUBLIC_SECRETS = frozenset(
    {
        # generic placeholders
        "",
        "changethis",
        "changeme",
        "secret",
        "admin",
        "password",
        "test",
        # published in this repository (README, .env.example, launcher, bench, tests)
        "msc-demo-admin-secret-local-only",
        "msc-bench-admin-secret-local-only",
        "msc-demo-pi-server-key",
        "test-server-api-key",
        "flow-test-server-key",
        "workers-test-server-key",
        "s3cret-admin-token-for-tests",
        "x7Gv2-very-random-and-long-secret",
    }
)
"""Secrets that appear in the repository; a production process refuses every one of them."""

PUBLIC_MARKERS = ("local-only", "changeme", "changethis", "placeholder", "example", "for-tests")
"""Words that mark a value written to be replaced."""

_BASE64URL = frozenset(string.ascii_letters + string.digits + "-_")
_HEX = frozenset(string.hexdigits)


def estimated_bits(secret: str) -> float:
    """A generous estimate of the secret's entropy: length times log2 of its alphabet's size."""
    chars = set(secret)
    if not chars:
        return 0.0
    if chars <= _HEX:
        alphabet = 16
    elif chars <= _BASE64URL and any(c.islower() for c in chars) and any(c.isupper() for c in chars):
        alphabet = 64
    else:
        alphabet = 0
        alphabet += 26 if any(c.islower() for c in chars) else 0
        alphabet += 26 if any(c.isupper() for c in chars) else 0
        alphabet += 10 if any(c.isdigit() for c in chars) else 0
        alphabet += 33 if any(not c.isalnum() for c in chars) else 0
    return len(secret) * math.log2(max(alphabet, 2))


def secret_refusal(secret: str) -> str | None:
    """Why ``secret`` must not be used in production, or None."""
    lowered = secret.lower()
    if secret in KNOWN_PUBLIC_SECRETS or lowered in KNOWN_PUBLIC_SECRETS:
        return "it is empty or a value published in the repository"
    if any(marker in lowered for marker in PUBLIC_MARKERS):
        return "it is a placeholder"
    if len(set(secret)) < MIN_DISTINCT_CHARACTERS or estimated_bits(secret) < MIN_SECRET_BITS:
        return (
            f"it has less than {MIN_SECRET_BITS // 8} bytes of entropy; generate one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
        )
    return None


def secret_hash(secret: str) -> str:
    """Hex SHA-256 of a high-entropy secret: the only form of it a process keeps."""
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(expected_hash: str, presented: str | None) -> bool:
    """Constant-time check of ``presented`` against a stored hash; an empty hash never matches."""
    if not expected_hash or presented is None:
        return False
    return hmac.compare_digest(expected_hash, secret_hash(presented))
