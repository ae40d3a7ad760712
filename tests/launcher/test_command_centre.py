"""``make run PILOT=1`` as a newcomer runs it: ``msc up --pilot`` serving, read in Debian's Chromium.

Issue 15's "done when": the LPUI page, the forecasts and the last monthly report with its on-chain
root, and the README's verifier passing for a demo merchant. A small pilot (8 UMKM over 21 days)
keeps it quick; the full one is the same code with other numbers. Each page is read at 360 px in
Bahasa Indonesia, and its figures are checked against the chain (the attestation contract), the
launcher's own output and the stored books, not just for being there.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.merchants.models import Merchant
from audit.liabilities.publish import period_number
from audit.monthly.figures import canonical_json
from audit.reconcile.checks import escrow_ledger_matches_chain, minted_to_escrow_ledger_matches_chain
from audit.reconcile.runner import reconcile_once
from chain.platform import load_platform
from chain.settings import PROJECT_ROOT, ChainSettings
from city.lpui.compute import daily_totals
from common.sql.engine import create_engine_from_url
from launcher.demo import DEMO_ESCROWED
from launcher.pilot import merchant_data, sales
from launcher.pilot_demo import jakarta_today, pilot_plan
from settlement.payments.models import Payment
from tests.launcher.support import msc_up
from tests.support.browser import debian_chromium

API = "http://127.0.0.1:8000"
MERCHANTS, DAYS = 8, 21
DATABASE = f"sqlite:///{PROJECT_ROOT / 'var' / 'msc.sqlite3'}"  # msc up's database (launcher/stack.py)
PUBLISHED = re.compile(
    r"liabilities of (?P<period>\d{4}-\d{2}): root (?P<root>0x[0-9a-f]{64}) .* in block (?P<block>\d+)"
)
REPORT = re.compile(r"monthly report (?P<period>\d{4}-\d{2}): end block (?P<end>\d+), liabilities root "
                    r"(?P<root>0x[0-9a-f]{64}), sha256 (?P<sha>[0-9a-f]{64})")  # fmt: skip
VERIFIED = re.compile(
    r"docs/verify_liabilities\.py on demo merchant (?P<merchant>[0-9a-f-]{36})'s proof: OK: "
)

pytestmark = pytest.mark.skipif(
    shutil.which("chromium") is None, reason="Debian's chromium is needed (tools/services.sh)"
)


@dataclass(frozen=True)
class Running:
    """What ``msc up --pilot`` printed before serving."""

    output: str


@pytest.fixture(scope="module")
def running() -> Iterator[Running]:
    """``msc up --pilot`` serving (stopped at the end of the module)."""
    with msc_up("--pilot", "--pilot-merchants", str(MERCHANTS), "--pilot-days", str(DAYS)) as output:
        yield Running(output)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless (never downloaded)."""
    with debian_chromium() as launched:
        yield launched


def _phone(browser: Browser) -> Page:
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="id-ID")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # type: ignore[attr-defined]
    return page


def _fits(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert page.errors == []  # type: ignore[attr-defined]  # no console error, no CSP violation


def test_thePilotCity_isMadeAndMarkedSimulated(running: Running) -> None:
    summary = re.search(r"(\d+) \[SIMULASI\] merchants, (\d+) Pi payments", running.output)
    assert summary and int(summary.group(1)) == MERCHANTS and int(summary.group(2)) > MERCHANTS * DAYS // 2
    engine = create_engine_from_url(DATABASE)
    try:
        with engine.connect() as conn:
            simulated = conn.scalar(select(func.count()).select_from(Merchant).where(Merchant.simulated))
            names = conn.scalars(select(Merchant.name).where(Merchant.simulated)).all()
    finally:
        engine.dispose()
    assert simulated == MERCHANTS and all(n.startswith("[SIMULASI] ") for n in names)
    assert f"LPUI computed for {DAYS} days" in running.output


def test_thePilotsMscPayments_areOnChain_andTheLpuiCountsThem(running: Running) -> None:
    """Half the pilot's customers pay the merchants' wallets in MSC: each such sale is a transfer
    on the stack's chain, mirrored by its indexer, and the LPUI's inputs hold both halves."""
    plan = pilot_plan(MERCHANTS, DAYS, jakarta_today())
    msc_sales = [s for s in sales(plan) if not s.in_pi]
    sent = re.search(r"(\d+) MSC payments \(Rp [\d.,]+\) from (\d+) customer wallets", running.output)
    assert sent and int(sent[1]) == len(msc_sales) > 0
    platform = load_platform(ChainSettings.from_env().model_copy(update={"rpc_url": "http://127.0.0.1:8545"}))
    wallets = [str(merchant_data(plan, i).evm_address) for i in range(MERCHANTS)]
    held = sum(platform.msc.functions.balanceOf(w).call() for w in wallets)
    assert held == sum(s.rupiah * 100 for s in msc_sales)  # every MSC sale reached its merchant
    engine = create_engine_from_url(DATABASE)
    try:
        with Session(engine) as session:
            totals = daily_totals(session, plan.first_day, plan.end - timedelta(days=1))
            pi_payments = session.scalar(
                select(func.count()).select_from(Payment).where(Payment.pi_payment_id.startswith("simulasi-"))
            )
    finally:
        engine.dispose()
    assert sum(count for count, _ in totals.values()) == pi_payments + len(msc_sales)


def test_thePilotsPiPayments_areInTheEscrow_soTheBooksAgreeWithTheChain(running: Running) -> None:
    """The pilot's Pi payments are booked as minted into the escrow, and the escrow on the stack's
    chain holds them: the books' escrow equals the chain's, and what the books say was minted into
    it equals the chain's deposits but for the one deposit ``launcher/demo.py`` makes by hand, as a
    wallet integration would, outside the settlement's books."""
    assert re.search(r"(\d+) Pi payments .* (\d+) of them held in the escrow", running.output)
    platform = load_platform(ChainSettings.from_env().model_copy(update={"rpc_url": "http://127.0.0.1:8545"}))
    engine = create_engine_from_url(DATABASE)
    try:
        report = reconcile_once(
            engine, platform, checks=[escrow_ledger_matches_chain, minted_to_escrow_ledger_matches_chain]
        )
    finally:
        engine.dispose()
    results = {r.check: r for r in report.results}
    assert results["escrow_ledger_matches_chain"].ok, results
    minted = results["minted_to_escrow_ledger_matches_chain"]
    assert minted.expected - minted.actual == DEMO_ESCROWED, minted


def test_lpuiPage_showsEveryKelurahan_andSaysItIsSimulated(running: Running, browser: Browser) -> None:
    page = _phone(browser)
    page.goto(f"{API}/explorer/lpui")
    assert page.locator("html").get_attribute("lang") == "id"
    assert page.locator("#lpui-heat tbody tr").count() == 27
    notice = page.locator("#simulated-notice")
    assert (
        "[SIMULASI]" in notice.inner_text()
        and notice.get_attribute("title") == f"simulated_merchants={MERCHANTS}"
    )
    ranked = page.locator("#lpui-ranking tbody tr")
    assert ranked.count() >= 1  # kelurahan with pilot sales are ranked on the last day
    _fits(page)


def test_ledgerPages_sayTheyHoldTheSimulatedTrade_inBothLanguages(running: Running, browser: Browser) -> None:
    """The explorer's own pages (the pilot's payments are on the chain they show) carry the notice."""
    page = _phone(browser)
    for path in ("/explorer", "/explorer/txs"):
        page.goto(f"{API}{path}")
        notice = page.locator("#simulated-ledger-notice")
        assert notice.is_visible() and notice.get_attribute("title") == f"simulated_merchants={MERCHANTS}"
        assert "tidak nyata" in notice.inner_text()
        _fits(page)
    page.click("#lang-en")
    page.wait_for_url("**lang=en**")
    assert "simulated pilot merchants" in page.locator("#simulated-ledger-notice").inner_text()
    _fits(page)


def test_forecastsPage_showsThreeHorizons_withIntervals(running: Running, browser: Browser) -> None:
    assert re.search(r"backtest \(city, count\): model MASE [\d.]+ vs seasonal-naive [\d.]+", running.output)
    page = _phone(browser)
    page.goto(f"{API}/explorer/forecasts")
    assert page.locator("#fc-subject").inner_text() == "Seluruh kota"
    assert "[SIMULASI]" in page.locator("#simulated-notice").inner_text()
    for metric in ("count", "value"):
        rows = page.locator(f"#fc-totals-{metric} tbody tr")
        assert [rows.nth(i).get_attribute("data-days") for i in range(rows.count())] == ["30", "60", "90"]
        for i in range(3):
            interval = rows.nth(i).locator(".fc-interval").get_attribute("title") or ""
            lo, hi = (int(v) for v in re.findall(r"=(\d+)", interval))
            point = int((rows.nth(i).locator("td .amt").first.get_attribute("title") or "").split("=")[1])
            assert lo <= point <= hi  # the 80% interval holds the point forecast
    _fits(page)


def test_lastMonthlyReport_carriesTheRootPublishedOnChain(running: Running, browser: Browser) -> None:
    published = PUBLISHED.search(running.output)
    report = REPORT.search(running.output)
    assert published and report and published["period"] == report["period"]
    period = report["period"]
    # The root on LiabilityAttestation is the one printed and the one the report shows.
    platform = load_platform(ChainSettings.from_env().model_copy(update={"rpc_url": "http://127.0.0.1:8545"}))
    on_chain = platform.contract("LiabilityAttestation").functions.attestation(period_number(period)).call()
    assert "0x" + bytes(on_chain[0]).hex() == published["root"] == report["root"]
    assert int(report["end"]) >= int(published["block"])  # the month ended after the root was published

    page = _phone(browser)
    page.goto(f"{API}/explorer/reports")
    page.click(f"a[href='/explorer/reports/{period}']")
    page.wait_for_url(f"**/explorer/reports/{period}")
    assert page.locator("#liabilities-root").first.inner_text().strip() == report["root"]
    assert page.locator("#report-sha256").inner_text().strip() == report["sha"]
    assert page.locator("#end-block").inner_text().strip() == report["end"]
    assert "[SIMULASI]" in page.locator("#simulated").inner_text()
    _fits(page)
    download = httpx.get(f"{API}/explorer/reports/{period}.json", timeout=30).json()
    assert download["sha256"] == report["sha"]
    assert hashlib.sha256(canonical_json(download["figures"]).encode()).hexdigest() == report["sha"]
    # Its exact supply is the chain's at the end block.
    supply = platform.msc.functions.totalSupply().call(block_identifier=int(report["end"]))
    assert int(download["figures"]["msc_supply"]) == supply


def test_readmesVerifier_passesForADemoMerchant(running: Running) -> None:
    verified = VERIFIED.search(running.output)
    assert verified, running.output[-3000:]
    line = running.output[verified.start() :].splitlines()[0]
    owed = re.search(r"owed (\d+); root, total match block (\d+); reserves (\d+) >= (\d+) \+ (\d+)", line)
    assert owed and int(owed[1]) > 0 and int(owed[3]) >= int(owed[4]) + int(owed[5])
