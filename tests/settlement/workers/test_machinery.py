"""The worker machinery on its own: retry policy, step locks (PostgreSQL and SQLite), the in-process
runner with small tasks of this test, the sweep, and the queue's behaviour without a broker."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import update

from common.errors import ConflictError, ValidationError
from common.sql.engine import create_engine_from_url, make_sessionmaker
from common.sql.migrate import upgrade
from settlement.flow.pi_flow import PiPaymentFlow
from settlement.ledger.sql import utcnow
from settlement.payments.models import Payment, PaymentStatus
from settlement.payments.service import PaymentService
from settlement.pi.horizon import PI_TESTNET_PASSPHRASE, PiHorizon
from settlement.pi.platform_client import PiPlatformClient, PiPlatformUnavailableError
from settlement.quotes.rates import FixedRateSource
from settlement.quotes.service import QuoteService, QuoteSettings
from settlement.workers import steps
from settlement.workers.assembly import base_context, select_queue
from settlement.workers.celery_app import create_celery
from settlement.workers.context import WorkerContext
from settlement.workers.inprocess import InProcessRunner
from settlement.workers.locking import StepLocks
from settlement.workers.queue import CeleryQueue
from settlement.workers.retry import RetryPolicy, StepBusyError, is_transient
from settlement.workers.settings import WorkerSettings
from settlement.workers.steps import FollowUp, StepResult
from settlement.workers.tasks import TASKS
from settlement.workers.transport import Transport as HardenedRedisTransport
from tests.api.support import Db

NOTHING_LISTENS = "redis://127.0.0.1:8727/0"  # a port of this helper's range with no server


@pytest.fixture(scope="module", params=("sqlite", "postgresql"))
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Db]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('workers') / 'w.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_schema_factory")()
    upgrade(url)
    engine = create_engine_from_url(url)
    yield Db(str(request.param), url, engine, make_sessionmaker(engine))
    engine.dispose()


def test_retry_delays_grow_exponentially_with_full_jitter_and_a_cap() -> None:
    policy = RetryPolicy(max_retries=5, base_seconds=0.5, cap_seconds=4.0)
    rng = random.Random(7)
    for attempt in range(12):
        ceiling = min(4.0, 0.5 * 2**attempt)
        delays = [policy.delay(attempt, rng) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8  # jitter spreads over the whole range
    assert policy.should_retry(StepBusyError("payment", "x"), 4)
    assert not policy.should_retry(StepBusyError("payment", "x"), 5)  # retries exhausted


def test_transient_errors_are_retried_and_refusals_are_not() -> None:
    assert is_transient(PiPlatformUnavailableError("down", status=503))
    assert is_transient(StepBusyError("escrow", "mint"))
    assert is_transient(ConnectionError("reset"))
    assert not is_transient(ValidationError("bad amount"))
    assert not is_transient(ConflictError("already used"))


def test_a_step_lock_admits_one_holder_and_a_waiter_gets_it_after(db: Db) -> None:
    locks = StepLocks(db.engine, wait_seconds=0.3)
    key = str(uuid.uuid4())
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with locks.hold("payment", key):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    assert held.wait(10)
    started = time.monotonic()
    with pytest.raises(StepBusyError), locks.hold("payment", key):
        pass
    assert time.monotonic() - started >= 0.3
    with locks.hold("payment", str(uuid.uuid4())):  # another row is not blocked
        pass
    release.set()
    thread.join()
    with locks.hold("payment", key):
        pass


@pytest.fixture
def runner_of() -> Iterator[Callable[[dict[str, Callable[..., StepResult]]], InProcessRunner]]:
    made: list[InProcessRunner] = []

    def make(registry: dict[str, Callable[..., StepResult]]) -> InProcessRunner:
        context = WorkerContext(sessions=None, locks=None)  # type: ignore[arg-type]  # unused by these tasks
        runner = InProcessRunner(context, RetryPolicy(3, 0.01, 0.05), threads=2, registry=registry)
        made.append(runner)
        return runner

    yield make
    for runner in made:
        runner.close()


def test_the_runner_retries_transient_failures_gives_up_on_refusals_and_runs_follow_ups(
    runner_of: Callable[[dict[str, Callable[..., StepResult]]], InProcessRunner],
) -> None:
    calls: dict[str, int] = {}
    lock = threading.Lock()

    def count(name: str) -> int:
        with lock:
            calls[name] = calls.get(name, 0) + 1
            return calls[name]

    def flaky(_ctx: WorkerContext, key: str) -> StepResult:
        if count(f"flaky:{key}") < 3:
            raise StepBusyError("demo", key)
        return StepResult("done", (FollowUp("demo.after", (key,)),))

    def refuse(_ctx: WorkerContext) -> StepResult:
        count("refuse")
        raise ValidationError("never")

    def after(_ctx: WorkerContext, key: str) -> StepResult:
        count(f"after:{key}")
        return StepResult("after")

    def hopeless(_ctx: WorkerContext) -> StepResult:
        count("hopeless")
        raise ConnectionError("peer down")

    runner = runner_of(
        {"demo.flaky": flaky, "demo.refuse": refuse, "demo.after": after, "demo.hopeless": hopeless}
    )
    assert runner.enqueue("demo.flaky", "a")
    assert runner.enqueue("demo.refuse")
    assert runner.enqueue("demo.hopeless")
    with pytest.raises(KeyError):
        runner.enqueue("demo.unknown")
    assert runner.drain(10)
    assert calls == {"flaky:a": 3, "after:a": 1, "refuse": 1, "hopeless": 4}
    by_name = {o.name: o for o in runner.outcomes}
    assert by_name["demo.flaky"].attempts == 3 and by_name["demo.flaky"].error is None
    assert by_name["demo.refuse"].attempts == 1 and "never" in (by_name["demo.refuse"].error or "")
    assert by_name["demo.hopeless"].attempts == 4  # the first try and 3 retries
    runner.close()
    assert not runner.enqueue("demo.after", "b")  # closed: refused, not lost silently


def test_the_task_table_names_every_settlement_step() -> None:
    assert set(TASKS) == {
        "payments.approve",
        "payments.verify_and_complete",
        "payments.expire",
        "payments.mint",
        "escrow.release",
        "escrow.book_outcomes",
        "paybacks.run",
        "refunds.resume",
        "wallet_moves.finish",
        "payouts.process",
        "redemptions.finish",
        "payments.sweep",
        "pi.reconcile",
        "webhooks.deliver",
    }
    app = create_celery(WorkerSettings.from_env({}))
    assert set(TASKS) <= set(app.tasks)
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    assert app.conf.worker_prefetch_multiplier == 1
    redis_app = create_celery(WorkerSettings.from_env({}, broker_url=NOTHING_LISTENS))
    # The Redis transport that keeps a worker alive through a broker restart.
    assert isinstance(redis_app.connection_for_write().transport, HardenedRedisTransport)


def test_the_sweep_requeues_the_steps_of_stale_payments_only(db: Db, tmp_path: Path) -> None:
    quotes = QuoteService(FixedRateSource(Decimal(15000)), QuoteSettings.from_env({}, ttl_seconds=300))
    payments = PaymentService(quotes)
    made: dict[str, uuid.UUID] = {}
    with db.sessions.begin() as session:
        for name, moves in {
            "incomplete": [],
            "approved": [PaymentStatus.PENDING_USER_TRANSFER_START],
            "anchor": [PaymentStatus.PENDING_USER_TRANSFER_START, PaymentStatus.PENDING_ANCHOR],
            "fresh_anchor": [PaymentStatus.PENDING_USER_TRANSFER_START, PaymentStatus.PENDING_ANCHOR],
        }.items():
            quote = quotes.create(session, sell_asset="PI", buy_asset="IDR", sell_amount=10**8)
            payment = payments.create(
                session, pi_payment_id=f"sweep-{uuid.uuid4().hex}", merchant_id="m-sweep", quote_id=quote.id
            )
            status = PaymentStatus.INCOMPLETE
            for to in moves:
                values = {"txid": uuid.uuid4().hex * 2} if to == PaymentStatus.PENDING_ANCHOR else {}
                payments.transition(session, payment.id, status, to, "test", **values)
                status = to
            made[name] = payment.id
        stale = [made["incomplete"], made["approved"], made["anchor"]]
        session.execute(
            update(Payment).where(Payment.id.in_(stale)).values(updated_at=utcnow() - timedelta(minutes=5))
        )
    context = base_context(db.sessions, WorkerSettings.from_env({}, worker_stale_seconds=60))
    platform = PiPlatformClient("unused-key", "http://127.0.0.1:9/v2")
    context.flow = PiPaymentFlow(
        db.sessions, payments, platform, PiHorizon("http://127.0.0.1:9", PI_TESTNET_PASSPHRASE), "G" * 56
    )
    follow = set(steps.sweep(context).follow_ups)
    platform.close()
    assert FollowUp("payments.approve", (str(made["incomplete"]),)) in follow
    assert FollowUp("payments.verify_and_complete", (str(made["anchor"]),)) in follow
    mine = {f for f in follow if f.args and uuid.UUID(f.args[0]) in set(made.values())}
    # Waiting for the customer is not work; a payment moved a moment ago is not stale.
    assert mine == {
        FollowUp("payments.approve", (str(made["incomplete"]),)),
        FollowUp("payments.verify_and_complete", (str(made["anchor"]),)),
    }


def test_without_a_broker_publishing_fails_softly_and_the_api_falls_back_in_process(db: Db) -> None:
    settings = WorkerSettings.from_env({}, broker_url=NOTHING_LISTENS, worker_queue="h1c-nobody")
    queue = CeleryQueue(create_celery(settings), settings.worker_queue)
    started = time.monotonic()
    assert queue.enqueue("payments.sweep") is False  # logged; the sweep recovers the work later
    assert time.monotonic() - started < 10
    chosen = select_queue(settings, lambda: base_context(db.sessions, settings))
    try:
        assert isinstance(chosen, InProcessRunner)
        assert chosen.enqueue("payments.sweep")
        assert chosen.drain(10)
        assert [o.result.outcome for o in chosen.outcomes if o.result] == ["sweep enqueued 0"]
    finally:
        if isinstance(chosen, InProcessRunner):
            chosen.close()
