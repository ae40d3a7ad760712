"""In Debian's Chromium at 360 px: the owner allows scoring, shares with a lender, sees both and
the log, a lender's read appears in the log, and withdrawing scoring stops the sharing too."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page

from city.credit import consent
from common.sql.helpers import utcnow
from tests.portal.support import PASSWORD, Served, no_horizontal_scroll


def test_owner_grants_sees_and_revokes_consents_at_360px(served: Served, phone: Page) -> None:
    portal = served.portal
    merchant = portal.add_merchant(name="Warung Bu Sri")
    owner = portal.owner(merchant)
    name = f"Koperasi Sejahtera {uuid.uuid4().hex[:6]}"
    with portal.db.sessions.begin() as session:
        lender = consent.lender_named(session, name, utcnow()).id
    phone.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    phone.goto(f"{served.url}/portal/login")
    phone.fill("#email", owner.email)
    phone.fill("#password", PASSWORD)
    phone.click("#sign-in")
    phone.wait_for_url("**/portal/m/**")

    phone.click(f"nav.menu a[href='/portal/m/{merchant}/privacy']")
    phone.wait_for_selector("#grant-scoring")
    assert phone.inner_text("#no-log")
    no_horizontal_scroll(phone)
    phone.click("#grant-scoring")
    phone.wait_for_selector("#revoke-scoring")
    phone.select_option("#lender", str(lender))
    phone.click("#grant-sharing")
    phone.wait_for_selector(f"#sharing li[data-lender='{lender}']")
    assert name in phone.inner_text("#sharing")
    assert phone.locator("#consent-log tbody tr").count() == 2

    with portal.db.sessions.begin() as session:  # the lender reads the report
        consent.record_read(session, merchant, lender, "health-report.pdf", utcnow())
    phone.reload()
    first = phone.locator("#consent-log tbody tr").first.inner_text()
    assert name in first and "health-report.pdf" in first
    no_horizontal_scroll(phone)

    phone.click("#revoke-scoring")
    phone.wait_for_selector("#grant-scoring")
    assert phone.is_visible("#no-sharing")
    assert phone.locator("#consent-log tbody tr").count() == 5
    with portal.db.sessions() as session:
        assert not consent.may_share(session, merchant, lender, utcnow())
        assert merchant not in consent.merchants_consenting_to_scoring(session, utcnow())
