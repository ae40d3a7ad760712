"""Engines and sessions from a URL, with the settings each backend needs to be safe and fast.

SQLite runs in WAL mode (readers never block the single writer) with foreign keys enforced and
``synchronous=NORMAL`` (durable at each checkpoint of the WAL, the usual WAL trade-off).
PostgreSQL is reached through psycopg 3 (``postgresql+psycopg://``); a bare ``postgresql://``
URL is upgraded to that driver so one URL works for SQLAlchemy and for ``psql``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from common.errors import ConfigurationError


def normalise_url(url: str) -> str:
    """The URL with the platform's driver choices filled in.

    Raises:
        ConfigurationError: the URL is not SQLite or PostgreSQL.
    """
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with a vague message
        raise ConfigurationError(f"not a database URL: {url!r}") from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigurationError(
            f"unsupported database {parsed.get_backend_name()!r}: use SQLite or PostgreSQL"
        )
    return parsed.render_as_string(hide_password=False)


def create_engine_from_url(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite files get their folder created and WAL + foreign keys on."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """A session factory that keeps loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)
