"""Fixtures: a fresh migrated database per test on SQLite and on PostgreSQL.

PostgreSQL databases are schemas of the ``test`` database (``search_path`` in the URL), all
under one per-session prefix and dropped when the session ends.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

from common.sql.migrate import upgrade

BACKENDS = ("sqlite", "postgresql")

MakeDb = Callable[[str], str]


@pytest.fixture
def make_db(tmp_path: Path, request: pytest.FixtureRequest) -> MakeDb:
    """``make_db(backend)`` returns the URL of a fresh, migrated database."""
    counter = itertools.count()

    def make(backend: str) -> str:
        if backend == "sqlite":
            url = f"sqlite:///{tmp_path / f'mirror{next(counter)}.sqlite3'}"
        else:
            url = request.getfixturevalue("pg_schema_factory")()
        upgrade(url)
        return url

    return make


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each test taking this runs once per database backend."""
    return str(request.param)
