"""The merchant portal end to end, on the platform ``make run`` starts, in Debian's Chromium at 360 px.

Nothing here is faked: ``msc up`` runs anvil with the deployed contracts, the in-process settlement
workers, the local Pi peer (real Stellar transactions) and the API; the customer pays through the
checkout page; the custodial wallet signs on the server. The issue's journey, in order:

1. the operator onboards a merchant with a custodial wallet and invites its owner (API);
2. the owner accepts the invitation, sets a password, signs in and turns on a second factor;
3. the owner invites a cashier, who accepts and opens "Hari ini" (Today) with its live feed;
4. a customer pays through the checkout and the cashier's feed shows "Rp 15.000 diterima";
5. after a second payment, the owner refunds part of it with a reason (from the escrow);
6. the escrow hold passes; the owner adds a bank account and redeems with the custodial wallet,
   each with a fresh second-factor code; the operator marks the bank transfer paid, and the owner
   sees the payout paid;
   meanwhile the customer of the refunded payment is paid back in Pi and the MSC burned;
7. the monthly statement shows what happened: two sales, the refund and the payout, exactly.

Pages are checked for console errors and CSP violations throughout.
"""

from __future__ import annotations

import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
import pyotp
import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page
from sqlalchemy import select
from sqlalchemy.orm import Session

from chain.settings import PROJECT_ROOT
from common.sql.engine import create_engine_from_url
from launcher.checkout_demo import CHECKOUT_AMOUNT, pay_on_page
from launcher.settlement_demo import HOLD_FAST_FORWARD_S
from launcher.stack import DEMO_ADMIN_SECRET
from settlement.paybacks.models import Payback
from tests.launcher.support import msc_up
from tests.support.browser import debian_chromium

API = "http://127.0.0.1:8000"
CHAIN = "http://127.0.0.1:8545"
CHROMIUM = shutil.which("chromium")
OWNER_EMAIL = "ani@kedaikopi.example"
CASHIER_EMAIL = "kasir@kedaikopi.example"
PASSWORD = "kopi-tubruk-madiun-2026"
SEN = 100  # sen per Rupiah
CHECKOUT_SEN = int(CHECKOUT_AMOUNT.replace(".", "")) * SEN
REFUND_SEN = 5_000 * SEN
REDEEM_SEN = 10_000 * SEN
JAKARTA = ZoneInfo("Asia/Jakarta")
DATABASE = f"sqlite:///{PROJECT_ROOT / 'var' / 'msc.sqlite3'}"  # msc up's database (launcher/stack.py)

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is needed (tools/services.sh)")


def _rupiah(sen: int) -> str:
    """``Rp 15.000`` (whole Rupiah) as the pages write it, without the sen."""
    return "Rp " + f"{sen // SEN:,}".replace(",", ".")


def _wait(what: str, predicate: Callable[[], bool], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.25)


@pytest.fixture(scope="module")
def platform() -> Iterator[str]:
    """``msc up`` serving on the embedded defaults (stopped at the end of the module)."""
    with msc_up():
        yield API


class Problems:
    """Console errors, page errors and CSP violations of every page of a browser context."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def watch(self, context: BrowserContext) -> None:
        context.on("page", self._page)

    def _page(self, page: Page) -> None:
        page.on("console", lambda message: self._console(page, message))
        page.on("pageerror", lambda error: self.messages.append(f"pageerror: {error}"))
        page.on(
            "response", lambda r: self.messages.append(f"{r.status} {r.url}") if r.status >= 400 else None
        )

    def _console(self, page: Page, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.messages.append(f"{message.type} on {page.url}: {message.text}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless (never downloaded)."""
    with debian_chromium() as launched:
        yield launched


def _phone(browser: Browser, problems: Problems) -> Page:
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="id-ID")
    problems.watch(context)
    page = context.new_page()
    page.set_default_timeout(30_000)
    return page


def _accept_and_sign_in(page: Page, link: str, email: str, name: str) -> None:
    page.goto(link)
    page.fill("#display_name", name)
    page.fill("#password", PASSWORD)
    page.fill("#password_again", PASSWORD)
    page.click("#accept")
    page.wait_for_url("**/portal/login**")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_url(re.compile(r".*/portal(/m/[0-9a-f-]{36})?$"))


def _chain(method: str, params: list[object]) -> object:
    answer = httpx.post(CHAIN, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).json()
    assert "error" not in answer, answer
    return answer["result"]


def _sen(text: str) -> int:
    """The sen of a Rupiah figure as the pages print it (``Rp 25.000`` or ``Rp 25.000,00``)."""
    whole, _, cents = text.replace("Rp", "").replace("\xa0", " ").strip().partition(",")
    return int(whole.replace(".", "").strip()) * SEN + int(cents or 0)


def test_merchantRunsItsShopFromThePortal(platform: str, browser: Browser) -> None:
    problems = Problems()
    api = httpx.Client(base_url=platform, timeout=30)
    operator = api.post(
        "/v1/api-keys", json={"role": "operator"}, headers={"X-Admin-Secret": DEMO_ADMIN_SECRET}
    )
    auth = {"Authorization": f"Bearer {operator.json()['api_key']}"}

    # 1. The operator onboards a merchant with a platform-managed wallet and invites its owner.
    made = api.post(
        "/v1/merchants",
        json={"name": "Kedai Kopi Bu Ani", "kelurahan": "Taman", "custody": True,
              "pi_username": f"kedaikopi{uuid.uuid4().hex[:6]}"},
        headers=auth,
    )  # fmt: skip
    assert made.status_code == 201, made.text
    merchant = made.json()["merchant"]["id"]
    shop = f"{platform}/portal/m/{merchant}"
    invited = api.post(
        f"/v1/merchants/{merchant}/owner-invitations", json={"email": OWNER_EMAIL}, headers=auth
    )
    assert invited.status_code == 201, invited.text

    # 2. The owner accepts, signs in and turns on the authenticator app.
    owner = _phone(browser, problems)
    _accept_and_sign_in(owner, invited.json()["link"], OWNER_EMAIL, "Bu Ani")
    owner.goto(f"{platform}/portal/me/security")
    owner.click("#totp-begin")
    totp = pyotp.TOTP(owner.inner_text("#totp-secret").replace(" ", ""))
    step = totp.timecode(datetime.now(UTC))  # the enrolment spends this step's code
    owner.fill("#totp-code", totp.now())
    owner.click("#totp-confirm")
    recovery = owner.locator("#recovery-codes li").all_inner_texts()
    assert len(recovery) >= 2, "recovery codes are shown once, when the second factor is turned on"

    # 3. The owner invites a cashier, who signs in and keeps Today open.
    owner.goto(f"{shop}/settings")
    owner.fill("#invite-email", CASHIER_EMAIL)
    owner.click("#invite")
    cashier_link = owner.inner_text("#invite-link").strip()
    cashier = _phone(browser, problems)
    _accept_and_sign_in(cashier, cashier_link, CASHIER_EMAIL, "Kasir")
    cashier.goto(shop)
    assert cashier.inner_text("#today-title").startswith("Hari ini")
    assert cashier.locator("#feed li").count() == 0

    # 4. A customer pays through the checkout; the cashier's live feed announces it.
    customer = _phone(browser, problems)
    first_receipt = pay_on_page(customer, platform, merchant)
    first = first_receipt.rsplit("/", 1)[1]
    cashier.wait_for_selector(f"#feed li[data-payment='{first}']", timeout=10_000)
    assert f"{_rupiah(CHECKOUT_SEN)} diterima" in cashier.inner_text("#feed")
    assert cashier.inner_text("#sales-count") == "1"
    # A cashier takes no money out: the money page and the refund form are refused.
    assert cashier.request.get(f"{shop}/money").status == 403
    assert cashier.request.get(f"{shop}/payments/{first}/refund").status == 403

    # 5. A second payment; the owner refunds part of it from the escrow, with a reason.
    second = pay_on_page(customer, platform, merchant).rsplit("/", 1)[1]
    owner.goto(f"{shop}/payments/{second}/refund")
    assert _sen(owner.inner_text("#refund-held")) == CHECKOUT_SEN
    owner.check("#refund-partial")
    owner.fill("#refund-amount", f"{REFUND_SEN // SEN:,}".replace(",", "."))
    owner.fill("#refund-reason", "Kopi susu habis, diganti teh")
    owner.click("#refund-submit")
    owner.wait_for_selector("#refund-done")
    assert "Kopi susu habis" in owner.inner_text("#refunds")

    def refund_confirmed() -> bool:
        owner.reload()
        return _sen(owner.inner_text("#refund-held")) == CHECKOUT_SEN - REFUND_SEN

    _wait("the refund on chain", refund_confirmed, 180.0)  # the workers resume it; slower on a busy CI

    # The customer gets its Pi back and the refunded MSC is burned (settlement.paybacks).
    def paid_back() -> bool:
        engine = create_engine_from_url(DATABASE)
        try:
            with Session(engine) as session:
                query = select(Payback).where(Payback.payment_id == uuid.UUID(second))
                back = [(b.status, b.msc_amount, b.pi_amount > 0) for b in session.scalars(query)]
        finally:
            engine.dispose()
        return back == [("completed", REFUND_SEN, True)]

    _wait("the customer's pay-back in Pi", paid_back)

    # 6. The hold passes (the local chain's clock moves as days would); the escrow releases.
    _chain("evm_increaseTime", [HOLD_FAST_FORWARD_S])
    _chain("evm_mine", [])
    released = 2 * CHECKOUT_SEN - REFUND_SEN

    def all_released() -> bool:
        owner.goto(f"{shop}/money")
        return _sen(owner.inner_text("#released-total")) == released

    _wait("the escrow release", all_released, 90)
    owner.fill("#bank-code", "BJTM")
    owner.fill("#bank-number", "0012345678")
    owner.fill("#bank-holder", "Ani Rahayu")
    owner.fill("#bank-code-2fa", recovery[0])
    owner.click("#bank-submit")
    owner.wait_for_selector("#redeem-form")
    assert owner.locator("#money-error").count() == 0, owner.inner_text("#money-error")
    owner.fill("#redeem-amount", f"{REDEEM_SEN // SEN:,}".replace(",", "."))
    # A code is good once: the redemption takes a fresh TOTP code (the next step's).
    _wait("the next TOTP step", lambda: totp.timecode(datetime.now(UTC)) > step, 35)
    owner.fill("#redeem-code", totp.now())
    owner.click("#redeem-submit")
    owner.wait_for_selector("#payouts li[data-payout]")
    assert owner.locator("#money-error").count() == 0, owner.inner_text("#money-error")
    payout = owner.get_attribute("#payouts li[data-payout]", "data-payout")
    assert payout

    def burned() -> bool:
        return api.get(f"/v1/redemptions/{payout}", headers=auth).json()["status"] == "processing"

    _wait("the redemption's burn", burned)
    paid = api.post(f"/v1/redemptions/{payout}/paid", json={"bank_reference": "BJTM-TRF-0001"}, headers=auth)
    assert paid.status_code == 200, paid.text
    owner.reload()
    assert owner.get_attribute(f"#payouts li[data-payout='{payout}']", "data-status") == "paid"

    # 7. The month's statement: two sales, the refund, the payout — exactly.
    month = datetime.now(JAKARTA).strftime("%Y-%m")
    owner.goto(f"{shop}/reports?month={month}")
    assert owner.inner_text("#total-sales") == "2"
    assert _sen(owner.inner_text("#total-gross")) == 2 * CHECKOUT_SEN
    assert _sen(owner.inner_text("#total-refunds")) == REFUND_SEN
    assert _sen(owner.inner_text("#total-net")) == 2 * CHECKOUT_SEN - REFUND_SEN
    assert _sen(owner.inner_text("#total-payouts")) == REDEEM_SEN
    csv = owner.request.get(f"{shop}/reports/statement/{month}.csv")
    assert csv.status == 200 and str(2 * CHECKOUT_SEN - REFUND_SEN) in csv.text()
    assert problems.messages == []
