"""Fixtures of the API tests (defined in tests/api/support.py)."""

from tests.api.support import api, db, make_api

__all__ = ["api", "db", "make_api"]
