"""In Debian's Chromium at 360 px: the owner reads the month's totals, downloads the statement
with the same figures, and invites a cashier whose link works in a second browser."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from playwright.sync_api import Browser, Page
from sqlalchemy import select

from accounts.models import Membership
from tests.portal.reports.test_reports_pages import march_books
from tests.portal.support import PASSWORD, Served, no_horizontal_scroll
from webui.i18n import idr


def sign_in(page: Page, url: str, email: str) -> None:
    page.goto(f"{url}/portal/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_url("**/portal/m/**")


def test_owner_statement_and_cashier_invitation_at_360px(
    served: Served, phone: Page, browser: Browser, monkeypatch
) -> None:
    portal, server = served.portal, served
    merchant = portal.add_merchant(name="Warung Bu Sri")
    sales = march_books(portal, merchant, monkeypatch)
    owner = portal.owner(merchant)
    # The portal's base page names no icon yet: Chromium's automatic /favicon.ico request
    # would be a 404 console error unrelated to these pages.
    phone.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    sign_in(phone, server.url, owner.email)
    phone.goto(f"{server.url}/portal/m/{merchant}/reports?month=2026-03")
    gross = sum(p.idr_amount for p in sales)
    assert phone.inner_text("#total-gross") == idr(gross)
    assert phone.inner_text("#total-net") == idr(gross - 700_00)
    no_horizontal_scroll(phone)
    with phone.expect_download() as download:
        phone.click("#statement-csv")
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    total = next(r for r in rows if r and r[0] == "Total" and len(r) == 12)
    assert (total[3], total[11]) == (phone.inner_text("#total-gross"), phone.inner_text("#total-net"))

    phone.goto(f"{server.url}/portal/m/{merchant}/settings")
    no_horizontal_scroll(phone)
    phone.fill("#invite-email", "kasir.baru@example.id")
    phone.click("#invite")
    link = phone.inner_text("#invite-link").replace("https://testserver", server.url)
    assert "/portal/invite/" in link

    second = browser.new_context(viewport={"width": 360, "height": 740}, locale="id-ID")
    try:
        cashier = second.new_page()
        cashier.goto(link)
        cashier.fill("input[name=display_name]", "Mas Budi")
        cashier.fill("input[name=password]", PASSWORD)
        cashier.fill("input[name=password_again]", PASSWORD)
        cashier.click("#accept")
        cashier.wait_for_load_state()
        with portal.db.sessions() as db:
            roles = sorted(db.scalars(select(Membership.role).where(Membership.merchant_id == merchant)))
        assert roles == ["cashier", "owner"]
    finally:
        second.close()
