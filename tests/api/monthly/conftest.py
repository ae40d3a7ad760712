"""Fixtures of the monthly report's web tests: ``db`` (SQLite and PostgreSQL) and ``make_api``
(tests/api/support.py); for Chromium ``served``, ``browser`` and ``phone`` (tests/portal/support.py)."""

from tests.api.support import api, db, make_api
from tests.portal.support import browser, phone, served

__all__ = ["api", "browser", "db", "make_api", "phone", "served"]
