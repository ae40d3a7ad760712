"""The customers' side of the demo: each merchant's checkout link, and one payment made through it.

A newcomer opens a printed link in a browser, types an amount, signs in and pays in the local Pi
peer's wallet dialog (its Pi SDK stand-in signs and submits a real Stellar transaction), and the
receipt shows the MSC in escrow with a link to the explorer. The demo does the same in Debian's
headless Chromium (Playwright on the system browser, never a downloaded one) when it is installed,
with the steps of tests/checkout/test_checkout_browser.py; without it, it says how to do it by hand.
"""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

from launcher.settlement_demo import DemoError, SettlementDemoResult

if TYPE_CHECKING:  # Playwright is a development dependency, imported only when a browser is used
    from playwright.sync_api import Page

#: What the demo's customer types on the checkout page (Rupiah, written the Indonesian way).
CHECKOUT_AMOUNT = "15.000"
#: The merchant (index in ``MERCHANTS``) the demo pays through the checkout page.
CHECKOUT_MERCHANT = 1
BY_HAND = (
    "  pay by hand: open a link above in a browser, type an amount in Rupiah, press the button, sign in "
    "and pay in the Pi peer's wallet dialog; the receipt then shows the MSC in escrow and links the explorer"
)


def checkout_links(api_url: str, result: SettlementDemoResult) -> str:
    """Each demo merchant's checkout link and QR code, and how to pay through one by hand."""
    lines = []
    for (name, _address), merchant_id in zip(result.merchants, result.merchant_ids, strict=True):
        link = f"{api_url}/pay/{merchant_id}"
        lines.append(f"  {name}: checkout {link}  QR {link}/qr.svg")
    lines.append(BY_HAND)
    return "\n".join(lines)


def chromium_path() -> str | None:
    """Debian's Chromium (``/usr/bin/chromium``), found as the browser tests find it, or None."""
    return shutil.which("chromium")


def pay_on_page(page: Page, api_url: str, merchant_id: str) -> str:
    """A customer's steps on the checkout page in ``page``: types ``CHECKOUT_AMOUNT``, pays in the
    Pi peer's wallet dialog, and returns the receipt's URL once it shows the MSC in escrow."""
    page.goto(f"{api_url}/pay/{merchant_id}")
    page.fill("#amount", CHECKOUT_AMOUNT)
    page.click("#continue")
    page.wait_for_selector("#pi-amount")
    page.click("#pay")
    page.click("#pi-wallet-pay")
    page.wait_for_url("**/pay/receipt/**")
    page.wait_for_selector("#escrow:has-text('escrow')")
    return page.url


def pay_through_checkout(api_url: str, merchant_id: str, executable: str, timeout_s: float = 90.0) -> str:
    """Pays ``CHECKOUT_AMOUNT`` to the merchant on its checkout page in headless Chromium, as a
    customer would, and returns the receipt's URL once the receipt shows the MSC in escrow.

    Raises:
        DemoError: the page did not reach a receipt with the MSC in escrow in time.
    """
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    timeout_ms = timeout_s * 1000
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=executable, headless=True)
            try:
                context = browser.new_context(viewport={"width": 360, "height": 740}, locale="id-ID")
                page = context.new_page()
                page.set_default_timeout(timeout_ms)
                return pay_on_page(page, api_url, merchant_id)
            finally:
                browser.close()
    except PlaywrightError as exc:
        raise DemoError(f"the checkout payment in Chromium did not finish: {exc.message}") from exc


def describe_checkout_payment(api_url: str, result: SettlementDemoResult) -> str:
    """Pays one demo merchant through its checkout page (or says why not) and describes it."""
    name = result.merchants[CHECKOUT_MERCHANT][0]
    executable = chromium_path()
    if executable is None:
        return (
            f"  skipped paying {name} through the checkout page in headless Chromium: Debian's chromium "
            f"is not installed (apt-get install chromium); pay by hand as above"
        )
    receipt = pay_through_checkout(api_url, result.merchant_ids[CHECKOUT_MERCHANT], executable)
    return (
        f"  {name}: a customer paid Rp {CHECKOUT_AMOUNT} through the checkout page in headless Chromium, "
        f"receipt {receipt}"
    )
