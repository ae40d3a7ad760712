"""Revoking and rotating API keys: who may, and the conditional updates that do it.

An operator may revoke or rotate any key; a merchant only its own merchant's keys (any other id
answers 404, like one that does not exist). Revocation sets ``revoked_at``; authentication reads
the key on every request, so the key is refused from the commit on. Rotation issues a new key with
the same role and merchant and revokes the old one at the end of an optional grace period, in one
transaction; only a key not yet revoked can be rotated (a second rotation of the same key is 409,
so two rotations racing cannot both hand out successors).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from api.auth import IssuedKey, Principal, issue_key
from api.models import ApiKey, Role
from common.errors import ConflictError, NotFoundError
from common.sql.helpers import utcnow

MAX_ROTATION_GRACE_S = 7 * 86_400


class ApiKeyNotFoundError(NotFoundError):
    """No API key has this id (or not one the caller may manage)."""

    code = "api_key_not_found"

    def __init__(self, key_id: uuid.UUID) -> None:
        super().__init__(f"API key {key_id} does not exist", api_key_id=str(key_id))


class ApiKeyRevokedError(ConflictError):
    """The key is revoked (or already rotated): it cannot be rotated again."""

    code = "api_key_revoked"

    def __init__(self, key_id: uuid.UUID) -> None:
        super().__init__(
            f"API key {key_id} is revoked or already rotated; rotate its successor instead",
            api_key_id=str(key_id),
        )


def manageable(session: Session, principal: Principal, key_id: uuid.UUID) -> ApiKey:
    """The key, if the caller may revoke or rotate it (operators: any; merchants: their own).

    Raises:
        ApiKeyNotFoundError: none, or another merchant's (or a staff key, for a merchant).
    """
    row = session.get(ApiKey, key_id)
    if row is None:
        raise ApiKeyNotFoundError(key_id)
    if principal.role != Role.OPERATOR and (
        principal.merchant_id is None or row.merchant_id != principal.merchant_id
    ):
        raise ApiKeyNotFoundError(key_id)
    return row


def revoke(session: Session, principal: Principal, key_id: uuid.UUID, now: datetime | None = None) -> ApiKey:
    """Revokes the key now (idempotent; a rotated key's grace period is cut short).

    Raises:
        ApiKeyNotFoundError: none the caller may manage.
    """
    row = manageable(session, principal, key_id)
    at = now or utcnow()
    session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id, or_(ApiKey.revoked_at.is_(None), ApiKey.revoked_at > at))
        .values(revoked_at=at)
    )
    session.refresh(row)
    return row


def rotate(
    session: Session,
    principal: Principal,
    key_id: uuid.UUID,
    grace_period_s: int,
    now: datetime | None = None,
) -> tuple[IssuedKey, datetime]:
    """Issues the key's successor (same role and merchant) and revokes it after ``grace_period_s``.

    Returns:
        The new key (its secret shown once) and when the old key stops working.

    Raises:
        ApiKeyNotFoundError: none the caller may manage.
        ApiKeyRevokedError: the key is revoked or rotated already.
    """
    row = manageable(session, principal, key_id)
    at = now or utcnow()
    until = at + timedelta(seconds=grace_period_s)
    moved = session.execute(
        update(ApiKey).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None)).values(revoked_at=until)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise ApiKeyRevokedError(key_id)
    issued = issue_key(session, Role(row.role), row.merchant_id)
    return issued, until
