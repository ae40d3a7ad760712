"""The portal's test harness: an API app on both backends, merchants with signed-in owners and
cashiers, form CSRF tokens, TOTP codes and a phone-sized Chromium page.

Clients talk to ``https://testserver``: the session cookie is ``__Host-`` and Secure, and a
client (like a browser) sends a Secure cookie only over HTTPS. The services' clock is real time
plus an offset a test can move (:class:`ShiftedClock`), so TOTP steps and throttling windows can
pass without waiting.
"""

from __future__ import annotations

import base64
import os
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pyotp
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from playwright.sync_api import Browser, ConsoleMessage, Page

from accounts.models import Role
from accounts.service import AccountService
from api.app import create_app
from api.settings import ApiSettings
from chain.settings import ChainSettings
from common.serving import BackgroundServer
from common.sql.engine import create_engine_from_url, make_sessionmaker
from common.sql.helpers import utcnow
from common.sql.migrate import upgrade
from portal.services import PortalServices
from settlement.payments.models import PaymentStatus
from settlement.payments.models import PaymentStatus as S
from settlement.payments.service import PaymentService
from settlement.quotes.service import QuoteService, QuoteSettings
from tests.api.support import BUILD_DIR, Db, Harness, MakeApi
from tests.support.browser import debian_chromium
from tests.support.factories import add_merchant

PASSWORD = "kopi-tubruk-2026!"
BASE_URL = "https://testserver"
FAST_ACCOUNTS = {
    "MSC_ACCOUNTS_ARGON2_TIME_COST": "1",
    "MSC_ACCOUNTS_ARGON2_MEMORY_KIB": "64",
    "MSC_ACCOUNTS_ARGON2_PARALLELISM": "1",
}
"""Cheap argon2 parameters (the production ones cost 64 MiB a hash)."""
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def master_key() -> str:
    """A random custody master key (base64 of 32 bytes)."""
    return base64.b64encode(os.urandom(32)).decode()


class ShiftedClock:
    """Real UTC time plus an offset tests move forward."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, seconds: float) -> None:
        """Moves time forward."""
        self.offset += timedelta(seconds=seconds)


@dataclass(frozen=True)
class Person:
    """A merchant user with a role for one merchant."""

    user_id: uuid.UUID
    email: str
    password: str = field(repr=False)
    merchant_id: uuid.UUID
    role: Role


def csrf_of(page: Response | str) -> str:
    """The CSRF token of the first form of a page (its hidden ``csrf`` field)."""
    html = page if isinstance(page, str) else page.text
    match = _CSRF.search(html)
    assert match is not None, "the page has no form with a CSRF token"
    return match.group(1)


def new_email() -> str:
    """A unique e-mail."""
    return f"user-{uuid.uuid4().hex[:10]}@example.id"


@dataclass
class Portal:
    """An app under test with the portal, on one database backend."""

    harness: Harness
    clock: ShiftedClock

    @property
    def app(self) -> FastAPI:
        """The ASGI app."""
        app = self.harness.client.app
        assert isinstance(app, FastAPI)
        return app

    @property
    def db(self) -> Db:
        """The database."""
        return self.harness.db

    @property
    def services(self) -> PortalServices:
        """``app.state.portal``."""
        services: PortalServices = self.app.state.portal
        return services

    @property
    def accounts(self) -> AccountService:
        """The app's account service (same clock, same database)."""
        return self.services.accounts

    def client(self, address: str | None = None) -> TestClient:
        """A new browser-like client (its own cookies) over HTTPS, not following redirects, from
        its own client address (``address``, else a fresh one: tests never share a throttle)."""
        return TestClient(
            self.app,
            base_url=BASE_URL,
            raise_server_exceptions=False,
            follow_redirects=False,
            client=(
                address or f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}",
                50000,
            ),
        )

    def add_merchant(self, name: str = "Warung Bu Sri", kelurahan: str = "Kartoharjo") -> uuid.UUID:
        """A new merchant row."""
        return add_merchant(self.db.sessions, name=name, kelurahan=kelurahan)

    def onboard_owner(self, merchant_id: uuid.UUID) -> Person:
        """The operator invites the merchant's owner, who accepts (sets a password)."""
        email = new_email()
        invitation = self.accounts.invite_owner(merchant_id, email, operator="ops@bank")
        user_id = self.accounts.accept_invitation(invitation.token, PASSWORD, "Bu Sri")
        return Person(user_id, email, PASSWORD, merchant_id, Role.OWNER)

    def add_cashier(self, owner: Person) -> Person:
        """The owner invites a cashier, who accepts."""
        signed = self.accounts.sign_in(owner.email, owner.password, "harness")
        email = new_email()
        invitation = self.accounts.invite_cashier(signed.token, owner.merchant_id, email)
        self.accounts.sign_out(signed.token)
        user_id = self.accounts.accept_invitation(invitation.token, PASSWORD, "Mas Budi")
        return Person(user_id, email, PASSWORD, owner.merchant_id, Role.CASHIER)

    def sign_in(self, person: Person, client: TestClient | None = None, code: str = "") -> TestClient:
        """``person`` signed in through the sign-in form (a new client unless given)."""
        client = client or self.client()
        form = client.get("/portal/login")
        assert form.status_code == 200, form.text
        answer = client.post(
            "/portal/login",
            data={
                "email": person.email,
                "password": person.password,
                "code": code,
                "csrf": csrf_of(form),
                "next": f"/portal/m/{person.merchant_id}",
            },
        )
        assert answer.status_code == 303, answer.text
        return client

    def owner(self, merchant_id: uuid.UUID | None = None) -> Person:
        """An owner of ``merchant_id`` (a new merchant if None)."""
        return self.onboard_owner(merchant_id or self.add_merchant())

    def owner_client(self, merchant_id: uuid.UUID) -> TestClient:
        """A client signed in as a new owner of ``merchant_id``."""
        return self.sign_in(self.onboard_owner(merchant_id))

    def cashier_client(self, merchant_id: uuid.UUID) -> TestClient:
        """A client signed in as a new cashier of ``merchant_id`` (invited by a new owner)."""
        return self.sign_in(self.add_cashier(self.onboard_owner(merchant_id)))

    def csrf(self, client: TestClient, path: str) -> str:
        """The CSRF token of the form on the page at ``path``."""
        page = client.get(path)
        assert page.status_code == 200, page.text
        return csrf_of(page)

    def enrol_totp(self, client: TestClient) -> tuple[pyotp.TOTP, list[str]]:
        """Turns TOTP on for the client's user through the security page; its generator and
        recovery codes. The clock then moves one step on, so :meth:`code` gives an unused code."""
        begun = client.post(
            "/portal/me/security/totp", data={"csrf": self.csrf(client, "/portal/me/security")}
        )
        assert begun.status_code == 200, begun.text
        secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', begun.text)
        assert secret is not None, "the enrolment page shows the key"
        totp = pyotp.TOTP(secret.group(1))
        confirmed = client.post(
            "/portal/me/security/totp/confirm", data={"csrf": csrf_of(begun), "code": totp.at(self.clock())}
        )
        assert confirmed.status_code == 200, confirmed.text
        codes = re.findall(
            r"<li>([^<]+)</li>", confirmed.text.split('id="recovery-codes"')[1].split("</ol>")[0]
        )
        assert codes, "the recovery codes are shown once"
        return totp, codes

    def pay(
        self, merchant_id: uuid.UUID, rupiah: int, *, until: PaymentStatus = PaymentStatus.COMPLETED
    ) -> uuid.UUID:
        """A customer's payment of ``rupiah`` to the merchant, moved through the app's
        ``PaymentService`` as the settlement does (quote, Pi approval, txid, Pi completion, mint)
        up to ``until``; each move commits on its own, as the workers' steps do."""
        state = self.app.state
        quotes: QuoteService = state.quotes
        payments: PaymentService = state.payments
        with self.db.sessions.begin() as session:
            quote = quotes.create(session, sell_asset="PI", buy_asset="IDR", buy_amount=rupiah * 100)
            payment_id = payments.create(
                session,
                pi_payment_id=f"pi-{uuid.uuid4().hex}",
                merchant_id=str(merchant_id),
                quote_id=quote.id,
            ).id
        steps: list[tuple[PaymentStatus, PaymentStatus, str]] = [
            (S.INCOMPLETE, S.PENDING_USER_TRANSFER_START, "approved on Pi"),
            (S.PENDING_USER_TRANSFER_START, S.PENDING_ANCHOR, "txid"),
            (S.PENDING_ANCHOR, S.PENDING_STELLAR, "verified on Horizon and completed on Pi"),
            (S.PENDING_STELLAR, S.COMPLETED, "minted into escrow"),
        ]
        for before, after, reason in steps:
            with self.db.sessions.begin() as session:
                if after == S.PENDING_ANCHOR:
                    payments.record_txid(session, payment_id, uuid.uuid4().hex + uuid.uuid4().hex)
                else:
                    payments.transition(session, payment_id, before, after, reason)
            if after == until:
                break
        return payment_id

    def code(self, totp: pyotp.TOTP) -> str:
        """A TOTP code not used yet: the clock moves to the next 30-second step first."""
        self.clock.advance(30)
        return str(totp.at(self.clock()))


MakePortal = Callable[..., Portal]


@pytest.fixture
def make_portal(make_api: MakeApi, monkeypatch: pytest.MonkeyPatch) -> MakePortal:
    """``make_portal(**api_settings)``: an app with the portal, a custody master key and cheap hashing."""

    def make(**overrides: object) -> Portal:
        for name, value in FAST_ACCOUNTS.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("MSC_CUSTODY_MASTER_KEY", master_key())
        harness = make_api(**overrides)
        clock = ShiftedClock()
        services: PortalServices = harness.client.app.state.portal  # type: ignore[attr-defined]
        services.clock = clock  # before the account service is built (on first use)
        return Portal(harness, clock)

    return make


@pytest.fixture
def portal(make_portal: MakePortal) -> Portal:
    """An app with the portal on SQLite and on PostgreSQL."""
    return make_portal()


# ------------------------------------------------------------------------------ Chromium


@dataclass
class Served:
    """A portal app served by uvicorn on 127.0.0.1 (a free port), with its harness."""

    url: str
    portal: Portal


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The API with the portal on a migrated SQLite file, served over HTTP for Chromium.

    Chromium keeps ``Secure`` (and ``__Host-``) cookies of ``http://127.0.0.1``: a loopback
    origin is potentially trustworthy, so the portal needs no insecure-cookie mode to be tested.
    """
    folder = tmp_path_factory.mktemp("portal")
    url = f"sqlite:///{folder / 'portal.sqlite3'}"
    upgrade(url)
    engine = create_engine_from_url(url)
    db = Db("sqlite", url, engine, make_sessionmaker(engine))
    env = {**FAST_ACCOUNTS, "MSC_CUSTODY_MASTER_KEY": master_key()}
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        app = create_app(
            ApiSettings.from_env({}, database_url=url),
            chain_settings=ChainSettings.from_env(
                {}, rpc_url="http://127.0.0.1:9", build_dir=BUILD_DIR, deployments_dir=folder / "deployments"
            ),
            quote_settings=QuoteSettings.from_env({}, ttl_seconds=300, fee_bps=100, network_fee_minor=100),
        )
        clock = ShiftedClock()
        app.state.portal.clock = clock
        server = BackgroundServer(app, name="portal").start()
        client = TestClient(app, base_url=BASE_URL, raise_server_exceptions=False, follow_redirects=False)
        try:
            yield Served(server.url, Portal(Harness(client, db, folder / "deployments"), clock))
        finally:
            server.stop()
    finally:
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


@dataclass
class PageProblems:
    """Console errors and CSP violations a page reported."""

    messages: list[str] = field(default_factory=list)

    def record(self, message: ConsoleMessage) -> None:
        """Keeps errors and anything about the Content Security Policy."""
        if message.type == "error" or "Content Security Policy" in message.text:
            self.messages.append(f"{message.type}: {message.text}")


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """A 360x740 page of a new visitor (own cookies), Indonesian browser; at the end, asserts the
    page logged no console error and no CSP violation."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="id-ID")
    problems = PageProblems()
    page = context.new_page()
    page.on("console", problems.record)
    page.on("pageerror", lambda error: problems.messages.append(f"pageerror: {error}"))
    page.on(
        "response", lambda r: problems.messages.append(f"{r.status} {r.url}") if r.status >= 400 else None
    )
    try:
        yield page
    finally:
        context.close()
    assert problems.messages == [], problems.messages


def no_horizontal_scroll(page: Page, width: int = 360) -> None:
    """The page fits the phone's width."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width
