"""The portal in Debian's headless Chromium at 360x740 (Playwright, never downloaded): an owner
signs in and watches Today, in Indonesian then English, while a payment arrives through the live
feed; a cashier makes a payment request and sees its link and QR code. The ``phone`` fixture
fails a test on any console error or Content-Security-Policy violation."""

from __future__ import annotations

import time

from playwright.sync_api import Page

from settlement.payments.models import PaymentStatus
from settlement.payments.service import PaymentService
from tests.portal.support import Person, Served, no_horizontal_scroll

FEED_DEADLINE_SECONDS = 1.0
"""The issue's promise: a cashier sees "Rp 12.000 diterima" within a second of the Pi completion."""


def _sign_in(served: Served, page: Page, person: Person) -> None:
    page.goto(f"{served.url}/portal/login")
    page.fill("#email", person.email)
    page.fill("#password", person.password)
    page.click("#sign-in")
    page.wait_for_url(f"**/portal/m/{person.merchant_id}")


def test_owner_watches_today_switches_to_english_and_sees_a_payment_arrive_within_a_second(
    served: Served, phone: Page
) -> None:
    portal = served.portal
    shop = portal.add_merchant("Pecel Bu Sri")
    portal.pay(shop, 3_500)
    owner = portal.onboard_owner(shop)
    _sign_in(served, phone, owner)
    assert phone.text_content("#today-title").startswith("Hari ini")  # type: ignore[union-attr]
    assert phone.text_content("#shop-name") == "Pecel Bu Sri"
    assert phone.text_content("#sales-count") == "1" and phone.text_content("#sales-idr") == "Rp 3.500"
    assert phone.eval_on_selector("#shop-qr", "img => img.naturalWidth") > 0
    no_horizontal_scroll(phone)
    phone.click("#lang-en")
    phone.wait_for_selector("html[lang=en]")
    assert phone.text_content("#today-title").startswith("Today")  # type: ignore[union-attr]
    no_horizontal_scroll(phone)
    # Let the feed connect (its first answer is the retry hint), then a payment completes on Pi.
    phone.wait_for_function(
        "() => performance.getEntriesByType('resource').some(e => e.name.includes('/feed'))"
    )
    time.sleep(0.5)
    payment_id = portal.pay(shop, 12_000, until=PaymentStatus.PENDING_ANCHOR)
    payments: PaymentService = portal.app.state.payments
    started = time.monotonic()
    with portal.db.sessions.begin() as session:
        payments.transition(
            session,
            payment_id,
            PaymentStatus.PENDING_ANCHOR,
            PaymentStatus.PENDING_STELLAR,
            "completed on Pi",
        )
    phone.wait_for_selector(f"#feed li[data-payment='{payment_id}']", timeout=5_000)
    elapsed = time.monotonic() - started
    assert elapsed < FEED_DEADLINE_SECONDS, f"the feed showed the payment after {elapsed:.2f} s"
    line = phone.text_content(f"#feed li[data-payment='{payment_id}'] a")
    assert line == "Rp 12.000 received"
    assert phone.is_visible("#banner") and phone.text_content("#banner") == "Rp 12.000 received"
    assert phone.text_content("#sales-count") == "2" and phone.text_content("#sales-idr") == "Rp 15.500"
    # The mint into escrow that follows is not announced a second time.
    with portal.db.sessions.begin() as session:
        payments.transition(
            session, payment_id, PaymentStatus.PENDING_STELLAR, PaymentStatus.COMPLETED, "minted"
        )
    time.sleep(1.0)
    assert phone.locator(f"#feed li[data-payment='{payment_id}']").count() == 1
    print(f"feed latency: {elapsed * 1000:.0f} ms")


def test_cashier_creates_a_payment_request_and_sees_its_link_and_qr(served: Served, phone: Page) -> None:
    portal = served.portal
    shop = portal.add_merchant("Bakso Pak Kumis")
    cashier = portal.add_cashier(portal.onboard_owner(shop))
    _sign_in(served, phone, cashier)
    assert phone.locator(f"nav.menu a[href='/portal/m/{shop}/money']").count() == 0  # not a cashier's
    phone.click(f"nav.menu a[href='/portal/m/{shop}/requests']")
    phone.fill("#amount", "25.000")
    phone.fill("#reference", "Meja 4")
    phone.click("#create-request")
    phone.wait_for_selector("#share-link")
    assert phone.text_content("#r-amount") == "Rp 25.000" and phone.text_content("#r-reference") == "Meja 4"
    link = phone.get_attribute("#share-link", "href") or ""
    assert link.startswith(f"{served.url}/pay/r/")
    assert phone.eval_on_selector("#r-qr", "img => img.naturalWidth") > 0
    no_horizontal_scroll(phone)
    phone.emulate_media(media="print")
    assert not phone.is_visible("#print") and not phone.is_visible("header") and phone.is_visible("#r-qr")
    phone.emulate_media(media="screen")
    customer = portal.client().get(link.removeprefix(served.url))  # the customer's side of the link
    assert customer.status_code == 200 and "Bakso Pak Kumis" in customer.text
