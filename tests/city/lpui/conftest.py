"""Fixtures of the LPUI tests: ``db`` (SQLite and PostgreSQL, tests/api/support.py) and ``books``
(payments moved through PaymentService at a chosen time, tests/city/lpui/support.py)."""

from tests.api.support import db, make_api
from tests.city.lpui.support import books

__all__ = ["books", "db", "make_api"]
