"""Lender API keys: role ``lender``, bound to one lender (created by name if new).

Why a function of its own: :func:`api.auth.issue_key` knows merchant keys and staff keys; a lender
key additionally names its lender (``api_keys.lender_id``, a CHECK constraint holds it set exactly
for lender keys), which is what every lender route reads to decide what the caller may see.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import KEY_PREFIX, SHOWN_PREFIX_LENGTH, IssuedKey, hash_key
from api.models import ApiKey, Role
from city.credit.consent import lender_named
from city.credit.models import Lender


def issue_lender_key(session: Session, lender_name: str, at: datetime) -> tuple[IssuedKey, Lender]:
    """A new key of role ``lender`` for the lender called ``lender_name`` (created if new), in the
    caller's transaction; the secret is in the returned key only.

    Raises:
        city.credit.consent.InvalidConsentError: an empty or too long name.
    """
    lender = lender_named(session, lender_name, at)
    secret = f"{KEY_PREFIX}{secrets.token_urlsafe(32)}"
    row = ApiKey(
        id=uuid.uuid4(),
        key_hash=hash_key(secret),
        prefix=secret[:SHOWN_PREFIX_LENGTH],
        role=str(Role.LENDER),
        merchant_id=None,
        lender_id=lender.id,
        created_at=at,
    )
    session.add(row)
    session.flush()
    return IssuedKey(row.id, secret, Role.LENDER, None), lender


def lender_of_key(session: Session, api_key_id: uuid.UUID) -> uuid.UUID | None:
    """The lender a key belongs to (None for any other key)."""
    return session.scalar(select(ApiKey.lender_id).where(ApiKey.id == api_key_id))
