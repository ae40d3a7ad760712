"""Fixtures of the portal tests (defined in tests/portal/support.py and tests/api/support.py).

* ``portal``: an app with the portal on SQLite and on PostgreSQL (custody master key set, cheap
  argon2); ``portal.add_merchant()``, ``portal.owner_client(m)``, ``portal.cashier_client(m)``,
  ``portal.csrf(client, path)``, ``portal.enrol_totp(client)`` and ``portal.code(totp)``.
* ``make_portal(**api_settings)``: the same with other API settings.
* ``browser`` (Debian's Chromium) and ``phone`` (a 360x740 page that fails the test on a console
  error or a CSP violation); ``served`` (module scope): the portal on SQLite served by uvicorn on
  a free port (``served.url``; ``served.portal`` makes merchants, users and payments).
* ``portal.pay(merchant_id, rupiah)``: a payment moved through the app's PaymentService.
"""

from tests.api.support import db, make_api
from tests.portal.support import browser, make_portal, phone, portal, served

__all__ = ["browser", "db", "make_api", "make_portal", "phone", "portal", "served"]
