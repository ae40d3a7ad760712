"""In Debian's Chromium at 360 px: the owner refunds part of a held payment with a reason and sees
the refund in the payment's history, in Indonesian; the page fits the phone and breaks no CSP."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.portal.refunds.conftest import make_shop
from tests.portal.support import PASSWORD, Served, no_horizontal_scroll
from tests.settlement.minting.support import Chain
from webui.i18n import idr


def test_owner_refunds_part_of_a_payment_at_360px(served: Served, chain: Chain, phone: Page) -> None:
    shop = make_shop(served.portal, chain)
    owner = served.portal.owner(shop.merchant_id)
    phone.goto(f"{served.url}/portal/login")
    phone.fill("#email", owner.email)
    phone.fill("#password", PASSWORD)
    phone.click("#sign-in")
    phone.wait_for_url("**/portal/m/**")
    phone.goto(f"{served.url}/portal/m/{shop.merchant_id}/payments/{shop.payment_id}")
    phone.click("#refund-link")
    phone.wait_for_selector("#refund-form")
    assert phone.inner_text("#refund-max") == idr(shop.amount)
    no_horizontal_scroll(phone)

    phone.check("#refund-partial")
    phone.fill("#refund-amount", "250")
    phone.fill("#refund-reason", "Sambal habis, diganti kerupuk")
    phone.click("#refund-submit")
    phone.wait_for_selector("#refund-done")

    history = phone.inner_text("#refunds")
    assert "Sambal habis, diganti kerupuk" in history
    assert idr(250_00) in history
    assert "Sudah dikembalikan" in history  # confirmed, in Indonesian
    assert phone.inner_text("#refund-max") == idr(shop.amount - 250_00)
    assert shop.held() == shop.amount - 250_00
    no_horizontal_scroll(phone)
