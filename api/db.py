"""The per-application session factory, made by the lifespan and handed to endpoints."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session, sessionmaker


def get_sessions(request: Request) -> sessionmaker[Session]:
    """The session factory of the running app (a dependency).

    Endpoints open their own short transactions with it (``with sessions.begin() as session``)
    so each request's writes commit or roll back as one unit.
    """
    sessions: sessionmaker[Session] = request.app.state.sessions
    return sessions
