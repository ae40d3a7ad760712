"""The outbox: enqueued with the bookkeeping, delivered once per chain event across crashes and races."""

from __future__ import annotations

import inspect
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy.orm import Session

from carbon.registry import IdempotencyKeyReusedError
from carbon.registry.http import HttpRegistryAdapter, RetryPolicy
from carbon.registry.models import OutboxStatus, RegistryOutboxRow
from carbon.registry.outbox import ClaimedRow, OutboxDispatcher, enqueue_bridge_back, enqueue_retirement
from carbon.registry.server import RegistryServer
from carbon.registry.settings import RegistrySettings
from common.sql.engine import create_engine_from_url
from common.sql.migrate import upgrade
from tests.carbon.registry.support import ACCOUNT, API_TOKEN, minted, tx

REPO_ROOT = Path(__file__).resolve().parents[3]
outbox = RegistryOutboxRow.__table__

# The event's own bookkeeping, standing in for the indexer's retirement table.
bookkeeping = MetaData()
retirements_booked = Table(
    "test_retirements_booked", bookkeeping, Column("id", Integer, primary_key=True), Column("tx", String(66))
)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A fresh migrated database (SQLite file, or a throwaway PostgreSQL schema)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'outbox.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_schema_factory")()
    upgrade(url)  # the outbox table comes from its Alembic migration, as in production
    created = create_engine_from_url(url)
    bookkeeping.create_all(created)
    created.dispose()  # the subprocess test hands the URL on; start from a clean pool
    yield created
    created.dispose()


@pytest.fixture
def token(adapter: HttpRegistryAdapter) -> int:
    """A token id with 40 live units on the registry."""
    return minted(adapter)


def book_retirements(engine: Engine, token_id: int, count: int, start: int = 1) -> None:
    """Books ``count`` retirements of 1 tonne and enqueues their reports, one transaction each."""
    for n in range(start, start + count):
        with Session(engine) as session, session.begin():
            session.execute(insert(retirements_booked).values(tx=tx(100 + n)))
            enqueue_retirement(
                session,
                token_id=token_id,
                tonnes=1,
                beneficiary_name=f"Beneficiary {n}",
                reason="offset",
                certificate_id=f"CERT-{n}",
                tx_hash=tx(100 + n),
                idempotency_key=f"retirement:{tx(100 + n)}:0",
            )


def rows(engine: Engine) -> list[tuple[str, str, int]]:
    """(key, status, attempts) of every outbox row, in order."""
    query = select(outbox.c.idempotency_key, outbox.c.status, outbox.c.attempts).order_by(outbox.c.id)
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(query)]  # type: ignore[misc]


def sent_keys(server: RegistryServer) -> list[str]:
    """Idempotency keys of the retirement/bridge-back POSTs the registry answered, in order."""
    return [
        record.idempotency_key
        for record in server.requests
        if record.method == "POST"
        and record.path in ("/v1/retirements", "/v1/bridge-backs")
        and record.idempotency_key is not None
    ]


def test_enqueue_commitsAndRollsBackWithTheBookkeeping(engine: Engine, token: int) -> None:
    book_retirements(engine, token, 1)
    with pytest.raises(RuntimeError), Session(engine) as session, session.begin():
        session.execute(insert(retirements_booked).values(tx=tx(999)))
        enqueue_bridge_back(
            session,
            token_id=token,
            tonnes=2,
            registry_account=ACCOUNT,
            request_id="BB-1",
            idempotency_key="bb:1",
        )
        raise RuntimeError("bookkeeping failed after the enqueue")
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(retirements_booked)).scalar() == 1
    assert [key for key, _, _ in rows(engine)] == [f"retirement:{tx(101)}:0"]


def test_enqueue_sameEventTwice_isOneRow_otherPayloadRefused(engine: Engine, token: int) -> None:
    with Session(engine) as session, session.begin():
        assert enqueue_bridge_back(
            session,
            token_id=token,
            tonnes=2,
            registry_account=ACCOUNT,
            request_id="BB-1",
            idempotency_key="bb:1",
        )
        assert not enqueue_bridge_back(
            session,
            token_id=token,
            tonnes=2,
            registry_account=ACCOUNT,
            request_id="BB-1",
            idempotency_key="bb:1",
        )
    with pytest.raises(IdempotencyKeyReusedError), Session(engine) as session, session.begin():
        enqueue_bridge_back(
            session,
            token_id=token,
            tonnes=3,
            registry_account=ACCOUNT,
            request_id="BB-1",
            idempotency_key="bb:1",
        )
    assert rows(engine) == [("bb:1", "pending", 0)]


def test_dispatch_sendsEachRowOnce_andRecordsTheAnswer(
    engine: Engine, server: RegistryServer, adapter: HttpRegistryAdapter, token: int
) -> None:
    book_retirements(engine, token, 3)
    with Session(engine) as session, session.begin():
        enqueue_bridge_back(
            session,
            token_id=token,
            tonnes=5,
            registry_account=ACCOUNT,
            request_id="BB-1",
            idempotency_key="bb:1",
        )
    dispatcher = OutboxDispatcher(engine, adapter)
    report = dispatcher.run_once()
    assert len(report.sent) == 4 and report.failed == report.deferred == []
    assert dispatcher.run_once().handled == 0
    assert [status for _, status, _ in rows(engine)] == ["sent"] * 4
    assert len(server.registry.retirements()) == 3
    assert adapter.bridge_back_status("BB-1").tonnes == 5
    with engine.connect() as connection:
        answer = connection.execute(
            select(outbox.c.result).where(outbox.c.idempotency_key == "bb:1")
        ).scalar_one()
    assert json.loads(answer)["status"] == "pending"


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so nothing on the way catches it."""


def test_crashBetweenSendAndMark_resendsSameKey_registryAppliesOnce(
    engine: Engine, server: RegistryServer, adapter: HttpRegistryAdapter, token: int
) -> None:
    book_retirements(engine, token, 2)

    def crash(row: ClaimedRow, _result: object) -> None:
        raise Crash(row.idempotency_key)

    with pytest.raises(Crash):
        OutboxDispatcher(engine, adapter, lease_seconds=30, on_sent=crash).run_once()
    first_key = f"retirement:{tx(101)}:0"
    assert rows(engine)[0] == (first_key, "sending", 1)
    assert OutboxDispatcher(engine, adapter).run_once().sent == [2]  # row 1 is leased: not due yet

    later = OutboxDispatcher(engine, adapter, clock=lambda: datetime.now(UTC) + timedelta(seconds=31))
    assert later.run_once().sent == [1]
    assert rows(engine)[0] == (first_key, "sent", 2)
    assert sent_keys(server).count(first_key) == 2
    assert len(server.registry.retirements()) == 2 and server.registry.replays == 1


DISPATCH_AND_DIE = """
import os, signal, sys
from carbon.registry.http import HttpRegistryAdapter
from carbon.registry.outbox import OutboxDispatcher
from common.sql.engine import create_engine_from_url

registry_url, token, database_url = sys.argv[1:4]
def die(row, result):
    os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, no except blocks, no atexit
adapter = HttpRegistryAdapter(registry_url, token)
OutboxDispatcher(create_engine_from_url(database_url), adapter, lease_seconds=5, on_sent=die).run_once()
"""


def test_dispatcherKilledMidway_resumes_andRegistryAppliesOnce(
    engine: Engine, server: RegistryServer, adapter: HttpRegistryAdapter, token: int
) -> None:
    book_retirements(engine, token, 3)
    killed = subprocess.run(
        [sys.executable, "-c", DISPATCH_AND_DIE, server.url, API_TOKEN, engine.url.render_as_string(False)],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        timeout=60,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]
    assert [status for _, status, _ in rows(engine)] == ["sending", "pending", "pending"]
    assert len(server.registry.retirements()) == 1  # the registry applied it; the mark never happened

    resumed = OutboxDispatcher(engine, adapter, clock=lambda: datetime.now(UTC) + timedelta(seconds=6))
    assert resumed.run_once().sent == [1, 2, 3]
    keys = sent_keys(server)
    assert keys.count(f"retirement:{tx(101)}:0") == 2
    assert keys.count(f"retirement:{tx(102)}:0") == keys.count(f"retirement:{tx(103)}:0") == 1
    assert len(server.registry.retirements()) == 3 and server.registry.replays == 1


def test_twoDispatchersConcurrently_eachRowSentOnce(
    engine: Engine, server: RegistryServer, adapter: HttpRegistryAdapter, token: int
) -> None:
    book_retirements(engine, token, 30)
    start = threading.Barrier(2)
    reports = []

    def dispatch(name: str) -> None:
        with HttpRegistryAdapter(server.url, API_TOKEN) as own:
            dispatcher = OutboxDispatcher(engine, own, worker_id=name)
            start.wait()
            reports.append(dispatcher.run_once())

    threads = [threading.Thread(target=dispatch, args=(f"worker-{n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    sent = sorted(row_id for report in reports for row_id in report.sent)
    assert sent == list(range(1, 31))  # every row claimed and sent by exactly one of them
    assert all(report.lost_claims == [] for report in reports)
    keys = sent_keys(server)
    assert len(keys) == len(set(keys)) == 30
    assert len(server.registry.retirements()) == 30 and server.registry.replays == 0


def test_registryDown_rowDeferredWithBackoff_thenSent(
    engine: Engine, server: RegistryServer, adapter: HttpRegistryAdapter, token: int
) -> None:
    book_retirements(engine, token, 1)
    server.faults.arm("status", 4, status=503)  # the adapter's 4 attempts all fail
    now = datetime.now(UTC)
    clock: Callable[[], datetime] = lambda: now  # noqa: E731
    dispatcher = OutboxDispatcher(engine, adapter, backoff_base_seconds=10, clock=clock)
    assert dispatcher.run_once().deferred == [1]
    with engine.connect() as connection:
        row = connection.execute(select(outbox).where(outbox.c.id == 1)).one()
    assert row.status == OutboxStatus.PENDING and "RegistryUnavailableError" in row.last_error
    assert row.next_attempt_at == now + timedelta(seconds=10)
    assert dispatcher.run_once().handled == 0  # not due yet
    clock = lambda: now + timedelta(seconds=11)  # noqa: E731
    assert OutboxDispatcher(engine, adapter, clock=clock).run_once().sent == [1]
    assert len(server.registry.retirements()) == 1


def test_registryRefusal_rowFailed_notRetried(
    engine: Engine, server: RegistryServer, adapter: HttpRegistryAdapter, token: int
) -> None:
    with Session(engine) as session, session.begin():
        enqueue_bridge_back(
            session,
            token_id=token,
            tonnes=5,
            registry_account="ACC-NOPE",
            request_id="BB-1",
            idempotency_key="bb:1",
        )
    dispatcher = OutboxDispatcher(engine, adapter, clock=lambda: datetime.now(UTC) + timedelta(days=1))
    assert dispatcher.run_once().failed == [1]
    assert dispatcher.run_once().handled == 0
    assert rows(engine) == [("bb:1", "failed", 1)]
    assert sent_keys(server) == ["bb:1"]


def test_defaultLease_outlastsDefaultAdapterRetries() -> None:
    # A lease shorter than one call with its retries lets a second dispatcher resend (harmless, wasteful).
    policy, settings = RetryPolicy(), RegistrySettings()
    worst = sum(min(policy.max_delay, policy.base_delay * 2**n) for n in range(policy.max_attempts - 1))
    lease = inspect.signature(OutboxDispatcher).parameters["lease_seconds"].default
    assert worst + policy.max_attempts * settings.timeout_seconds < lease
