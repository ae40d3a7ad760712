"""Fixtures of the forecast API and page tests: ``db``, ``make_api`` (tests/api/support.py),
``books`` (tests/city/lpui/support.py), and for Chromium ``served``, ``browser`` and ``phone``
(tests/portal/support.py)."""

from tests.api.support import db, make_api
from tests.city.lpui.support import books
from tests.portal.support import browser, phone, served

__all__ = ["books", "browser", "db", "make_api", "phone", "served"]
