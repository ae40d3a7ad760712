"""The real PostgreSQL the integration tests use: one fresh schema per database, dropped after.

``make test`` starts PostgreSQL (tools/services.sh), so an unreachable server is a failure with
a clear message, never a silent skip: the PostgreSQL half of the suite must run.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Callable, Iterator

import pytest

PG_DSN = os.environ.get("MSC_TEST_PG_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=test")
PG_URL = os.environ.get("MSC_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def schema_factory(prefix: str) -> Iterator[Callable[[], str]]:
    """Yields a function that creates a new schema and returns a SQLAlchemy URL bound to it;
    drops every schema it created when the generator is closed."""
    import psycopg

    try:
        psycopg.connect(PG_DSN, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {PG_DSN!r} (make test starts it): {exc}")
    session = f"{prefix}_{uuid.uuid4().hex[:8]}"
    counter = itertools.count()
    created: list[str] = []

    def make() -> str:
        name = f"{session}_{next(counter)}"
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{name}"')
        created.append(name)
        return f"{PG_URL}?options=-csearch_path%3D{name}"

    yield make
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        for name in created:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
