"""The one declarative base of the platform, with deterministic constraint names.

Naming conventions make every index and constraint name predictable, so Alembic migrations can
drop or alter them by name on both SQLite and PostgreSQL (SQLite has no names otherwise).
"""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base for every SQL model of the platform."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
