"""Fixtures and factories of the Pi flow tests: a local Pi peer, a migrated database, the services.

The peer and the database are module-scoped (starting them is the slow part); tests isolate
themselves with a fresh Pioneer (Pi allows one ongoing payment per user), a fresh merchant and
their own payment ids. The clock is the real time (the peer's ledger closes transactions at the
real time, and the deadline checks compare the two), advanced by tests that need a deadline past.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from stellar_sdk import Asset, Keypair, Server, TransactionBuilder
from stellar_sdk.exceptions import BadRequestError

from pi_peer.control import PeerControl, PeerUserInfo
from pi_peer.server import PeerServer
from pi_peer.state import PeerConfig
from settlement.flow.binding import payment_metadata
from settlement.flow.pi_flow import PiPaymentFlow
from settlement.flow.reconciler import PiReconciler
from settlement.flow.refunds import PiRefundService
from settlement.flow.settings import FlowSettings
from settlement.ledger import chart
from settlement.ledger.models import JournalEntry
from settlement.ledger.service import balance_of
from settlement.payments.models import Payment, PaymentStatusChange
from settlement.payments.service import PaymentService
from settlement.pi.horizon import PI_TESTNET_PASSPHRASE, PiHorizon
from settlement.pi.platform_client import PiPlatformClient
from settlement.quotes.models import Quote
from settlement.quotes.rates import FixedRateSource
from settlement.quotes.service import QuoteService, QuoteSettings
from tests.settlement.ledger.support import BACKENDS, Clock, Db, _open

API_KEY = "flow-test-server-key"
PI = 10_000_000


@dataclass
class Peer:
    """A running peer, its app wallet and the Pioneer-side control client."""

    server: PeerServer
    app: Keypair
    control: PeerControl

    @property
    def horizon_sdk(self) -> Server:
        """stellar-sdk's own Server on the peer (plays the customers' wallets)."""
        return Server(self.server.url)


@pytest.fixture(scope="module")
def peer() -> Iterator[Peer]:
    """One local Pi peer per test module, with 10,000 Pi in the app wallet."""
    app = Keypair.random()
    config = PeerConfig(api_key=API_KEY, app_secret=app.secret, app_balance=10_000 * PI)
    with PeerServer(config) as server:
        control = PeerControl(server.url)
        yield Peer(server, app, control)
        control.close()


@pytest.fixture(scope="module", params=BACKENDS)
def flow_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Db]:
    """A migrated database of this module alone (SQLite, then PostgreSQL)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('flow') / 'flow.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_schema_factory")()
    database = _open(str(request.param), url)
    yield database
    database.engine.dispose()


@dataclass
class Env:
    """Everything a flow test drives."""

    db: Db
    peer: Peer
    clock: Clock
    quotes: QuoteService
    payments: PaymentService
    platform: PiPlatformClient
    horizon: PiHorizon
    flow: PiPaymentFlow
    refunds: PiRefundService
    reconciler: PiReconciler

    @property
    def control(self) -> PeerControl:
        """The Pioneer side of the peer."""
        return self.peer.control

    def close(self) -> None:
        """Close the HTTP clients."""
        self.platform.close()
        self.horizon.close()


def make_env(
    db: Db, peer: Peer, *, horizon_factory: Callable[..., PiHorizon] = PiHorizon, **settings: int
) -> Env:
    """Services wired to ``db`` and ``peer`` with a real-time settable clock."""
    clock = Clock(datetime.now(UTC))
    quote_settings = QuoteSettings.from_env({}, ttl_seconds=300, fee_bps=100, network_fee_minor=100)
    quotes = QuoteService(FixedRateSource(Decimal("15000")), quote_settings, clock=clock)
    payments = PaymentService(quotes, clock=clock)
    platform = PiPlatformClient(API_KEY, peer.server.platform_url, sleep=lambda _s: None)
    horizon = horizon_factory(peer.server.url, PI_TESTNET_PASSPHRASE, resubmit_interval=0.05)
    flow_settings = FlowSettings.from_env({}, **settings)
    flow = PiPaymentFlow(db.sessions, payments, platform, horizon, peer.app.public_key, flow_settings)
    refunds = PiRefundService(db.sessions, payments, platform, horizon, peer.app, flow_settings)
    reconciler = PiReconciler(db.sessions, flow, refunds)
    return Env(db, peer, clock, quotes, payments, platform, horizon, flow, refunds, reconciler)


@pytest.fixture
def env(flow_db: Db, peer: Peer) -> Iterator[Env]:
    """The services of one test."""
    built = make_env(flow_db, peer)
    yield built
    built.close()


@dataclass
class Order:
    """A customer's payment as the tests see it: our record, its quote, the Pioneer."""

    payment: Payment
    quote: Quote
    user: PeerUserInfo

    @property
    def pi_id(self) -> str:
        """The Pi platform's payment identifier (also the memo)."""
        return self.payment.pi_payment_id


def new_order(env: Env, *, sell_amount: int = 10 * PI, balance: int = 100 * PI) -> Order:
    """A Pioneer with ``balance``, a firm quote and a user-to-app payment recorded at it (``incomplete``)."""
    user = env.control.create_user(balance)
    with env.db.sessions() as session, session.begin():
        quote = env.quotes.create(session, sell_asset="PI", buy_asset="IDR", sell_amount=sell_amount)
    merchant_id = f"m-{uuid.uuid4().hex[:10]}"
    pi_id = env.control.create_u2a_payment(
        user.uid, Decimal(quote.sell_amount).scaleb(-7), "Pecel", payment_metadata(merchant_id, quote.id)
    )
    with env.db.sessions() as session, session.begin():
        payment = env.payments.create(
            session, pi_payment_id=pi_id, merchant_id=merchant_id, quote_id=quote.id
        )
    return Order(payment, quote, user)


def pay_custom(
    peer: Peer,
    signer_seed: str,
    payments: list[tuple[str, int]],
    memo: str,
    *,
    source: str | None = None,
) -> str:
    """The customer's wallet signs and submits a transaction of native ``payments`` (to, amount)
    with text ``memo``; returns its hash, also when the network includes it as failed."""
    signer = Keypair.from_secret(signer_seed)
    sdk = peer.horizon_sdk
    account = sdk.load_account(source or signer.public_key)
    builder = TransactionBuilder(account, network_passphrase=PI_TESTNET_PASSPHRASE, base_fee=100)
    for destination, amount in payments:
        whole, frac = divmod(amount, PI)
        builder.append_payment_op(destination=destination, asset=Asset.native(), amount=f"{whole}.{frac:07d}")
    envelope = builder.add_text_memo(memo).set_timeout(120).build()
    envelope.sign(signer)
    with contextlib.suppress(BadRequestError):  # tx_failed: included, fee charged, ops not applied
        sdk.submit_transaction(envelope)
    return envelope.hash_hex()


def credits_of(session: Session, payment_id: uuid.UUID) -> list[JournalEntry]:
    """Journal entries posted for the payment."""
    return list(session.scalars(select(JournalEntry).where(JournalEntry.reference == str(payment_id))))


def moves_of(session: Session, payment_id: uuid.UUID) -> list[tuple[str, str]]:
    """The payment's status history as (from, to) pairs."""
    rows = session.scalars(
        select(PaymentStatusChange)
        .where(PaymentStatusChange.payment_id == payment_id)
        .order_by(PaymentStatusChange.id)
    )
    return [(r.from_status, r.to_status) for r in rows]


def owed_to_merchant(session: Session, merchant_id: str) -> int:
    """Sen the ledger owes the merchant for converted payments."""
    return balance_of(session, chart.idr_owed_to_merchant(merchant_id))
