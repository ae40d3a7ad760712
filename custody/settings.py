"""Settings of custody (``MSC_CUSTODY_*``): the master key that wraps every custodial data key.

``MSC_CUSTODY_MASTER_KEY`` is 32 random bytes in base64 (``python -c 'import base64, secrets;
print(base64.b64encode(secrets.token_bytes(32)).decode())'``). Without it a development process
derives a key from a fixed label and the host name: anyone can recompute it, so it protects
nothing and is marked development-only; production refuses to start without a real one, or with
one that is published or not random (:mod:`common.secrets`). ``MSC_CUSTODY_PREVIOUS_MASTER_KEYS``
(comma-separated, same form) keeps older master keys readable while ``rewrap`` moves every data key
to the current one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import socket
from dataclasses import dataclass, field
from typing import ClassVar, Literal, Self

from pydantic import SecretStr, model_validator

from common.secrets import secret_refusal
from common.settings import EnvSettings

MASTER_KEY_BYTES = 32
_DEVELOPMENT_LABEL = b"msc-custody development-only master key, not secret|"
_MIN_DISTINCT_BYTES = 16


def master_key_id(key: bytes) -> str:
    """A public fingerprint of a master key: which key wrapped a data key, without revealing it."""
    return hashlib.sha256(b"msc-custody master key id|" + key).hexdigest()[:16]


def development_master_key() -> bytes:
    """The development-only master key: derived from a fixed label and the host name, not secret."""
    return hashlib.sha256(_DEVELOPMENT_LABEL + socket.gethostname().encode()).digest()


def decode_master_key(text: str) -> bytes:
    """The 32 bytes of a base64 (standard or URL-safe) master key.

    Raises:
        ValueError: not base64 of exactly 32 bytes (the message never repeats the value).
    """
    cleaned = text.strip().replace("-", "+").replace("_", "/")
    cleaned += "=" * (-len(cleaned) % 4)  # padding is often stripped when a key is copied
    try:
        raw = base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a custody master key must be base64") from None
    if len(raw) != MASTER_KEY_BYTES:
        raise ValueError(f"a custody master key must be {MASTER_KEY_BYTES} bytes, got {len(raw)}")
    return raw


def master_key_refusal(text: str) -> str | None:
    """Why a base64 master key must not be used in production, or None."""
    try:
        raw = decode_master_key(text)
    except ValueError as exc:
        return str(exc)
    if raw == development_master_key():
        return "it is the development-only key"
    if len(set(raw)) < _MIN_DISTINCT_BYTES:
        return "its bytes are not random (too few distinct values)"
    if len({(b - a) % 256 for a, b in itertools.pairwise(raw)}) == 1:
        return "its bytes are not random (a counting pattern)"
    return secret_refusal(text.strip())


@dataclass(frozen=True)
class MasterKeyRing:
    """The current master key and the previous ones still readable (by fingerprint)."""

    current_id: str
    keys: dict[str, bytes] = field(repr=False)
    development: bool = False
    """True when the current key is the derived development-only key."""

    def __repr__(self) -> str:
        return f"MasterKeyRing(current_id={self.current_id!r}, ids={sorted(self.keys)!r})"

    @classmethod
    def of(cls, current: bytes, previous: tuple[bytes, ...] = (), *, development: bool = False) -> Self:
        """A ring whose current key is ``current``."""
        keys = {master_key_id(key): key for key in previous}
        keys[master_key_id(current)] = current
        return cls(master_key_id(current), keys, development)

    @property
    def current(self) -> bytes:
        """The key new data keys are wrapped under."""
        return self.keys[self.current_id]


class CustodySettings(EnvSettings):
    """How custodial keys are protected.

    Attributes:
        master_key: Base64 of 32 random bytes; wraps every data key. Empty: the derived
            development-only key (refused in production).
        previous_master_keys: Comma-separated base64 master keys still accepted for reading, while
            a master-key rotation re-wraps the data keys under ``master_key``.
        environment: The deployment's ``MSC_API_ENVIRONMENT``.
    """

    env_prefix = "MSC_CUSTODY_"
    env_aliases: ClassVar[dict[str, str]] = {"environment": "MSC_API_ENVIRONMENT"}

    master_key: SecretStr = SecretStr("")
    previous_master_keys: SecretStr = SecretStr("")
    environment: Literal["development", "production"] = "development"

    @model_validator(mode="after")
    def _check_keys(self) -> Self:
        """Every configured key decodes; production refuses a missing, published or weak key."""
        current = self.master_key.get_secret_value()
        if self.environment == "production":
            if not current:
                raise ValueError("master_key is required in production (MSC_CUSTODY_MASTER_KEY)")
            problem = master_key_refusal(current)
            if problem is not None:
                raise ValueError(f"master_key is refused in production: {problem}")
        if current:
            decode_master_key(current)
        for text in self._previous_texts():
            decode_master_key(text)
        return self

    def _previous_texts(self) -> list[str]:
        return [
            part.strip() for part in self.previous_master_keys.get_secret_value().split(",") if part.strip()
        ]

    def key_ring(self) -> MasterKeyRing:
        """The master keys, current first."""
        previous = tuple(decode_master_key(text) for text in self._previous_texts())
        current = self.master_key.get_secret_value()
        if not current:
            return MasterKeyRing.of(development_master_key(), previous, development=True)
        return MasterKeyRing.of(decode_master_key(current), previous)
