"""Lender API keys: role ``lender``, bound to one lender (created by name if new).

Why a function of its own: :func:`api.auth.issue_key` knows merchant keys and staff keys; a lender
key additionally names its lender (``api_keys.lender_id``, a CHECK constraint holds it set exactly
for lender keys), which is what every lender route reads to decide what the caller may see.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api import key_lifecycle
from api.auth import KEY_PREFIX, SHOWN_PREFIX_LENGTH, IssuedKey, Principal, hash_key
from api.models import ApiKey, Role
from city.credit.consent import lender_named
from city.credit.models import Lender
from common.sql.helpers import utcnow


def issue_lender_key(session: Session, lender_name: str, at: datetime) -> tuple[IssuedKey, Lender]:
    """A new key of role ``lender`` for the lender called ``lender_name`` (created if new), in the
    caller's transaction; the secret is in the returned key only.

    Raises:
        city.credit.consent.InvalidConsentError: an empty or too long name.
    """
    lender = lender_named(session, lender_name, at)
    return _new_key(session, lender.id, at), lender


def _new_key(session: Session, lender_id: uuid.UUID, at: datetime) -> IssuedKey:
    secret = f"{KEY_PREFIX}{secrets.token_urlsafe(32)}"
    row = ApiKey(
        id=uuid.uuid4(),
        key_hash=hash_key(secret),
        prefix=secret[:SHOWN_PREFIX_LENGTH],
        role=str(Role.LENDER),
        merchant_id=None,
        lender_id=lender_id,
        created_at=at,
    )
    session.add(row)
    session.flush()
    return IssuedKey(row.id, secret, Role.LENDER, None)


def rotate_lender_key(
    session: Session,
    principal: Principal,
    key_id: uuid.UUID,
    grace_period_s: int,
    now: datetime | None = None,
) -> tuple[IssuedKey, datetime] | None:
    """Rotates a lender key as :func:`api.key_lifecycle.rotate` rotates others (successor of the
    same lender; the old key revoked after ``grace_period_s``), or None if ``key_id`` is not a
    lender key (then the ordinary rotation applies).

    Raises:
        api.key_lifecycle.ApiKeyNotFoundError: none the caller may manage.
        api.key_lifecycle.ApiKeyRevokedError: the key is revoked or rotated already.
    """
    row = key_lifecycle.manageable(session, principal, key_id)
    if row.lender_id is None:
        return None
    at = now or utcnow()
    until = at + timedelta(seconds=grace_period_s)
    moved = session.execute(
        update(ApiKey).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None)).values(revoked_at=until)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise key_lifecycle.ApiKeyRevokedError(key_id)
    return _new_key(session, row.lender_id, at), until


def lender_of_key(session: Session, api_key_id: uuid.UUID) -> uuid.UUID | None:
    """The lender a key belongs to (None for any other key)."""
    return session.scalar(select(ApiKey.lender_id).where(ApiKey.id == api_key_id))
