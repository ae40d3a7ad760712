"""``POST /v1/api-keys``: bootstraps operator and auditor keys with the admin secret.

Merchant keys come with onboarding (``POST /v1/merchants``); staff keys need a first operator,
so they are issued against ``MSC_API_ADMIN_SECRET`` (disabled while it is empty).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session, sessionmaker

from api.auth import AuthenticationError, admin_secret_matches, issue_key
from api.db import get_sessions
from api.errors import error_responses
from api.models import Role
from api.settings import ApiSettings

router = APIRouter(prefix="/v1/api-keys", tags=["api keys"])


class StaffKeyCreate(BaseModel):
    """The role of the staff key to issue."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["operator", "auditor"]


class StaffKeyCreated(BaseModel):
    """A new staff key."""

    id: uuid.UUID
    role: str
    api_key: str = Field(description="Shown only in this response; only its SHA-256 is stored.")


@router.post(
    "",
    status_code=201,
    response_model=StaffKeyCreated,
    responses=error_responses(400, 401, 413, 422),
    summary="Issue an operator or auditor key (admin secret)",
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
    if not admin_secret_matches(settings.admin_secret.get_secret_value(), x_admin_secret):
        raise AuthenticationError("a valid X-Admin-Secret is needed (and MSC_API_ADMIN_SECRET must be set)")
    with sessions.begin() as session:
        key = issue_key(session, Role(data.role))
    return StaffKeyCreated(id=key.id, role=str(key.role), api_key=key.secret)
