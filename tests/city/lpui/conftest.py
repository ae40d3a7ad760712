"""Fixtures of the LPUI tests: ``db`` (SQLite and PostgreSQL) and ``make_api`` (tests/api/support.py),
``books`` (payments moved through PaymentService at a chosen time, tests/city/lpui/support.py), and
for Chromium ``served``, ``browser`` and ``phone`` (a 360 px page failing on console errors or CSP
violations, tests/portal/support.py)."""

from tests.api.support import db, make_api
from tests.city.lpui.support import books
from tests.portal.support import browser, phone, served

__all__ = ["books", "browser", "db", "make_api", "phone", "served"]
