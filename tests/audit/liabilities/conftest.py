"""Fixtures of the liabilities API tests: ``db`` (SQLite and PostgreSQL) and the app, from
tests/api/support.py; test_books.py keeps its own module-scoped ``db``."""

from tests.api.support import api, db, make_api

__all__ = ["api", "db", "make_api"]
