"""``POST /v1/api-keys``: bootstraps operator and auditor keys with the admin secret.

Merchant keys come with onboarding (``POST /v1/merchants``); staff keys need a first operator,
so they are issued against ``MSC_API_ADMIN_SECRET`` (disabled while it is empty; only its hash
is kept). In production no shared secret is needed: ``python -m api keys issue --role operator``
issues the first operator key straight into the database.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session, sessionmaker

from api import key_lifecycle
from api.auth import AuthenticationError, Principal, admin_secret_matches, issue_key, require_role
from api.credit.lender_keys import issue_lender_key, rotate_lender_key
from api.db import get_sessions
from api.errors import error_responses
from api.models import Role
from api.settings import ApiSettings
from api.types import Bigint, CleanName
from common.errors import ValidationError
from common.sql.helpers import utcnow

router = APIRouter(prefix="/v1/api-keys", tags=["api keys"])


class StaffKeyCreate(BaseModel):
    """The role of the staff key to issue."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["operator", "auditor", "lender"]
    lender_name: CleanName | None = Field(
        default=None, description="For `lender` keys only: the lender's name (created if new)."
    )


class StaffKeyCreated(BaseModel):
    """A new staff key."""

    id: uuid.UUID
    role: str
    api_key: str = Field(description="Shown only in this response; only its SHA-256 is stored.")
    lender_id: uuid.UUID | None = Field(default=None, description="The lender of a `lender` key.")


@router.post(
    "",
    status_code=201,
    response_model=StaffKeyCreated,
    responses=error_responses(400, 401, 413, 422),
    summary="Issue an operator, auditor or lender key (admin secret)",
)
def create_staff_key(
    data: StaffKeyCreate,
    request: Request,
    sessions: Annotated[sessionmaker[Session], Depends(get_sessions)],
    x_admin_secret: Annotated[
        str | None, Header(alias="X-Admin-Secret", description="The `MSC_API_ADMIN_SECRET`.")
    ] = None,
) -> StaffKeyCreated:
    """Issues a staff key; needs `X-Admin-Secret`."""
    settings: ApiSettings = request.app.state.settings
    if not admin_secret_matches(settings.admin_secret_hash, x_admin_secret):
        raise AuthenticationError("a valid X-Admin-Secret is needed (and MSC_API_ADMIN_SECRET must be set)")
    if (data.role == "lender") != (data.lender_name is not None):
        raise ValidationError("a lender key needs `lender_name`; other keys take none")
    with sessions.begin() as session:
        if data.role == "lender":
            assert data.lender_name is not None
            key, lender = issue_lender_key(session, data.lender_name, utcnow())
            return StaffKeyCreated(id=key.id, role=str(key.role), api_key=key.secret, lender_id=lender.id)
        key = issue_key(session, Role(data.role))
    return StaffKeyCreated(id=key.id, role=str(key.role), api_key=key.secret)


Manager = Annotated[Principal, Depends(require_role(Role.OPERATOR, Role.MERCHANT))]
Sessions = Annotated[sessionmaker[Session], Depends(get_sessions)]


class KeyRevoked(BaseModel):
    """A revoked key."""

    id: uuid.UUID
    revoked_at: datetime = Field(description="From this moment the key is refused (401).")


class KeyRotate(BaseModel):
    """How long the old key keeps working next to its successor."""

    model_config = ConfigDict(extra="forbid")

    grace_period_s: Annotated[Bigint, Field(le=key_lifecycle.MAX_ROTATION_GRACE_S)] = Field(
        default=0,
        description="Seconds the old key still works, to deploy the new one; 0 revokes it at once.",
    )


class KeyRotated(BaseModel):
    """The successor of a rotated key."""

    id: uuid.UUID
    role: str
    merchant_id: uuid.UUID | None
    api_key: str = Field(description="Shown only in this response; only its SHA-256 is stored.")
    previous_key_id: uuid.UUID
    previous_key_expires_at: datetime = Field(description="When the old key stops working.")


@router.post(
    "/{key_id}/revoke",
    response_model=KeyRevoked,
    responses=error_responses(401, 403, 404, 422),
    summary="Revoke an API key (operator: any key; merchant: its own keys)",
)
def revoke_key(key_id: uuid.UUID, principal: Manager, sessions: Sessions) -> KeyRevoked:
    """Revokes the key at once: every request with it is refused from now on (revoking twice is
    harmless). A merchant may revoke only its own keys, including the one it calls with."""
    with sessions.begin() as session:
        row = key_lifecycle.revoke(session, principal, key_id)
        assert row.revoked_at is not None
        return KeyRevoked(id=row.id, revoked_at=row.revoked_at)


@router.post(
    "/{key_id}/rotate",
    status_code=201,
    response_model=KeyRotated,
    responses=error_responses(400, 401, 403, 404, 409, 413, 422),
    summary="Rotate an API key (operator: any key; merchant: its own keys)",
)
def rotate_key(key_id: uuid.UUID, data: KeyRotate, principal: Manager, sessions: Sessions) -> KeyRotated:
    """Issues a new key with the same role and merchant and revokes the old one after
    `grace_period_s` (at once by default). A key already revoked or rotated is 409."""
    with sessions.begin() as session:
        lender_key = rotate_lender_key(session, principal, key_id, data.grace_period_s)
        issued, until = lender_key or key_lifecycle.rotate(session, principal, key_id, data.grace_period_s)
    return KeyRotated(
        id=issued.id,
        role=str(issued.role),
        merchant_id=issued.merchant_id,
        api_key=issued.secret,
        previous_key_id=key_id,
        previous_key_expires_at=until,
    )
