"""The secrets a merchant user holds, and how each is stored and checked.

Passwords: argon2id (argon2-cffi) with the configured parameters; a hash made with older ones
is reported so the caller re-hashes it. Session ids, invitation tokens and recovery codes: random
(at least 80 bits for the recovery codes a person types, 256 for the rest), stored as SHA-256,
which is enough for values that cannot be guessed (a password needs argon2 because it can).
TOTP: RFC 6238 through pyotp (SHA-1, 6 digits, 30 s: what every authenticator app reads), with the
matched time step returned so a used code can be refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

import argon2
import pyotp
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

TOTP_ISSUER = "MSC Merchant"
TOTP_WINDOW = 1
"""Steps accepted either side of now (clock drift of the phone), each still used at most once."""


class PasswordHasher:
    """argon2id hashing with the configured parameters."""

    def __init__(self, time_cost: int, memory_kib: int, parallelism: int) -> None:
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=argon2.Type.ID
        )
        # Checked when the e-mail is unknown, so that answer takes as long as a wrong password.
        self._decoy = self._hasher.hash(secrets.token_urlsafe(32))

    def __repr__(self) -> str:
        return f"PasswordHasher(argon2id t={self._hasher.time_cost} m={self._hasher.memory_cost})"

    def hash(self, password: str) -> str:
        """The PHC string of a new hash of ``password``."""
        return self._hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        """Whether ``password`` matches ``stored``; with ``stored`` None, the same work, then False."""
        try:
            return self._hasher.verify(stored or self._decoy, password) and stored is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        """Whether ``stored`` was made with other parameters than the current ones."""
        return self._hasher.check_needs_rehash(stored)


def new_token() -> str:
    """A URL-safe token of 256 random bits (session ids, invitation tokens)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """The SHA-256 hex of a token: the only form of it the database keeps."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_recovery_code() -> str:
    """A recovery code of 80 random bits, as four groups of four base32 characters."""
    raw = base64.b32encode(secrets.token_bytes(10)).decode()
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def recovery_code_hash(code: str) -> str:
    """SHA-256 of a recovery code as typed (case, spaces and dashes do not matter)."""
    normalised = "".join(ch for ch in code.upper() if ch.isalnum())
    return hashlib.sha256(b"msc-recovery|" + normalised.encode()).hexdigest()


def new_totp_secret() -> str:
    """A base32 TOTP seed of 160 bits (RFC 4226's recommended length)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, email: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads (from a QR code) to enrol."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=TOTP_ISSUER)


def totp_step(secret: str, code: str, now: datetime, after_step: int | None) -> int | None:
    """The time step ``code`` is valid for (within the window) and newer than ``after_step``, or None.

    Every candidate step is compared in constant time, so the answer takes as long for a code
    that is wrong as for one that is right or replayed.
    """
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    presented = code.strip().replace(" ", "")
    found: int | None = None
    for step in range(current - TOTP_WINDOW, current + TOTP_WINDOW + 1):
        expected = totp.generate_otp(step)
        if hmac.compare_digest(expected.encode(), presented.encode()) and (
            after_step is None or step > after_step
        ):
            found = step
    return found
