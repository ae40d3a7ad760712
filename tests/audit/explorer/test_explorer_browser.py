"""The explorer in a real headless Chromium, over a real chain indexed into a real mirror.

The whole platform is deployed on a private anvil and driven through the launcher's demos (reserves,
mints, a transfer, an escrow deposit and release, a lock, a carbon project issued, sold and
retired) plus a run of extra mints and transfers, then two more blocks (a mint, a retirement and
credit transfers) that stay *unconfirmed*: the explorer runs with a confirmation depth of 2, so
every number on its pages must equal what the contracts answer at ``head - 2`` (``eth_call`` at
that block), not at the head. The mirror is a SQLite file written by the real indexer; the API app
is served by uvicorn in a thread; Debian's Chromium is driven by Playwright (never downloaded).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
import uvicorn
from playwright.sync_api import Browser, Page
from sqlalchemy import insert
from web3 import Web3

from api.app import create_app
from api.settings import ApiSettings
from audit.explorer.endpoints import DOCUMENT_CSP
from audit.explorer.settings import ExplorerSettings
from audit.store.models import RECONCILIATION_CHECKS, RECONCILIATION_RUNS
from audit.store.repository import store_flags
from carbon.documents import cid_for_bytes
from chain.deploy import DeployPlan, deploy_platform
from chain.localnode import AnvilNode
from chain.platform import Platform
from chain.settings import PROJECT_ROOT, ChainSettings
from common.money import format_idr, rupiah
from common.sql.engine import create_engine_from_url, make_sessionmaker
from common.sql.migrate import upgrade
from indexer.cli import build_pipeline
from indexer.settings import IndexerSettings
from launcher.carbon_demo import RETIRED, run_carbon_demo
from launcher.demo import run_demo
from settlement.minting.ids import escrow_payment_id
from settlement.payments.service import PaymentService
from settlement.payouts.service import PayoutService
from settlement.quotes.rates import FixedRateSource
from settlement.quotes.service import QuoteService, QuoteSettings
from tests.support.browser import debian_chromium
from webui.i18n import LANGUAGE_COOKIE

PORT = 8740
BUILD = PROJECT_ROOT / "build"
CONFIRMATIONS = 2
PAYOUT = rupiah(5_000)
TAIL_MINT = rupiah(777)
TAIL_RETIRE = 5
TAIL_CREDITS = 10
PI_PAYMENT = "demo-pi-payment-0001"
SETTLED_PI_PAYMENT = "pi-explorer-0042"
RECONCILED = 2**200 + 1  # an exact figure no float or int64 could carry


class _NoTasks:
    """The app's task queue: the explorer enqueues nothing, and no Redis database is ours to use."""

    def enqueue(self, name: str, *args: str) -> bool:
        return False


@dataclass
class World:
    """The chain, the mirror, the served app and what the demos did."""

    w3: Web3
    platform: Platform
    url: str
    db_url: str
    node_url: str
    deployment_file: Path
    head: int
    as_of: int
    issuer: str
    trader: str
    """Account 6: ten mints in, five transfers out (a table of several pages)."""
    merchant: str
    supplier: str
    buyer: str
    newcomer: str
    """Account 9: first touched in the unconfirmed blocks only."""
    token_id: int
    certificate_id: int
    documents_cid: str
    payment_id: str
    settled_payment: uuid.UUID
    """A settlement payment (Pi payment id ``SETTLED_PI_PAYMENT``) still held in the escrow."""
    mint_tx: str
    transfer_tx: str
    tail_tx: str

    def get(self, path: str, **params: Any) -> requests.Response:
        """A plain HTTP GET against the served app."""
        return requests.get(self.url + path, params=params, timeout=30)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _traffic(w3: Web3, platform: Platform) -> None:
    """More MSC movements (so tables have several pages): mints to two accounts, transfers between them."""
    msc = platform.msc.functions
    issuer, a, b = w3.eth.accounts[0], w3.eth.accounts[6], w3.eth.accounts[7]
    for i in range(1, 11):
        w3.eth.wait_for_transaction_receipt(msc.mint(a, rupiah(1_000 * i) + i).transact({"from": issuer}))
    for i in range(1, 6):
        w3.eth.wait_for_transaction_receipt(msc.transfer(b, rupiah(100 * i) + 7 * i).transact({"from": a}))


def _settle_into_escrow(db_url: str, w3: Web3, platform: Platform, merchant: str) -> uuid.UUID:
    """A customer's Pi payment recorded by the settlement and deposited into the escrow under the
    settlement's key (its UUID), still held: what a receipt's Pi payment id must lead to."""
    upgrade(db_url)
    engine = create_engine_from_url(db_url)
    quotes = QuoteService(
        FixedRateSource(Decimal("15000")),
        QuoteSettings.from_env({}, ttl_seconds=300, fee_bps=100, network_fee_minor=100),
    )
    try:
        with make_sessionmaker(engine).begin() as session:
            quote = quotes.create(session, sell_asset="PI", buy_asset="IDR", sell_amount=3 * 10**7)
            payment = PaymentService(quotes).create(
                session, pi_payment_id=SETTLED_PI_PAYMENT, merchant_id="m-1", quote_id=quote.id
            )
            payment_id, amount = payment.id, payment.idr_amount
    finally:
        engine.dispose()
    msc, escrow = platform.msc.functions, platform.escrow
    issuer, customer = w3.eth.accounts[0], w3.eth.accounts[8]
    for call in (
        msc.mint(issuer, amount),
        msc.approve(escrow.address, amount),
        escrow.functions.deposit(escrow_payment_id(payment_id), merchant, customer, amount, 86_400),
    ):
        assert w3.eth.wait_for_transaction_receipt(call.transact({"from": issuer}))["status"] == 1
    return payment_id


def _unconfirmed_tail(w3: Web3, platform: Platform, token_id: int, buyer: str, newcomer: str) -> str:
    """Two blocks the explorer must not show yet: a mint to a new account, a retirement, credit moves."""
    carbon, msc = platform.carbon.functions, platform.msc.functions
    issuer = w3.eth.accounts[0]
    w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        mint = msc.mint(newcomer, TAIL_MINT).transact({"from": issuer, "gas": 300_000})
        period = (1_735_689_600, 1_767_225_599)
        carbon.retire((buyer, token_id, TAIL_RETIRE, buyer, "Late", "Unconfirmed", *period)).transact(
            {"from": buyer, "gas": 600_000}
        )
        w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        carbon.safeTransferFrom(buyer, newcomer, token_id, TAIL_CREDITS, b"").transact(
            {"from": buyer, "gas": 300_000}
        )
        w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    finally:
        w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
    receipt = w3.eth.get_transaction_receipt(mint)
    assert receipt["status"] == 1
    return mint.to_0x_hex()


def _index(db_url: str, node_url: str, deployment_file: Path) -> None:
    upgrade(db_url)
    settings = IndexerSettings(
        database_url=db_url, rpc_url=node_url, deployment_file=deployment_file, build_dir=BUILD
    )
    pipeline = build_pipeline(settings)
    try:
        pipeline.run(follow=False)
    finally:
        pipeline.engine.dispose()


def _record_payout(db_url: str) -> None:
    """A redemption the bank has not paid yet: the overview's pending payouts."""
    engine = create_engine_from_url(db_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            PayoutService().request(
                session,
                idempotency_key="explorer-payout-1",
                merchant_id="m-1",
                amount=PAYOUT,
                bank_account="BJTM-1",
            )
    finally:
        engine.dispose()


def _flag(flag_id: str, kind: str, score: float, status: str, tx: str, block: int) -> dict[str, Any]:
    return {
        "id": flag_id,
        "kind": kind,
        "source": kind,
        "score": score,
        "reason": f"{kind} between related accounts",
        "tx_hashes": [tx],
        "accounts": [],
        "evidence": {"block_range": [block, block]},
        "block_number": block,
        "status": status,
        "note": "",
        "created_at": datetime.now(UTC),
    }


def _record_audit(db_url: str, w3: Web3, confirmed_tx: str, unconfirmed_tx: str, as_of: int) -> None:
    """Anomaly flags (one on an unconfirmed transaction) and two reconciliation runs, one above as-of."""
    confirmed_block = w3.eth.get_transaction_receipt(confirmed_tx)["blockNumber"]
    unconfirmed_block = w3.eth.get_transaction_receipt(unconfirmed_tx)["blockNumber"]
    now = datetime.now(UTC)
    engine = create_engine_from_url(db_url)
    try:
        with engine.begin() as conn:
            store_flags(
                conn,
                [
                    _flag("wash_trade:aa", "wash_trade", 0.91, "open", confirmed_tx, confirmed_block),
                    _flag("dormancy:bb", "dormancy", 0.42, "dismissed", confirmed_tx, confirmed_block),
                    _flag("wash_trade:cc", "wash_trade", 0.99, "open", unconfirmed_tx, unconfirmed_block),
                ],
            )
            for block, ok in ((as_of, False), (unconfirmed_block, True)):
                run_id = conn.execute(
                    insert(RECONCILIATION_RUNS)
                    .values(block=block, started_at=now, finished_at=now, ok=ok)
                    .returning(RECONCILIATION_RUNS.c.id)
                ).scalar_one()
                checks = [
                    ("supply_vs_reserves", True, RECONCILED, RECONCILED),
                    ("escrow_held", ok, 2_000_000, 1),
                ]
                conn.execute(
                    insert(RECONCILIATION_CHECKS),
                    [
                        {
                            "run_id": run_id,
                            "block_number": block,
                            "check": name,
                            "subject": "",
                            "ok": passed,
                            "expected": str(expected),
                            "actual": str(actual),
                            "details": {},
                            "created_at": now,
                        }
                        for name, passed, expected, actual in checks
                    ],
                )
    finally:
        engine.dispose()


class Served:
    """The API app served by uvicorn in a thread (stopped by :meth:`stop`)."""

    def __init__(self, db_url: str, deployments: Path, documents: Path | None = None) -> None:
        settings = ApiSettings.from_env({}, database_url=db_url)
        chain = ChainSettings.from_env(
            {}, rpc_url="http://127.0.0.1:9", build_dir=BUILD, deployments_dir=deployments
        )
        app = create_app(settings, chain_settings=chain, task_queue=_NoTasks())
        app.state.explorer = ExplorerSettings(
            confirmations=CONFIRMATIONS, page_size=10, documents_dir=documents
        )
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        """Shuts the server down and waits for its thread."""
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Chain with the demos and the extra traffic, indexed into SQLite, served with depth 2."""
    folder = tmp_path_factory.mktemp("explorer")
    with AnvilNode(port=PORT) as node:
        w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 60}))
        accounts = w3.eth.accounts
        deployment_file = folder / "development.json"
        deployment = deploy_platform(w3, BUILD, DeployPlan(accounts[0]), deployment_file)
        platform = Platform(w3, deployment, BUILD)
        demo = run_demo(platform)
        carbon = run_carbon_demo(platform, folder / "documents")
        _traffic(w3, platform)
        db_url = f"sqlite:///{folder / 'mirror.sqlite3'}"
        settled = _settle_into_escrow(db_url, w3, platform, demo.merchant)
        buyer, newcomer = Web3.to_checksum_address(carbon.buyer), accounts[9]
        tail_tx = _unconfirmed_tail(w3, platform, carbon.token_id, buyer, newcomer)
        head = w3.eth.block_number
        _index(db_url, node.url, deployment_file)
        _record_payout(db_url)
        _record_audit(db_url, w3, demo.transfer_tx, tail_tx, head - CONFIRMATIONS)
        served = Served(db_url, folder, folder / "documents")
        try:
            yield World(
                w3=w3,
                platform=platform,
                url=served.url,
                db_url=db_url,
                node_url=node.url,
                deployment_file=deployment_file,
                head=head,
                as_of=head - CONFIRMATIONS,
                issuer=demo.issuer,
                trader=accounts[6],
                merchant=demo.merchant,
                supplier=demo.supplier,
                buyer=buyer,
                newcomer=newcomer,
                token_id=carbon.token_id,
                certificate_id=carbon.certificate_id,
                documents_cid=carbon.documents_cid,
                payment_id=demo.escrow_payment_id,
                settled_payment=settled,
                mint_tx=demo.mint_tx,
                transfer_tx=demo.transfer_tx,
                tail_tx=tail_tx,
            )
        finally:
            served.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless (never downloaded)."""
    with debian_chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def page(world: World, browser: Browser) -> Iterator[Page]:
    """One desktop-sized page for the module (each test navigates it), downloads accepted, in
    English: these tests read the chain's figures and the English words; the language tests below
    use their own contexts, which start in Bahasa Indonesia."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.add_cookies([{"name": LANGUAGE_COOKIE, "value": "en", "url": world.url}])
    try:
        yield context.new_page()
    finally:
        context.close()


def exact(page: Page, selector: str) -> int:
    """The exact integer behind the amount shown in ``selector``."""
    value = page.locator(f"{selector} .amt").first.get_attribute("data-exact")
    assert value is not None, f"no amount in {selector}"
    return int(value)


def column(page: Page, table: str, key: str) -> list[int]:
    """The exact integers of column ``key`` of table ``table`` on the page, top to bottom."""
    cells = page.locator(f'table[data-table="{table}"] td[data-key="{key}"] .amt')
    return [int(v) for v in cells.evaluate_all("els => els.map(e => e.dataset.exact)")]


def texts(page: Page, table: str, key: str) -> list[str]:
    """The link targets' titles (full hashes/addresses) or texts of column ``key``."""
    cells = page.locator(f'table[data-table="{table}"] td[data-key="{key}"]')
    return cells.evaluate_all(
        "els => els.map(e => (e.querySelector('a[title]') || e).getAttribute('title') || e.innerText)"
    )


# ---------------------------------------------------------------------- the pages show the chain


def test_overview_shows_the_chains_figures_as_of_the_confirmed_block(world: World, page: Page) -> None:
    at = world.as_of
    msc, carbon = world.platform.msc.functions, world.platform.carbon.functions
    page.goto(world.url + "/explorer")

    assert int(page.locator("#as-of-block").inner_text()) == at == world.head - CONFIRMATIONS
    assert exact(page, "#msc-supply") == msc.totalSupply().call(block_identifier=at)
    assert exact(page, "#attested-reserves") == msc.attestedReserves().call(block_identifier=at)[0]
    assert exact(page, "#pending-payouts") == PAYOUT
    reserves, supply = exact(page, "#attested-reserves"), exact(page, "#msc-supply")
    assert exact(page, "#reserve-margin") == reserves - PAYOUT - supply
    assert exact(page, "#staked") == world.platform.staking.functions.totalPrincipal().call(
        block_identifier=at
    )
    escrow_totals = world.platform.escrow.functions.totals().call(block_identifier=at)
    assert exact(page, "#escrow-held") == escrow_totals[0]
    vintage = carbon.vintage(world.token_id).call(block_identifier=at)
    assert exact(page, "#carbon-issued") == vintage[4]
    assert exact(page, "#carbon-retired") == vintage[5] == RETIRED
    assert exact(page, "#carbon-bridged") == vintage[6]
    # The chart is inline SVG with both series drawn; nothing is fetched from another origin.
    assert page.locator("#supply-chart polyline.supply").get_attribute("points")
    assert page.locator("#supply-chart polyline.reserves").get_attribute("points")
    assert page.evaluate(
        "performance.getEntriesByType('resource').every(r => r.name.startsWith(location.origin))"
    )


def test_the_as_of_block_holds_back_what_has_fewer_confirmations(world: World, page: Page) -> None:
    msc, carbon = world.platform.msc.functions, world.platform.carbon.functions
    at, head = world.as_of, world.head
    # The unconfirmed tail changed supply, a new account's balance and the retired tonnes...
    assert msc.totalSupply().call(block_identifier=head) != msc.totalSupply().call(block_identifier=at)
    assert carbon.vintage(world.token_id).call()[5] == RETIRED + TAIL_RETIRE
    # ...and the explorer shows none of it.
    page.goto(f"{world.url}/explorer/address/{world.newcomer}")
    assert exact(page, "#msc-balance") == 0 == msc.balanceOf(world.newcomer).call(block_identifier=at)
    assert exact(page, "#carbon-held") == 0
    assert page.locator('table[data-table="transfers"]').count() == 0
    page.goto(f"{world.url}/explorer/carbon/vintage/{world.token_id}")
    assert exact(page, "#vintage-retired") == RETIRED
    page.goto(f"{world.url}/explorer/search?q={world.tail_tx}")
    assert "Nothing matches" in page.locator("#error-message").inner_text()
    response = page.goto(f"{world.url}/explorer/block/{head}")
    assert response is not None and response.status == 404
    overview = world.get("/explorer/api/overview").json()
    assert (overview["as_of_block"], overview["head"], overview["confirmations"]) == (at, head, CONFIRMATIONS)


def test_address_page_shows_balances_locks_escrows_and_transfers(world: World, page: Page) -> None:
    at = world.as_of
    msc, staking = world.platform.msc.functions, world.platform.staking.functions
    page.goto(f"{world.url}/explorer/address/{world.merchant}")
    assert exact(page, "#msc-balance") == msc.balanceOf(world.merchant).call(block_identifier=at)
    assert exact(page, "#staked-principal") == staking.totalPrincipal().call(block_identifier=at)
    assert column(page, "locks", "amount") == [staking.totalPrincipal().call(block_identifier=at)]
    shown = {
        pid: (status, amount, held, released)
        for pid, status, amount, held, released in zip(
            texts(page, "payments", "payment_id"),
            page.locator('table[data-table="payments"] td[data-key="status"]').all_inner_texts(),
            column(page, "payments", "amount"),
            column(page, "payments", "held"),
            column(page, "payments", "released"),
            strict=True,
        )
    }
    escrow = world.platform.escrow.functions
    released = escrow.getPayment(world.payment_id).call(block_identifier=at)
    assert (released[0], released[5]) == (world.merchant, 3)  # Released: ``amount`` is what was released
    assert shown[world.payment_id] == ("released", released[1], 0, released[1])
    settled_id = "0x" + escrow_payment_id(world.settled_payment).hex()
    held = escrow.getPayment(settled_id).call(block_identifier=at)
    assert (held[0], held[5]) == (world.merchant, 1)  # Held: ``amount`` is still in escrow
    assert shown[settled_id] == ("held", held[1], held[1], 0)
    # Every MSC transfer of the merchant, from its logs at the confirmed block.
    logs = world.platform.msc.events.Transfer().get_logs(from_block=0, to_block=at)
    mine = [e for e in logs if world.merchant in (e.args["from"], e.args["to"])]
    assert page.locator("#transfers h2 small").inner_text() == f"({len(mine)})"
    assert sorted(column(page, "transfers", "value")) == sorted(e.args["value"] for e in mine)


def test_carbon_buyer_address_shows_holdings_and_retirements(world: World, page: Page) -> None:
    at = world.as_of
    carbon = world.platform.carbon.functions
    page.goto(f"{world.url}/explorer/address/{world.buyer}")
    held = carbon.balanceOf(world.buyer, world.token_id).call(block_identifier=at)
    assert exact(page, "#carbon-held") == held
    assert column(page, "holdings", "balance") == [held]
    assert column(page, "retirements", "tonnes") == [RETIRED]
    assert "Warung Pecel Bu Sri" in page.locator('table[data-table="retirements"]').inner_text()


def test_token_page_lists_holders_with_their_balances_and_the_supply_history(
    world: World, page: Page
) -> None:
    at = world.as_of
    msc = world.platform.msc.functions
    page.goto(f"{world.url}/explorer/token?holders_size=200")
    assert exact(page, "#token-supply") == msc.totalSupply().call(block_identifier=at)
    holders = texts(page, "holders", "account")
    balances = column(page, "holders", "balance")
    assert len(holders) == int(page.locator("#token-holders").inner_text()) >= 5
    for holder, balance in zip(holders, balances, strict=True):
        assert balance == msc.balanceOf(Web3.to_checksum_address(holder)).call(block_identifier=at), holder
    assert balances == sorted(balances, reverse=True)
    assert sum(balances) == msc.totalSupply().call(block_identifier=at)
    supply = column(page, "supply", "supply")
    assert supply[0] == msc.totalSupply().call(block_identifier=at)  # newest first


def test_carbon_pages_show_the_vintage_and_the_certificate(world: World, page: Page) -> None:
    at = world.as_of
    carbon = world.platform.carbon.functions
    vintage = carbon.vintage(world.token_id).call(block_identifier=at)
    page.goto(world.url + "/explorer/carbon")
    assert column(page, "vintages", "issued") == [vintage[4]]
    assert column(page, "vintages", "retired") == [vintage[5]]
    assert "SRN-PPI-MGV-0042" in page.locator('table[data-table="projects"]').inner_text()
    page.locator(f'table[data-table="vintages"] a[href="/explorer/carbon/vintage/{world.token_id}"]').click()
    assert page.locator("#documents-cid").inner_text() == world.documents_cid == vintage[8]
    assert page.locator("#metadata-cid").inner_text() == f"ipfs://{vintage[9]}"
    # Documents by CID: served from the store, the bytes hashing to what the chain recorded.
    report = world.get(page.locator("#documents-cid").get_attribute("href") or "")
    assert report.status_code == 200 and b"Verification report" in report.content
    assert hashlib.sha256(report.content).digest() == vintage[7]
    assert cid_for_bytes(report.content) == vintage[8]
    metadata = world.get(f"/explorer/documents/{vintage[9]}")
    assert metadata.headers["content-type"] == "application/json"
    assert cid_for_bytes(metadata.content) == vintage[9] and metadata.json()
    assert world.get("/explorer/documents/bafkreinotpublished").status_code == 404
    assert world.get("/explorer/documents/bafk%00x").status_code == 422
    assert exact(page, "#vintage-verified") == vintage[3]
    assert exact(page, "#vintage-outstanding") == vintage[4] - vintage[5] - vintage[6]
    holders = dict(zip(texts(page, "holdings", "holder"), column(page, "holdings", "balance"), strict=True))
    for holder, tonnes in holders.items():
        assert tonnes == carbon.balanceOf(Web3.to_checksum_address(holder), world.token_id).call(
            block_identifier=at
        )
    page.locator('table[data-table="retirements"] td[data-key="certificate"] a').first.click()
    certificate = carbon.certificate(world.certificate_id).call(block_identifier=at)
    assert page.locator("#certificate-id").inner_text() == f"#{world.certificate_id}"
    assert exact(page, "#certificate-tonnes") == certificate[1] == RETIRED
    assert page.locator("#certificate-beneficiary").inner_text() == "Warung Pecel Bu Sri"


def test_blocks_and_transaction_pages(world: World, page: Page) -> None:
    page.goto(world.url + "/explorer/blocks")
    first = page.locator('table[data-table="blocks"] td[data-key="block"] a').first
    assert int(first.inner_text()) == world.as_of  # the newest block shown is the as-of block
    page.goto(f"{world.url}/explorer/tx/{world.mint_tx}")
    receipt = world.w3.eth.get_transaction_receipt(world.mint_tx)
    assert page.locator("#tx-hash").inner_text() == world.mint_tx
    assert page.locator('td[data-key="block"]').first.inner_text() == str(receipt["blockNumber"])
    events = page.locator('table[data-table="events"] td[data-key="event"]').all_inner_texts()
    assert "Transfer" in events and "Mint" in events
    page.locator('td[data-key="block"] a').first.click()
    assert page.locator("#block-number").inner_text() == str(receipt["blockNumber"])
    assert world.mint_tx in page.content()


# ---------------------------------------------------------------------- search


def _search(page: Page, text: str) -> None:
    """Types ``text`` in the search box and submits it, waiting for the page it leads to."""
    page.fill("#search-q", text)
    with page.expect_navigation():
        page.press("#search-q", "Enter")


def test_search_finds_an_address_a_tx_a_block_a_payment_and_a_certificate(world: World, page: Page) -> None:
    at = world.as_of
    page.goto(world.url + "/explorer")

    _search(page, world.supplier)
    assert page.url.endswith(f"/explorer/address/{world.supplier.lower()}")
    assert exact(page, "#msc-balance") == world.platform.msc.functions.balanceOf(world.supplier).call(
        block_identifier=at
    )

    _search(page, world.mint_tx)
    assert page.url.endswith(f"/explorer/tx/{world.mint_tx}")

    mint_block = world.w3.eth.get_transaction_receipt(world.mint_tx)["blockNumber"]
    _search(page, str(mint_block))
    if "/explorer/search" in page.url:  # a certificate with the same number exists too: both offered
        with page.expect_navigation():
            page.locator('a.result[data-kind="block"]').click()
    assert page.locator("#block-number").inner_text() == str(mint_block)

    for text in (world.payment_id, world.payment_id.upper().replace("0X", "0x"), PI_PAYMENT):
        _search(page, text)
        assert page.url.endswith(f"/explorer/payment/{world.payment_id}"), text
        assert page.locator("#payment-id").inner_text() == world.payment_id
        assert page.locator("#payment-status").inner_text() == "released"

    # A settlement payment: found by its Pi payment id and by its UUID, shown with its Pi side.
    settled_id = "0x" + escrow_payment_id(world.settled_payment).hex()
    for text in (SETTLED_PI_PAYMENT, str(world.settled_payment), settled_id):
        _search(page, text)
        assert page.url.endswith(f"/explorer/payment/{settled_id}"), text
        assert page.locator("#payment-status").inner_text() == "held"
        assert page.locator("#pi-payment-id").inner_text() == SETTLED_PI_PAYMENT

    for text in (f"#{world.certificate_id}", f"cert {world.certificate_id}"):
        _search(page, text)
        assert page.url.endswith(f"/explorer/certificate/{world.certificate_id}"), text

    _search(page, "no-such-thing")
    assert "Nothing matches" in page.locator("#error-message").inner_text()


# ---------------------------------------------------------------------- paging, sorting, exports


def test_tables_page_and_sort_on_the_server(world: World, page: Page) -> None:
    trader = world.trader
    logs = world.platform.msc.events.Transfer().get_logs(from_block=0, to_block=world.as_of)
    mine = [e for e in logs if trader in (e.args["from"], e.args["to"])]
    assert len(mine) == 15
    page.goto(f"{world.url}/explorer/address/{trader}?transfers_size=4")
    first = column(page, "transfers", "value")
    assert len(first) == 4  # the server sent one page, not the whole table
    page.locator("#transfers a.next").click()
    assert "transfers_page=2" in page.url
    second = column(page, "transfers", "value")
    assert len(second) == 4 and second != first
    # Sort by amount: the server orders the whole table, then pages it.
    page.locator('#transfers th[data-key="value"] a.sort').click()
    assert "transfers_sort=value" in page.url and "transfers_page" not in page.url
    expected = sorted((e.args["value"] for e in mine), reverse=True)
    assert column(page, "transfers", "value") == expected[:4]
    page.locator("#transfers a.next").click()
    assert column(page, "transfers", "value") == expected[4:8]
    page.locator('#transfers th[data-key="value"] a.sort').click()  # second click: ascending
    assert column(page, "transfers", "value") == sorted(e.args["value"] for e in mine)[:4]
    # Another table on the same page keeps its own state.
    assert page.locator("#locks").count() == 1


def test_transactions_table_pages_through_everything(world: World, page: Page) -> None:
    page.goto(world.url + "/explorer/txs")
    seen: list[str] = []
    for _ in range(50):
        seen += texts(page, "transactions", "tx")
        following = page.locator("#transactions a.next")
        if following.count() == 0:
            break
        following.click()
    total = int(page.locator("#transactions h2 small").inner_text().strip("()"))
    assert len(seen) == len(set(seen)) == total
    assert world.mint_tx in seen and world.tail_tx not in seen


def test_csv_export_downloads_every_row_with_exact_integers(world: World, page: Page) -> None:
    at = world.as_of
    page.goto(f"{world.url}/explorer/address/{world.trader}?transfers_size=3")
    with page.expect_download() as info:
        page.locator('#transfers a.export[data-format="csv"]').click()
    download = info.value
    assert download.suggested_filename == f"msc-transfers-block-{at}.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
    logs = world.platform.msc.events.Transfer().get_logs(from_block=0, to_block=at)
    mine = [e for e in logs if world.trader in (e.args["from"], e.args["to"])]
    assert len(rows) == len(mine) > 3  # every page, not only the one shown
    exported = sorted((int(r["block"]), r["tx"], int(r["value"])) for r in rows)
    assert exported == sorted((e.blockNumber, e.transactionHash.to_0x_hex(), e.args["value"]) for e in mine)


def test_json_export_carries_exact_integers(world: World, page: Page) -> None:
    at = world.as_of
    msc = world.platform.msc.functions
    page.goto(world.url + "/explorer/token")
    with page.expect_download() as info:
        page.locator('#holders a.export[data-format="json"]').click()
    document = json.loads(Path(info.value.path()).read_text())
    assert document["as_of_block"] == at and document["table"] == "holders"
    assert len(document["rows"]) == document["total"]
    for row in document["rows"]:
        assert isinstance(row["balance"], int)
        assert row["balance"] == msc.balanceOf(Web3.to_checksum_address(row["account"])).call(
            block_identifier=at
        )
    assert sum(r["balance"] for r in document["rows"]) == msc.totalSupply().call(block_identifier=at)


def test_anomaly_list_shows_confirmed_flags_and_the_reconciliation(world: World, page: Page) -> None:
    page.goto(world.url + "/explorer/anomalies")
    flags = page.locator('table[data-table="anomalies"] td[data-key="flag"]').all_inner_texts()
    assert flags == ["wash_trade:aa", "dormancy:bb"]  # by score, the unconfirmed transaction's flag held back
    assert (
        world.transfer_tx
        in page.locator('table[data-table="anomalies"] td[data-key="txs"]').first.inner_html()
    )
    page.locator('a.status-filter[data-status="dismissed"]').click()
    assert page.locator('table[data-table="anomalies"] td[data-key="flag"]').all_inner_texts() == [
        "dormancy:bb"
    ]
    # The latest reconciliation at or below the as-of block: the later (passing) run is not confirmed.
    assert page.locator("#reconciliation-verdict").inner_text() == "1 of 2 checks fail"
    with page.expect_download() as info:
        page.locator('#reconciliation a.export[data-format="json"]').click()
    rows = json.loads(Path(info.value.path()).read_text())["rows"]
    figures = {r["check"]: (r["ok"], r["expected"], r["actual"]) for r in rows}
    assert figures == {
        "supply_vs_reserves": (True, RECONCILED, RECONCILED),
        "escrow_held": (False, 2_000_000, 1),
    }
    page.goto(world.url + "/explorer")
    assert page.locator("#reconciliation p").inner_text() == "1 failing"


# ---------------------------------------------------------------------- phone, errors


WIDER_THAN_SCREEN = """() => [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5
                 && !e.closest('.scroll'))
    .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))"""


def test_phone_viewport_has_no_horizontal_scroll(world: World, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 667}, is_mobile=True, has_touch=True)
    try:
        phone = context.new_page()
        for path in ("/explorer", "/explorer/carbon", f"/explorer/address/{world.merchant}"):
            phone.goto(world.url + path)
            widths = phone.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            assert widths[0] <= widths[1] == 375, (path, widths, phone.evaluate(WIDER_THAN_SCREEN))
            # Tapping an amount shows its exact integer (there is no hover on a phone).
            amount = phone.locator(".cards .amt").first
            exact_value = amount.get_attribute("data-exact")
            amount.tap()
            assert amount.inner_text().startswith(str(exact_value))
    finally:
        context.close()


def test_bad_input_gets_a_clear_error_and_changes_nothing(world: World, page: Page) -> None:
    response = page.goto(world.url + "/explorer/address/0x1234")
    assert response is not None and response.status == 422
    assert "not an address" in page.locator("#error-message").inner_text()
    response = page.goto(world.url + "/explorer/txs?transactions_sort=nonsense")
    assert response is not None and response.status == 422
    assert "transactions_sort must be one of" in page.locator("#error-message").inner_text()
    answer = world.get("/explorer/export/transfers.csv", sort="value", dir="sideways")
    assert answer.status_code == 422 and answer.json()["error"] == "validation_error"
    assert world.get("/explorer/export/nothing.csv").status_code == 404
    assert world.get("/explorer/certificate/999").status_code == 404
    assert world.get("/explorer/certificate/-1").status_code == 422
    assert world.get("/explorer/api/tables/holders", page="10000000000").status_code == 422
    # Control characters never reach the database (PostgreSQL text cannot hold NUL).
    refused = world.get("/explorer/search", q="pi\x00payment")
    assert refused.status_code == 422 and "control characters" in refused.text


# ---------------------------------------------------------------------- PostgreSQL


EXPORTS: tuple[tuple[str, dict[str, str]], ...] = (
    ("blocks", {}),
    ("transactions", {}),
    ("holders", {}),
    ("supply", {}),
    ("attestations", {}),
    ("projects", {}),
    ("vintages", {}),
    ("retirements", {}),
    ("anomalies", {}),
    ("reconciliation", {}),
)


def test_postgresql_mirror_reads_the_same_as_sqlite(world: World, pg_schema_factory: Any) -> None:
    """The same chain indexed into PostgreSQL: every figure and export equals the SQLite mirror's.

    PostgreSQL is where the explorer's SQL differs (JSON ``->>``, NUMERIC casts, a REPEATABLE READ
    snapshot per request), so the whole read API is compared document for document.
    """
    pg_url = pg_schema_factory()
    _index(pg_url, world.node_url, world.deployment_file)
    _record_payout(pg_url)
    _record_audit(pg_url, world.w3, world.transfer_tx, world.tail_tx, world.as_of)
    served = Served(pg_url, world.deployment_file.parent)
    try:
        per_address = [
            (name, {"address": account})
            for account in (world.merchant.lower(), world.trader.lower(), world.buyer.lower())
            for name in ("transfers", "locks", "payments", "holdings", "retirements")
        ]
        per_tx = [("events", {"tx": world.mint_tx}), ("holdings", {"token_id": str(world.token_id)})]
        sorts = [("transfers", {"address": world.trader.lower(), "sort": "value", "dir": "asc"})]
        for name, params in [*EXPORTS, *per_address, *per_tx, *sorts]:
            expected = requests.get(f"{world.url}/explorer/export/{name}.json", params=params, timeout=30)
            actual = requests.get(f"{served.url}/explorer/export/{name}.json", params=params, timeout=30)
            assert expected.status_code == actual.status_code == 200, (name, actual.text[:300])
            assert actual.json() == expected.json(), name
        overview = requests.get(f"{served.url}/explorer/api/overview", timeout=30).json()
        assert overview == world.get("/explorer/api/overview").json()
        assert overview["msc_supply"] == world.platform.msc.functions.totalSupply().call(
            block_identifier=world.as_of
        )
    finally:
        served.stop()


# Installed before the page's own scripts: collects the CSP violations the browser reports.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', e => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


def test_every_page_kind_renders_under_the_strict_csp(world: World, browser: Browser) -> None:
    """Each page kind loads with the security headers, no CSP violation, no console error, and shows
    its tables (and the overview its chart): the policy has no 'unsafe-inline' and the pages need none."""
    pages = [
        "/explorer",
        "/explorer/blocks",
        "/explorer/txs",
        f"/explorer/block/{world.as_of}",
        f"/explorer/tx/{world.mint_tx}",
        f"/explorer/address/{world.merchant}",
        f"/explorer/address/{world.buyer}",
        "/explorer/token",
        "/explorer/carbon",
        f"/explorer/carbon/vintage/{world.token_id}",
        f"/explorer/certificate/{world.certificate_id}",
        f"/explorer/payment/{world.payment_id}",
        "/explorer/anomalies",
        "/explorer/search?q=nothing-matches-this",
        "/explorer/tx/0x" + "ab" * 32,  # the error page
    ]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(CSP_LISTENER)
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("console", lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"{page.url}: {e}"))
        for path in pages:
            response = page.goto(world.url + path)
            assert response is not None
            headers = response.all_headers()
            csp = headers["content-security-policy"]
            assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp, path
            assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
            page.wait_for_load_state("load")
            assert page.evaluate("window.__cspViolations") == [], path
            if response.status == 200:
                assert page.locator("main table, main svg, main dl.facts").count() > 0, path
        page.goto(world.url + "/explorer")
        assert page.locator("#supply-chart path, #supply-chart polyline, #supply-chart rect").count() > 0
        # Sorting a table (explorer.js) still works under the policy.
        page.goto(world.url + "/explorer/txs")
        assert page.locator("table[data-table] tbody tr").count() > 0
        assert page.evaluate("window.__cspViolations") == []
    finally:
        context.close()
    document = world.get(f"/explorer/documents/{world.documents_cid}")
    assert document.status_code == 200
    assert document.headers["content-security-policy"] == DOCUMENT_CSP  # stricter than the pages' policy
    assert "sandbox" in DOCUMENT_CSP and "default-src 'none'" in DOCUMENT_CSP
    assert document.headers["x-frame-options"] == "DENY"
    # A missing transaction answers 404, which the browser logs as a failed resource load; nothing else.
    assert [e for e in errors if "404" not in e] == []


# ---------------------------------------------------------------------- languages


def _lang(page: Page) -> str:
    return str(page.evaluate("document.documentElement.lang"))


def test_pages_are_indonesian_by_default_and_switch_to_english_and_back(
    world: World, browser: Browser
) -> None:
    """A visitor with no choice reads Bahasa Indonesia; the header's switch turns the page English,
    the choice follows them to other pages (cookie) until they switch back; amounts keep their
    exact integers in ``title`` in both languages. The browser asks for Javanese (``jv-ID``, as many
    in Madiun might): no catalogue, so the default, Bahasa Indonesia (Chromium's own default,
    ``en-US``, would be honoured as a preference for English)."""
    at = world.as_of
    msc, escrow = world.platform.msc.functions, world.platform.escrow.functions
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="jv-ID")
    try:
        page = context.new_page()
        page.goto(world.url + "/explorer")
        assert _lang(page) == "id" and page.locator("#lang-current").inner_text() == "Bahasa Indonesia"
        assert page.locator("main h1").inner_text() == "Buku besar Madiun Stable Coin"
        assert page.locator("#msc-supply h3").inner_text() == "Pasokan MSC"
        supply = msc.totalSupply().call(block_identifier=at)
        amount = page.locator("#msc-supply .amt")
        assert amount.get_attribute("title") == f"{supply} sen" and amount.inner_text() == format_idr(supply)
        assert page.locator("header nav a", has_text="Transaksi").count() == 1

        page.goto(f"{world.url}/explorer/payment/{world.payment_id}")
        assert page.locator("main h1").inner_text() == "Pembayaran escrow"
        status = page.locator("#payment-status .status")
        assert status.inner_text() == "dilepas" and status.get_attribute("data-status") == "released"
        released = escrow.getPayment(world.payment_id).call(block_identifier=at)[1]
        assert page.locator("#payment-amount .amt").get_attribute("title") == f"{released} sen"
        assert exact(page, "#payment-released") == released and exact(page, "#payment-held") == 0

        with page.expect_navigation():
            page.locator("#lang-en").click()
        assert page.url.endswith(f"/explorer/payment/{world.payment_id}?lang=en") and _lang(page) == "en"
        assert page.locator("main h1").inner_text() == "Escrow payment"
        assert page.locator("#payment-status").inner_text() == "released"
        assert page.locator("#payment-amount .amt").get_attribute("title") == f"{released} sen"

        page.goto(f"{world.url}/explorer/tx/{world.mint_tx}")  # no ?lang: remembered
        assert _lang(page) == "en" and page.locator("main h1").inner_text() == "Transaction"
        assert page.locator('table[data-table="events"] th[data-key="event"]').inner_text() == "Event"
        with page.expect_navigation():
            page.locator("#lang-id").click()
        assert _lang(page) == "id" and page.locator("main h1").inner_text() == "Transaksi"
        assert page.locator('table[data-table="events"] th[data-key="event"]').inner_text() == "Kejadian"
        assert "Mint" in page.locator('table[data-table="events"] td[data-key="event"]').all_inner_texts()

        page.goto(world.url + "/explorer/blocks")  # remembered: Indonesian again
        assert _lang(page) == "id" and page.locator("main h1").inner_text() == "Blok"
        first = page.locator('table[data-table="blocks"] tbody tr').first
        block = int(first.locator('td[data-key="block"]').inner_text())
        moment = first.locator('td[data-key="time"] time')
        seconds = world.w3.eth.get_block(block)["timestamp"]
        assert moment.get_attribute("title") == str(seconds)  # the exact Unix seconds on hover
        assert moment.inner_text().endswith(" UTC") and "." in moment.inner_text()  # 13.36.55
    finally:
        context.close()


def test_at_360_px_nothing_overflows_in_either_language(world: World, browser: Browser) -> None:
    """The longer Indonesian words and the English ones both fit a small phone's 360 px."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    paths = (
        "/explorer",
        f"/explorer/tx/{world.mint_tx}",
        f"/explorer/payment/{world.payment_id}",
        f"/explorer/address/{world.merchant}",
        "/explorer/anomalies",
        "/explorer/blocks",
    )
    try:
        phone = context.new_page()
        for language in ("id", "en"):
            for path in paths:
                phone.goto(f"{world.url}{path}?lang={language}")
                assert _lang(phone) == language, path
                width = phone.evaluate("document.documentElement.scrollWidth")
                assert width <= 360, (language, path, width, phone.evaluate(WIDER_THAN_SCREEN))
    finally:
        context.close()
