"""Fixtures of the city tests: a fresh migrated database per test, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from common.sql.engine import create_engine_from_url, make_sessionmaker
from common.sql.migrate import upgrade

MakeDb = Callable[[], tuple[str, sessionmaker[Session]]]


@pytest.fixture(params=("sqlite", "postgresql"))
def make_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeDb]:
    """``make_db()``: a new migrated database (url, sessions) of the test's backend."""
    engines = []

    def make() -> tuple[str, sessionmaker[Session]]:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / f'pilot{len(engines)}.sqlite3'}"
        else:
            url = request.getfixturevalue("pg_schema_factory")()
        upgrade(url)
        engine = create_engine_from_url(url)
        engines.append(engine)
        return url, make_sessionmaker(engine)

    yield make
    for engine in engines:
        engine.dispose()
