"""Where the platform's SQL database is (``MSC_DATABASE_URL``)."""

from __future__ import annotations

from pathlib import Path

from common.settings import EnvSettings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "var" / "msc.sqlite3"


class DatabaseSettings(EnvSettings):
    """The platform database.

    Attributes:
        url: SQLAlchemy URL; ``sqlite:///path`` (the embedded default, ``var/msc.sqlite3``) or
            ``postgresql+psycopg://user@host:5432/db`` at scale.
    """

    env_prefix = "MSC_DATABASE_"

    url: str = f"sqlite:///{DEFAULT_SQLITE_PATH}"
