"""Fixtures of the checkout tests: the API tests' migrated databases and apps."""

from tests.api.support import api, db, make_api

__all__ = ["api", "db", "make_api"]
