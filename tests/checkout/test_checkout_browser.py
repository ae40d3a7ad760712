"""A customer pays through the checkout in Debian's headless Chromium (Playwright, never downloaded).

The whole stack is real: a local Pi peer (its Pi SDK stand-in and wallet sign and submit real
Stellar transactions), a private anvil with the platform deployed, the API app served by uvicorn
with the in-process settlement runner (approval, verification on Horizon, completion on Pi, the
mint into escrow), and a migrated SQLite database. Each test checks what the customer sees and
what the books, the Pi peer and the chain say.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page, Route
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker
from stellar_sdk import Keypair
from web3 import Web3

from api.app import create_app
from api.merchants import service as merchants
from api.merchants.schemas import MerchantCreate
from api.settings import ApiSettings
from chain.localnode import AnvilNode
from chain.settings import ChainSettings
from checkout.settings import CheckoutSettings
from common.serving import BackgroundServer
from common.sql.engine import create_engine_from_url, make_sessionmaker
from common.sql.helpers import utcnow
from common.sql.migrate import upgrade
from indexer.cli import build_pipeline
from indexer.settings import IndexerSettings
from pi_peer.control import PeerControl
from pi_peer.server import PeerServer
from pi_peer.state import PeerConfig
from settlement.ledger.repository import entry_imbalances
from settlement.minting.ids import escrow_payment_id
from settlement.payments.models import Payment
from settlement.pi.horizon import PI_TESTNET_PASSPHRASE
from settlement.quotes.models import Quote
from settlement.quotes.service import QuoteSettings
from settlement.requests import service as requests_service
from settlement.workers.assembly import base_context, with_components
from settlement.workers.inprocess import InProcessRunner
from settlement.workers.settings import WorkerSettings
from tests.settlement.minting.support import BUILD, Chain, deploy
from tests.settlement.workers.support import dev_key
from tests.support.browser import debian_chromium
from webui.i18n import pi

ANVIL_PORT = 8733
PI = 10**7
PEER_API_KEY = "checkout-browser-server-key"
HELD = 1  # MerchantEscrow's status of a payment held in escrow


@dataclass
class World:
    """The served checkout and what stands behind it."""

    url: str
    db_url: str
    node_url: str
    sessions: sessionmaker[Session]
    chain: Chain
    peer: PeerServer
    control: PeerControl

    def merchant(self, name: str = "Pecel Bu Sri", kelurahan: str = "Taman") -> uuid.UUID:
        """A new merchant paid at a dev account's address."""
        data = MerchantCreate(
            name=name,
            kelurahan=kelurahan,
            evm_address=Web3.to_checksum_address("0x" + uuid.uuid4().hex + uuid.uuid4().hex[:8]),
            pi_username=f"pi_{uuid.uuid4().hex[:12]}",
        )
        with self.sessions.begin() as session:
            merchant, _key = merchants.create(session, data)
            return merchant.id

    def index(self) -> None:
        """Mirrors the chain into the database once, as the indexer does (the explorer reads it)."""
        settings = IndexerSettings(
            database_url=self.db_url,
            rpc_url=self.node_url,
            deployment_file=self.chain.deployment_file,
            build_dir=BUILD,
        )
        pipeline = build_pipeline(settings)
        try:
            pipeline.run(follow=False)
        finally:
            pipeline.engine.dispose()

    def payments_of(self, merchant_id: uuid.UUID) -> list[Payment]:
        with self.sessions() as session:
            return list(session.scalars(select(Payment).where(Payment.merchant_id == str(merchant_id))))


def _wait(what: str, predicate: Callable[[], bool], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Anvil with the platform, a Pi peer, the database, the runner and the served app."""
    folder = tmp_path_factory.mktemp("checkout")
    db_url = f"sqlite:///{folder / 'checkout.sqlite3'}"
    upgrade(db_url)
    engine = create_engine_from_url(db_url)
    sessions = make_sessionmaker(engine)
    app_wallet = Keypair.random()
    with (
        AnvilNode(port=ANVIL_PORT) as node,
        PeerServer(
            PeerConfig(api_key=PEER_API_KEY, app_secret=app_wallet.secret, app_balance=10 * PI)
        ) as peer,
    ):
        w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 60}))
        chain = deploy(w3, folder)
        env = {
            "MSC_PI_API_KEY": PEER_API_KEY,
            "MSC_PI_PLATFORM_URL": peer.platform_url,
            "MSC_PI_HORIZON_URL": peer.url,
            "MSC_PI_NETWORK_PASSPHRASE": PI_TESTNET_PASSPHRASE,
            "MSC_PI_APP_ADDRESS": app_wallet.public_key,
            "MSC_RPC_URL": node.url,
            "MSC_NETWORK": chain.deployment_file.stem,
            "MSC_DEPLOYMENTS_DIR": str(chain.deployment_file.parent),
            "MSC_BUILD_DIR": str(BUILD),
            "MSC_SIGNER_KEY": dev_key(1),  # the deployment's escrow depositor and MSC minter
            "MSC_WORKER_ESCROW_HOLD_SECONDS": "3600",
            "MSC_WORKER_SWEEP_SECONDS": "1",
            "MSC_WORKER_STALE_SECONDS": "2",
            "MSC_WORKER_BACKOFF_SECONDS": "0.2",
        }
        settings = WorkerSettings.from_env(env)
        context = with_components(base_context(sessions, settings), env)
        # The Pi reconciler also recovers a payment whose completion callback was lost (tested in
        # tests/settlement/flow and the worker tests); it is left out here so that the checkout's
        # own path, the incomplete payment settled at the customer's next sign-in, is what runs.
        context.reconciler = None
        runner = InProcessRunner(context, settings.retry_policy(), 2)
        runner.start_sweeping(1.0)
        saved = {key: os.environ.get(key) for key in env}
        os.environ.update(env)  # the checkout builds its Pi app from MSC_PI_* like a deployment
        app = create_app(
            ApiSettings.from_env({}, database_url=db_url),
            chain_settings=ChainSettings.from_env(
                {}, rpc_url=node.url, build_dir=BUILD, deployments_dir=chain.deployment_file.parent
            ),
            quote_settings=QuoteSettings.from_env({}, ttl_seconds=300, fee_bps=100, network_fee_minor=100),
            task_queue=runner,
        )
        app.state.checkout_settings = CheckoutSettings.from_env(
            {}, sdk_url=peer.url + "sdk/pi-sdk.js", poll_ms=500
        )
        served = BackgroundServer(app, name="checkout").start()
        control = PeerControl(peer.url)
        try:
            yield World(served.url, db_url, node.url, sessions, chain, peer, control)
        finally:
            control.close()
            served.stop()
            runner.close()
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless (never downloaded)."""
    with debian_chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A phone-sized page (360 px wide) of a new visitor (own cookies and localStorage)."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="id-ID")
    errors: list[str] = []
    p = context.new_page()
    p.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    try:
        yield p
    finally:
        context.close()
    assert errors == [], errors


def _no_horizontal_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def _on_one_line(page: Page, selector: str) -> bool:
    """Whether the element's text renders on one line (a figure never breaks inside a number)."""
    script = (
        "el => { const r = document.createRange(); r.selectNodeContents(el);"
        " return r.getClientRects().length; }"
    )
    return bool(page.eval_on_selector(selector, script) == 1)


def _to_quote(world: World, page: Page, merchant: uuid.UUID, amount: str = "12.000") -> None:
    page.goto(f"{world.url}/pay/{merchant}")
    page.fill("#amount", amount)
    page.click("#continue")
    page.wait_for_selector("#pi-amount")
    for figure in ("#idr-amount", "#pi-amount", "#fee", "#rate"):
        assert _on_one_line(page, figure), f"{figure} wraps at 360 px"


def test_customer_pays_a_merchants_link_and_gets_the_receipt_with_the_msc_in_escrow(
    world: World, page: Page
) -> None:
    merchant = world.merchant()
    page.goto(f"{world.url}/pay/{merchant}")
    assert page.text_content("#merchant-name") == "Pecel Bu Sri"
    assert page.text_content("#merchant-place") == "Kelurahan Taman"
    assert page.text_content("#continue") == "Lihat harga dalam Pi"
    _no_horizontal_scroll(page)
    page.fill("#amount", "12.000")
    page.click("#continue")
    page.wait_for_selector("#pi-amount")
    assert page.text_content("#idr-amount") == "Rp 12.000"
    assert page.text_content("#pi-amount").endswith(" Pi")
    page.wait_for_function("document.getElementById('countdown').textContent.includes('detik')")
    _no_horizontal_scroll(page)
    page.click("#pay")
    page.click("#pi-wallet-pay")
    page.wait_for_url("**/pay/receipt/**", timeout=60_000)
    page.wait_for_selector("#escrow:has-text('escrow')", timeout=90_000)
    (payment,) = world.payments_of(merchant)
    assert payment.status == "completed" and payment.idr_amount == 1_200_000
    assert page.text_content("#r-payment") == str(payment.id)
    assert page.text_content("#r-txid") == payment.txid
    assert page.text_content("#r-idr") == "Rp 12.000"
    assert page.text_content("#r-pi") == pi(payment.pi_amount) and page.text_content("#r-fee") == pi(
        payment.fee_pi
    )
    assert page.text_content("#r-time").endswith(" UTC")
    explorer = page.get_attribute("#explorer-link", "href")
    assert explorer == f"/explorer/payment/0x{escrow_payment_id(payment.id).hex()}"
    record = world.chain.platform.escrow.functions.getPayment(escrow_payment_id(payment.id)).call()
    assert (record[5], record[1]) == (HELD, payment.idr_amount)
    with world.sessions() as session:
        assert entry_imbalances(session) == []
    _no_horizontal_scroll(page)
    page.emulate_media(media="print")  # the printed receipt: no buttons, no header, the explorer address
    assert not page.is_visible("#print") and not page.is_visible("header")
    assert page.is_visible("#r-txid") and page.is_visible("#receipt-link")
    page.emulate_media(media="screen")
    world.index()  # the receipt shows the deposit held on the public ledger, and links the explorer
    page.reload()
    assert page.text_content("#ledger-status").startswith("Ditahan di escrow")
    assert page.text_content("#ledger-held") == "Rp 12.000"
    page.click("#explorer-link")
    # The explorer speaks the customer's language (Indonesian here) and keeps the stored status.
    assert page.text_content("#payment-status") == "ditahan"
    assert page.get_attribute("#payment-status .status", "data-status") == "held"
    assert page.text_content("#settlement-payment") == str(payment.id)
    # The hold ends (the local chain is fast-forwarded): the workers release it, and the receipt
    # says so once the ledger mirror has the release.
    receipt = f"{world.url}/pay/receipt/{payment.id}"
    world.chain.w3.provider.make_request("evm_increaseTime", [3_700])  # type: ignore[arg-type]
    world.chain.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]

    def released() -> bool:
        world.index()
        page.goto(receipt)
        return (page.text_content("#ledger-status") or "").startswith("Dicairkan ke pedagang")

    _wait("the release on the public ledger", released, timeout=120.0)
    assert (
        page.text_content("#ledger-released") == "Rp 12.000" and page.text_content("#ledger-held") == "Rp 0"
    )


def test_a_tampered_amount_is_refused_and_nothing_is_recorded(world: World, page: Page) -> None:
    merchant = world.merchant()
    _to_quote(world, page, merchant)
    page.evaluate("document.getElementById('checkout').dataset.amount = '0.0000001'")
    page.click("#pay")
    page.wait_for_selector("#status.failed", timeout=60_000)
    assert "tidak sesuai" in page.text_content("#status")
    assert world.payments_of(merchant) == []


def test_cancel_in_the_wallet_leaves_nothing_half_made(world: World, page: Page) -> None:
    merchant = world.merchant()
    _to_quote(world, page, merchant)
    page.click("#pay")
    page.click("#pi-wallet-cancel")
    page.wait_for_selector("#status.failed", timeout=60_000)
    assert "membatalkan" in page.text_content("#status")
    _wait("the payment to expire", lambda: all(p.status == "expired" for p in world.payments_of(merchant)))


def test_an_approval_refused_after_the_customer_cancelled_does_not_replace_the_cancel_message(
    world: World, page: Page
) -> None:
    """The race a loaded machine showed: the approval's answer arrives after the customer closed
    the wallet (the cancel expired the payment, so the approval is refused); the page keeps
    telling the customer they cancelled, not that the payment was refused."""
    merchant = world.merchant()
    _to_quote(world, page, merchant)
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)

    page.route("**/pay/api/approve", hold)
    page.click("#pay")
    page.click("#pi-wallet-cancel")
    page.wait_for_selector("#status.failed", timeout=60_000)
    assert "membatalkan" in page.text_content("#status")
    _wait("the approval call to be held", lambda: len(held) == 1)
    with page.expect_response("**/pay/api/approve"):
        held[0].fulfill(
            status=409,
            json={"error": "checkout_payment_refused", "message": "Pembayaran tidak dapat diterima."},
        )
    page.wait_for_timeout(300)  # the page's handlers of that answer have run
    assert "membatalkan" in page.text_content("#status")


def test_pi_unreachable_is_a_clear_message_and_changes_nothing(world: World, page: Page) -> None:
    merchant = world.merchant()
    _to_quote(world, page, merchant)
    world.control.arm_fault("platform", count=1, status=503)  # the sign-in check (GET /v2/me) fails
    page.click("#pay")
    page.wait_for_selector("#status.failed", timeout=60_000)
    assert "tidak dapat dihubungi" in page.text_content("#status")
    assert world.payments_of(merchant) == []


def test_a_payment_request_is_paid_once_and_refused_the_second_time(world: World, page: Page) -> None:
    merchant = world.merchant(name="Batik Madiun", kelurahan="Kejuron")
    with world.sessions.begin() as session:
        request = requests_service.create(
            session,
            merchant_id=merchant,
            amount=4_500_000,
            reference="Kain #7",
            reusable=False,
            expires_at=None,
        )
    page.goto(f"{world.url}/pay/r/{request.id}?lang=en")
    assert page.text_content("#idr-amount") == "Rp 45.000"
    assert page.text_content("#continue") == "See the price in Pi"
    page.click("#continue")
    page.wait_for_selector("#pi-amount")
    quote_url = page.url
    page.click("#pay")
    page.click("#pi-wallet-pay")
    page.wait_for_url("**/pay/receipt/**", timeout=60_000)
    page.wait_for_selector("#escrow:has-text('escrow')", timeout=90_000)
    assert page.text_content("h1") == "Proof of payment"  # in English, as chosen
    assert page.text_content("#r-reference") == "Kain #7" and page.text_content("#r-idr") == "Rp 45.000"
    page.goto(f"{world.url}/pay/r/{request.id}")
    assert "already been paid" in page.text_content("#request-status")
    assert page.query_selector("#continue") is None
    page.goto(quote_url)  # a reload of the paid quote page goes to its receipt, never pays again
    assert "/pay/receipt/" in page.url
    with world.sessions() as session:
        count = session.scalar(
            select(func.count()).select_from(Payment).where(Payment.merchant_id == str(merchant))
        )
    assert count == 1


def test_an_incomplete_payment_from_an_earlier_visit_is_settled_at_sign_in(world: World, page: Page) -> None:
    merchant = world.merchant()
    _to_quote(world, page, merchant)
    page.route("**/pay/api/complete", lambda route: route.abort())  # the page closes before completion
    page.click("#pay")
    page.click("#pi-wallet-pay")
    page.wait_for_selector("#status.failed", timeout=60_000)
    page.unroute("**/pay/api/complete")
    (payment,) = world.payments_of(merchant)
    assert payment.txid is None  # our server never heard of the transaction
    page.goto(f"{world.url}/pay/receipt/{payment.id}")
    page.click("#resume")  # signs in again: Pi reports the payment, the server settles it
    page.wait_for_selector("#escrow:has-text('escrow')", timeout=90_000)
    (settled,) = world.payments_of(merchant)
    assert settled.status == "completed" and settled.txid is not None


def test_an_expired_price_is_replaced_on_the_page_never_charged(world: World, page: Page) -> None:
    merchant = world.merchant()
    _to_quote(world, page, merchant)
    first = page.url
    quote_id = uuid.UUID(first.rsplit("/", 1)[1])
    with world.sessions.begin() as session:
        session.execute(
            update(Quote).where(Quote.id == quote_id).values(expires_at=utcnow() + timedelta(seconds=2))
        )
    page.reload()
    page.wait_for_url(lambda url: "/pay/q/" in url and url != first, timeout=30_000)
    page.wait_for_selector("#pay")
    assert page.text_content("#idr-amount") == "Rp 12.000"
    with world.sessions() as session:
        renewed = session.get(Quote, uuid.UUID(page.url.rsplit("/", 1)[1]))
        assert renewed is not None and renewed.expires_at > utcnow() + timedelta(seconds=200)
    assert world.payments_of(merchant) == []


def test_a_reload_in_the_middle_is_recovered_and_the_customer_pays_again(world: World, page: Page) -> None:
    merchant = world.merchant()
    _to_quote(world, page, merchant)
    page.click("#pay")
    page.wait_for_selector("#pi-wallet-pay")
    _wait(
        "the approval",
        lambda: [p.status for p in world.payments_of(merchant)] == ["pending_user_transfer_start"],
    )
    page.reload()  # the quote is taken: the page goes on to its payment
    assert "/pay/receipt/" in page.url
    page.click("#resume")  # Pi reports the unpaid payment at sign-in: cancelled, so it blocks nothing
    page.wait_for_selector("#start-again", timeout=30_000)
    assert [p.status for p in world.payments_of(merchant)] == ["expired"]
    page.click("#start-again")
    page.fill("#amount", "12.000")
    page.click("#continue")
    page.click("#pay")
    page.click("#pi-wallet-pay")
    page.wait_for_url("**/pay/receipt/**", timeout=60_000)
    page.wait_for_selector("#escrow:has-text('escrow')", timeout=90_000)
    assert sorted(p.status for p in world.payments_of(merchant)) == ["completed", "expired"]


def test_horizon_unreachable_for_a_while_is_retried_and_credited_once(world: World, page: Page) -> None:
    merchant = world.merchant()
    _to_quote(world, page, merchant)
    page.click("#pay")
    page.wait_for_selector("#pi-wallet-pay")
    world.control.arm_fault("horizon_read", count=6, status=504)
    page.click("#pi-wallet-pay")
    page.wait_for_url("**/pay/receipt/**", timeout=60_000)
    page.wait_for_selector("#escrow:has-text('escrow')", timeout=120_000)
    (payment,) = world.payments_of(merchant)
    assert payment.status == "completed"
    assert world.control.fired_faults().get("horizon_read", 0) >= 1
    with world.sessions() as session:
        assert entry_imbalances(session) == []


def test_a_merchant_suspended_while_the_customer_looks_at_the_price_is_not_paid(
    world: World, page: Page
) -> None:
    merchant = world.merchant()
    _to_quote(world, page, merchant)
    with world.sessions.begin() as session:
        merchants.suspend(session, merchant, "fraud report", uuid.uuid4())
    page.click("#pay")
    page.wait_for_selector("#status.failed", timeout=60_000)
    assert "tidak dapat menerima pembayaran" in page.text_content("#status")
    assert world.payments_of(merchant) == []
    page.goto(f"{world.url}/pay/{merchant}")
    assert "tidak dapat menerima pembayaran" in page.text_content("#error")
    page.goto(f"{world.url}/pay/{merchant}?lang=en")
    assert "This merchant cannot take payments right now" in page.text_content("#error")
