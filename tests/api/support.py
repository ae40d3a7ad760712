"""Fixtures and factories of the API tests: a migrated database per backend, an app + client per test.

Each backend gets one migrated database per session (SQLite in a temp folder; PostgreSQL a fresh
schema of the ``test`` database, dropped at the end, as ``tests/indexer/conftest.py`` does).
Tests isolate themselves with fresh keys and merchants instead of rollbacks, because requests
commit through the app's own connections.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.auth import issue_key
from api.merchants import service as merchants
from api.merchants.schemas import MerchantCreate
from api.models import ApiKey, IdempotencyRecord, Merchant, QuoteOwner, Role
from api.settings import ApiSettings
from chain.settings import PROJECT_ROOT, ChainSettings
from common.sql.engine import create_engine_from_url, make_sessionmaker
from common.sql.migrate import upgrade
from settlement.quotes.models import Quote
from settlement.quotes.rates import RateSource
from settlement.quotes.service import QuoteSettings

BACKENDS = ("sqlite", "postgresql")
BUILD_DIR = PROJECT_ROOT / "build"
# Tables whose row counts prove that a refused request changed nothing.
COUNTED = (Merchant, ApiKey, Quote, QuoteOwner, IdempotencyRecord)


@dataclass
class Db:
    """A migrated database."""

    backend: str
    url: str
    engine: Engine
    sessions: sessionmaker[Session]

    def counts(self) -> dict[str, int]:
        """Row counts of the API's tables and quotes."""
        with self.sessions() as session:
            return {
                model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
                for model in COUNTED
            }


@pytest.fixture(scope="session", params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Db]:
    """A migrated database; every test using it runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('api') / 'api.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_schema_factory")()
    upgrade(url)
    engine = create_engine_from_url(url)
    yield Db(str(request.param), url, engine, make_sessionmaker(engine))
    engine.dispose()


@dataclass
class Harness:
    """An app under test: its client, database and the folder of its deployment file."""

    client: TestClient
    db: Db
    deployments_dir: Path


MakeApi = Callable[..., Harness]


@pytest.fixture
def make_api(db: Db, tmp_path: Path) -> Iterator[MakeApi]:
    """``make_api(**settings)`` starts an app on ``db`` (closed at the end of the test)."""
    stack: list[TestClient] = []

    def make(rate_source: RateSource | None = None, **overrides: object) -> Harness:
        deployments = tmp_path / f"deployments{len(stack)}"
        settings = ApiSettings.from_env({}, database_url=db.url, **overrides)
        # An unreachable RPC URL: the API must never need the node.
        chain = ChainSettings.from_env(
            {}, rpc_url="http://127.0.0.1:9", build_dir=BUILD_DIR, deployments_dir=deployments
        )
        quotes = QuoteSettings.from_env({}, ttl_seconds=300, fee_bps=100, network_fee_minor=100)
        app = create_app(settings, chain_settings=chain, quote_settings=quotes, rate_source=rate_source)
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        stack.append(client)
        return Harness(client, db, deployments)

    yield make
    for client in stack:
        client.__exit__(None, None, None)


@pytest.fixture
def api(make_api: MakeApi) -> Harness:
    """An app with default settings."""
    return make_api()


def bearer(secret: str) -> dict[str, str]:
    """The Authorization header of ``secret``."""
    return {"Authorization": f"Bearer {secret}"}


def staff_key(db: Db, role: Role) -> str:
    """A new operator or auditor key's secret."""
    with db.sessions.begin() as session:
        return issue_key(session, role).secret


def new_merchant(db: Db) -> tuple[uuid.UUID, str]:
    """A new merchant's id and its API key."""
    data = MerchantCreate(
        name="Warung Test",
        kelurahan="Taman",
        evm_address="0x" + uuid.uuid4().hex + uuid.uuid4().hex[:8],
        pi_username=f"pi_{uuid.uuid4().hex[:12]}",
    )
    with db.sessions.begin() as session:
        merchant, key = merchants.create(session, data)
        return merchant.id, key.secret
