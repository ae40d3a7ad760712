"""The platform's shared SQL foundation: one declarative base, exact column types, engines.

Every package that keeps rows in SQL (indexer, settlement, audit) declares its models on
:class:`common.sql.base.Base`, so one Alembic environment (``migrations/``) sees them all.
"""

from __future__ import annotations

from common.sql.base import Base
from common.sql.engine import create_engine_from_url, make_sessionmaker
from common.sql.types import HexBytes, Uint256

__all__ = ["Base", "HexBytes", "Uint256", "create_engine_from_url", "make_sessionmaker"]
