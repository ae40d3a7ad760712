"""Fixtures shared by every test package."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.support.postgres import schema_factory


@pytest.fixture(scope="session")
def pg_schema_factory() -> Iterator[Callable[[], str]]:
    """Creates PostgreSQL schemas for this test session; drops them all at the end."""
    yield from schema_factory("t")
