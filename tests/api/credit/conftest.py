"""Fixtures of the consent and lender API tests: ``db`` (SQLite and PostgreSQL) and ``make_api``
(tests/api/support.py), ``books`` (payments moved through PaymentService at a chosen time,
tests/city/lpui/support.py)."""

from tests.api.support import db, make_api
from tests.city.lpui.support import books

__all__ = ["books", "db", "make_api"]
