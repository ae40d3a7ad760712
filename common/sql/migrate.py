"""Running the platform's Alembic migrations from Python (the launcher, tests, the indexer CLI)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from common.sql.engine import normalise_url

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"


def alembic_config(url: str) -> Config:
    """The Alembic config of the repository, aimed at ``url``."""
    config = Config(str(ALEMBIC_INI))
    config.attributes["url"] = normalise_url(url)
    return config


def upgrade(url: str, revision: str = "heads") -> None:
    """Migrates the database at ``url`` to ``revision`` (default: every branch's latest)."""
    command.upgrade(alembic_config(url), revision)
