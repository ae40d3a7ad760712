"""Shared fixtures and factories of the settlement tests (quotes, ledger, payments, payouts).

Each backend gets one migrated database per test session (SQLite in a temp folder; PostgreSQL a
fresh schema of the ``test`` database, dropped at the end, as ``tests/indexer/conftest.py`` does).
Tests isolate themselves by unique ids (merchants, keys, account codes) rather than by rollback,
because the race tests need committed rows seen from several connections.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from common.sql.engine import create_engine_from_url, make_sessionmaker
from common.sql.migrate import upgrade
from settlement.payments.models import Payment
from settlement.payments.service import PaymentService
from settlement.quotes.models import Quote
from settlement.quotes.rates import FixedRateSource
from settlement.quotes.service import QuoteService, QuoteSettings

BACKENDS = ("sqlite", "postgresql")


@dataclass
class Db:
    """A migrated database: its URL, engine and session factory."""

    backend: str
    url: str
    engine: Engine
    sessions: sessionmaker[Session]


class Clock:
    """A settable UTC clock for the services."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        """Moves time forward."""
        self.now += timedelta(seconds=seconds)


def _open(backend: str, url: str) -> Db:
    upgrade(url)
    engine = create_engine_from_url(url)
    return Db(backend, url, engine, make_sessionmaker(engine))


@pytest.fixture(scope="session", params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Db]:
    """A migrated database; every test using it runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('settlement') / 'settlement.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_schema_factory")()
    database = _open(str(request.param), url)
    yield database
    database.engine.dispose()


@pytest.fixture(scope="session")
def pg_db(pg_schema_factory: Callable[[], str]) -> Iterator[Db]:
    """A migrated PostgreSQL database, for the race tests."""
    database = _open("postgresql", pg_schema_factory())
    yield database
    database.engine.dispose()


@pytest.fixture
def clock() -> Clock:
    """A fresh settable clock."""
    return Clock()


def quote_service(clock: Clock, rate: str = "15000", fee_bps: int = 100, ttl: int = 300) -> QuoteService:
    """A quote service at a fixed rate."""
    settings = QuoteSettings.from_env({}, ttl_seconds=ttl, fee_bps=fee_bps, network_fee_minor=100)
    return QuoteService(FixedRateSource(Decimal(rate)), settings, clock=clock)


def unique(prefix: str) -> str:
    """A unique id for test isolation."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def make_quote(session: Session, clock: Clock, sell_amount: int = 10 * 10**7) -> Quote:
    """A firm quote for ``sell_amount`` Pi minor units (default 10 Pi)."""
    return quote_service(clock).create(session, sell_asset="PI", buy_asset="IDR", sell_amount=sell_amount)


def make_payment(session: Session, clock: Clock, merchant_id: str | None = None) -> Payment:
    """A new ``incomplete`` payment with its own quote."""
    quotes = quote_service(clock)
    quote = quotes.create(session, sell_asset="PI", buy_asset="IDR", sell_amount=10 * 10**7)
    return PaymentService(quotes, clock=clock).create(
        session, pi_payment_id=unique("pi"), merchant_id=merchant_id or unique("m"), quote_id=quote.id
    )
