"""API keys: random secrets shown once, stored as SHA-256 hashes, each with a role.

A request authenticates with ``Authorization: Bearer <key>``. Keys are 256-bit random, so a fast
hash is enough (nothing to brute-force) and the lookup is one indexed equality. Endpoints declare
who may call them with :func:`require_role`; a merchant key additionally only ever sees its own
merchant's objects, and another merchant's object answers 404 (not 403) so ids cannot be probed.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.db import get_sessions
from api.models import ApiKey, Role
from common.errors import MSCError
from common.secrets import secret_matches
from common.sql.helpers import utcnow

KEY_PREFIX = "msc_"
SHOWN_PREFIX_LENGTH = 12


class AuthenticationError(MSCError):
    """No API key, a malformed header, or a key that is unknown or revoked."""

    code = "unauthenticated"
    status_code = 401


class PermissionDeniedError(MSCError):
    """The key is valid but its role may not call this endpoint."""

    code = "forbidden"
    status_code = 403

    def __init__(self, role: str, allowed: tuple[Role, ...]) -> None:
        names = ", ".join(sorted(str(r) for r in allowed))
        super().__init__(f"a {role} key cannot do this; it needs one of: {names}", role=role)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the API key's id, role and (for merchant keys) merchant."""

    api_key_id: uuid.UUID
    role: Role
    merchant_id: uuid.UUID | None

    def sees_merchant(self, merchant_id: uuid.UUID | None) -> bool:
        """Whether this caller may see an object belonging to ``merchant_id``."""
        return self.role != Role.MERCHANT or merchant_id == self.merchant_id


@dataclass(frozen=True)
class IssuedKey:
    """A newly issued key: ``secret`` is shown to its owner once and never stored."""

    id: uuid.UUID
    secret: str
    role: Role
    merchant_id: uuid.UUID | None


def hash_key(secret: str) -> str:
    """Hex SHA-256 of a key, the only form stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_key(session: Session, role: Role, merchant_id: uuid.UUID | None = None) -> IssuedKey:
    """Creates a key in the caller's transaction.

    Raises:
        ValueError: a merchant key without a merchant, or another role with one.
    """
    if (role == Role.MERCHANT) != (merchant_id is not None):
        raise ValueError("merchant keys, and only they, belong to a merchant")
    secret = f"{KEY_PREFIX}{secrets.token_urlsafe(32)}"
    row = ApiKey(
        id=uuid.uuid4(),
        key_hash=hash_key(secret),
        prefix=secret[:SHOWN_PREFIX_LENGTH],
        role=str(role),
        merchant_id=merchant_id,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return IssuedKey(row.id, secret, role, merchant_id)


def lookup(sessions: sessionmaker[Session], secret: str) -> Principal | None:
    """The principal of an active key, or None.

    Read from the database on every request (no cache), so a revocation holds from the moment it
    commits; a rotated key's ``revoked_at`` may lie in the future (its grace period).
    """
    with sessions() as session:
        row = session.scalars(select(ApiKey).where(ApiKey.key_hash == hash_key(secret))).one_or_none()
    # The equality above is on a hash of the secret, so its timing tells nothing about the secret.
    if row is None or (row.revoked_at is not None and row.revoked_at <= utcnow()):
        return None
    return Principal(row.id, Role(row.role), row.merchant_id)


def authenticate(
    request: Request,
    sessions: Annotated[sessionmaker[Session], Depends(get_sessions)],
    authorization: Annotated[
        str | None,
        Header(alias="Authorization", description="`Bearer <API key>`; keys are shown once when issued."),
    ] = None,
) -> Principal:
    """The calling principal (a dependency).

    Raises:
        AuthenticationError: missing, malformed, unknown or revoked key.
    """
    if not authorization:
        raise AuthenticationError("this endpoint needs an API key: send `Authorization: Bearer <key>`")
    scheme, _, secret = authorization.partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise AuthenticationError("the Authorization header must be `Bearer <key>`")
    principal = lookup(sessions, secret)
    if principal is None:
        raise AuthenticationError("the API key is unknown or revoked")
    request.state.principal = principal
    return principal


def require_role(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency admitting only keys with one of ``roles``.

    Raises (when the dependency runs):
        AuthenticationError: no valid key (401).
        PermissionDeniedError: a valid key of another role (403).
    """

    def dependency(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if principal.role not in roles:
            raise PermissionDeniedError(str(principal.role), roles)
        return principal

    return dependency


def admin_secret_matches(expected_hash: str, presented: str | None) -> bool:
    """Constant-time comparison of the presented bootstrap admin secret's hash with the configured
    hash (the process keeps only the hash); an empty configured hash never matches."""
    return secret_matches(expected_hash, presented)
