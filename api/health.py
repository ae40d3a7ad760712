"""``GET /healthz``: the process is up and its database answers."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from api.db import get_sessions
from api.errors import error_responses
from common.errors import MSCError

router = APIRouter(tags=["health"])


class DatabaseUnavailableError(MSCError):
    """The database does not answer."""

    code = "database_unavailable"
    status_code = 503


class Health(BaseModel):
    """Liveness and database reachability."""

    status: Literal["ok"]
    database: Literal["ok"]


@router.get("/healthz", response_model=Health, responses=error_responses(503), summary="Health check")
def healthz(sessions: Annotated[sessionmaker[Session], Depends(get_sessions)]) -> Health:
    """`ok` when the database answers `SELECT 1`; 503 otherwise."""
    try:
        with sessions() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        raise DatabaseUnavailableError(f"the database does not answer: {type(exc).__name__}") from exc
    return Health(status="ok", database="ok")
