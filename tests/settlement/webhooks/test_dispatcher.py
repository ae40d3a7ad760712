"""Webhook outbox and dispatcher against a real local receiver, on SQLite and PostgreSQL.

The receiver (tests/settlement/webhooks/support.py) verifies every signature with
``verify_signature``. Time is a movable clock shared by the dispatcher and the receiver, so the
backoff schedule is checked exactly instead of slept through.

Invariants checked: an event exists exactly when its transaction committed; every attempt of an
event carries the same id and body; each event is accepted once per endpoint whatever the
failures, crashes and concurrent dispatchers; a delivery is dead after ``max_attempts``.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from common.sql.engine import create_engine_from_url, make_sessionmaker
from common.sql.migrate import upgrade
from settlement.webhooks import WebhookDispatcher, emit
from settlement.webhooks import service as webhooks
from settlement.webhooks.__main__ import main
from settlement.webhooks.dispatcher import Attempt, backoff_delay
from settlement.webhooks.errors import EventDedupeConflictError, InvalidEventError
from settlement.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEvent
from settlement.webhooks.targets import TargetPolicy
from tests.settlement.webhooks.support import Clock, Receiver, serve

BASE_S = 10.0
LOOPBACK_ALLOWED = TargetPolicy(allow_private=True)
DATA = {"payment_id": "p-1", "amount_idr_minor": 1_500_000, "amount_pi_minor": 1_000_000_000}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('webhooks') / 'db.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_schema_factory")()
    upgrade(url)
    engine = create_engine_from_url(url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """The database's sessions; deliveries a test leaves waiting are closed after it, so the
    next test's dispatcher sees only its own (the database is shared by the module)."""
    yield make_sessionmaker(engine)
    with engine.begin() as connection:
        connection.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.status.in_(["pending", "sending"]))
            .values(status="dead", last_error="closed by the test fixture")
        )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def receiver(clock: Clock) -> Iterator[Receiver]:
    yield from serve(Receiver(clock))


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0) as c:
        yield c


def dispatcher(engine: Engine, clock: Clock, client: httpx.Client, **kwargs: Any) -> WebhookDispatcher:
    options: dict[str, Any] = {
        "backoff_base_s": BASE_S,
        "max_attempts": 5,
        "lease_s": 30.0,
        "jitter": lambda: 1.0,
        "policy": LOOPBACK_ALLOWED,  # the receiver listens on 127.0.0.1
    }
    options.update(kwargs)
    return WebhookDispatcher(engine, client=client, clock=clock, **options)


def endpoint_for(
    sessions: sessionmaker[Session],
    receiver: Receiver,
    clock: Clock,
    types: tuple[str, ...] = ("payment.completed",),
) -> tuple[str, uuid.UUID]:
    """A new merchant with one endpoint pointing at ``receiver`` (whose secret it learns)."""
    merchant = f"m-{uuid.uuid4().hex[:12]}"
    with sessions.begin() as session:
        endpoint, secret = webhooks.create_endpoint(session, merchant, receiver.url, types, now=clock())
        endpoint_id = endpoint.id
    receiver.secrets.append(secret)
    return merchant, endpoint_id


def delivery(sessions: sessionmaker[Session], event_id: str) -> WebhookDelivery:
    with sessions() as session:
        return session.scalars(select(WebhookDelivery).where(WebhookDelivery.event_id == event_id)).one()


def test_a_failing_receiver_is_retried_with_exponential_backoff_then_accepts_once(
    engine: Engine, sessions: sessionmaker[Session], clock: Clock, receiver: Receiver, client: httpx.Client
) -> None:
    merchant, _ = endpoint_for(sessions, receiver, clock)
    receiver.fail_first = 3
    with sessions.begin() as session:
        event_id = emit(session, merchant, "payment.completed", DATA, now=clock())
    d = dispatcher(engine, clock, client)

    delays = []
    for attempt in (1, 2, 3):
        report = d.run_once()
        assert len(report.retrying) == 1, report
        row = delivery(sessions, event_id)
        assert (row.status, row.attempts, row.last_status_code) == ("pending", attempt, 500)
        delays.append((row.next_attempt_at - clock()).total_seconds())
        assert d.run_once().handled == 0  # not due before its time
        clock.advance(delays[-1])
    assert delays == [BASE_S, 2 * BASE_S, 4 * BASE_S]

    report = d.run_once()
    assert len(report.delivered) == 1
    row = delivery(sessions, event_id)
    assert (row.status, row.attempts, row.last_status_code, row.delivered_at) == (
        "delivered",
        4,
        200,
        clock(),
    )
    clock.advance(3600)
    assert d.run_once().handled == 0

    attempts = [r for r in receiver.requests if r.event_id == event_id]
    assert [r.answered for r in attempts] == [500, 500, 500, 200]
    assert all(r.verified_with == receiver.secrets for r in attempts)  # every attempt signed and verified
    assert len({r.body for r in attempts}) == 1  # the same bytes every time
    body = json.loads(attempts[0].body)
    assert (body["id"], body["type"], body["merchant_id"], body["data"]) == (
        event_id,
        "payment.completed",
        merchant,
        DATA,
    )
    assert len(receiver.accepted(event_id)) == 1
    assert receiver.processed.count(event_id) == 1


def test_backoff_is_capped_and_jittered_between_half_and_all_of_the_nominal_delay() -> None:
    assert [backoff_delay(n, 10, 50, 1.0) for n in (1, 2, 3, 4, 5)] == [10, 20, 40, 50, 50]
    assert backoff_delay(3, 10, 1000, 0.5) == 20
    assert backoff_delay(3, 10, 1000, 0.0) == 20  # never below half
    assert backoff_delay(3, 10, 1000, 7.0) == 40  # never above the nominal delay


def test_a_delivery_is_dead_after_max_attempts_and_a_redelivery_sends_it_again(
    engine: Engine, sessions: sessionmaker[Session], clock: Clock, receiver: Receiver, client: httpx.Client
) -> None:
    merchant, endpoint_id = endpoint_for(sessions, receiver, clock)
    receiver.fail_first = 1_000
    with sessions.begin() as session:
        event_id = emit(session, merchant, "payment.completed", DATA, now=clock())
    d = dispatcher(engine, clock, client, max_attempts=3)
    outcomes = []
    for _ in range(3):
        report = d.run_once()
        outcomes.append("dead" if report.dead else "retrying")
        clock.advance(3600)
    assert outcomes == ["retrying", "retrying", "dead"]
    row = delivery(sessions, event_id)
    assert (row.status, row.attempts, row.last_status_code) == ("dead", 3, 500)
    assert "HTTP 500" in (row.last_error or "")
    assert d.run_once().handled == 0

    receiver.fail_first = 0
    with sessions.begin() as session:
        again = webhooks.redeliver(session, merchant, event_id, endpoint_id, now=clock())
        assert (again.status, again.attempts) == ("pending", 0)
    assert len(d.run_once().delivered) == 1
    assert delivery(sessions, event_id).status == "delivered"
    assert [json.loads(r.body)["id"] for r in receiver.accepted(event_id)] == [event_id]


def test_rotation_signs_with_both_secrets_during_the_grace_period_then_only_the_new_one(
    engine: Engine, sessions: sessionmaker[Session], clock: Clock, receiver: Receiver, client: httpx.Client
) -> None:
    merchant, endpoint_id = endpoint_for(sessions, receiver, clock)
    old = receiver.secrets[0]
    with sessions.begin() as session:
        new, old_until = webhooks.rotate_secret(session, merchant, endpoint_id, 600, now=clock())
    assert new != old and old_until == clock() + timedelta(seconds=600)
    receiver.secrets.append(new)
    d = dispatcher(engine, clock, client)

    with sessions.begin() as session:
        during = emit(session, merchant, "payment.completed", DATA, now=clock())
    assert len(d.run_once().delivered) == 1
    (sent,) = receiver.accepted(during)
    assert sent.header.count("v1=") == 2
    assert sent.verified_with == [old, new]  # a receiver holding either secret accepts it

    clock.advance(601)
    with sessions.begin() as session:
        after = emit(session, merchant, "payment.completed", DATA, now=clock())
    assert len(d.run_once().delivered) == 1
    (sent,) = receiver.accepted(after)
    assert sent.header.count("v1=") == 1
    assert sent.verified_with == [new]  # the old secret no longer verifies


def test_a_crash_after_the_post_resends_the_same_event_id_which_the_receiver_processes_once(
    engine: Engine, sessions: sessionmaker[Session], clock: Clock, receiver: Receiver, client: httpx.Client
) -> None:
    merchant, _ = endpoint_for(sessions, receiver, clock)
    with sessions.begin() as session:
        event_id = emit(session, merchant, "payment.completed", DATA, now=clock())

    class KilledError(Exception):
        pass

    def die(attempt: Attempt, status: int | None) -> None:
        raise KilledError

    with pytest.raises(KilledError):
        dispatcher(engine, clock, client, on_sent=die).run_once()
    assert delivery(sessions, event_id).status == "sending"
    survivor = dispatcher(engine, clock, client)
    assert survivor.run_once().handled == 0  # the lease still holds
    clock.advance(31)
    assert len(survivor.run_once().delivered) == 1
    ids = [r.event_id for r in receiver.requests if r.event_id == event_id]
    assert ids == [event_id, event_id]
    assert receiver.processed.count(event_id) == 1
    assert delivery(sessions, event_id).attempts == 2


def test_concurrent_dispatchers_deliver_each_event_once(
    engine: Engine, sessions: sessionmaker[Session], clock: Clock, receiver: Receiver, client: httpx.Client
) -> None:
    merchant, _ = endpoint_for(sessions, receiver, clock)
    with sessions.begin() as session:
        events = [
            emit(session, merchant, "payment.completed", {**DATA, "n": i}, now=clock()) for i in range(24)
        ]
    workers = [dispatcher(engine, clock, client) for _ in range(3)]
    start = threading.Barrier(len(workers))
    errors: list[BaseException] = []

    def work(d: WebhookDispatcher) -> None:
        try:
            start.wait()
            d.run_once()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert sorted(r.event_id for r in receiver.requests) == sorted(events)
    with sessions() as session:
        statuses = session.scalars(
            select(WebhookDelivery.status).where(WebhookDelivery.event_id.in_(events))
        ).all()
    assert statuses == ["delivered"] * len(events)


def test_an_event_exists_only_if_its_transaction_commits(
    sessions: sessionmaker[Session], clock: Clock, receiver: Receiver
) -> None:
    merchant, _ = endpoint_for(sessions, receiver, clock)
    with sessions() as session:
        event_id = emit(session, merchant, "payment.completed", DATA, now=clock())
        session.rollback()
    with sessions() as session:
        assert session.get(WebhookEvent, event_id) is None
        count = session.scalar(
            select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.event_id == event_id)
        )
        assert count == 0


def test_only_subscribed_live_endpoints_get_a_delivery(
    sessions: sessionmaker[Session], clock: Clock, receiver: Receiver
) -> None:
    merchant, payments = endpoint_for(sessions, receiver, clock)
    with sessions.begin() as session:
        payouts, _ = webhooks.create_endpoint(session, merchant, receiver.url, ["payout.paid"], now=clock())
        gone, _ = webhooks.create_endpoint(
            session, merchant, receiver.url, ["payment.completed"], now=clock()
        )
        webhooks.delete_endpoint(session, merchant, gone.id, now=clock())
        event_id = emit(session, merchant, "payment.completed", DATA, now=clock())
        paid = emit(session, merchant, "payout.paid", {"payout_id": "x", "amount_idr_minor": 5}, now=clock())
        assert [d.endpoint_id for d in webhooks.deliveries_of(session, event_id)] == [payments]
        assert [d.endpoint_id for d in webhooks.deliveries_of(session, paid)] == [payouts.id]


def test_a_dedupe_key_returns_the_first_event_and_adds_nothing(
    sessions: sessionmaker[Session], clock: Clock, receiver: Receiver
) -> None:
    merchant, _ = endpoint_for(sessions, receiver, clock)
    key = f"payment.completed:{uuid.uuid4()}"
    with sessions.begin() as session:
        first = emit(session, merchant, "payment.completed", DATA, dedupe_key=key, now=clock())
    with sessions.begin() as session:
        assert emit(session, merchant, "payment.completed", DATA, dedupe_key=key, now=clock()) == first
        assert len(webhooks.deliveries_of(session, first)) == 1
    with sessions() as session, pytest.raises(EventDedupeConflictError):
        emit(session, merchant, "payment.completed", {**DATA, "amount_idr_minor": 1}, dedupe_key=key)


@pytest.mark.parametrize(
    ("event_type", "data", "problem"),
    [
        ("payment.refunded", DATA, "unknown event type"),
        ("payment.completed", {"amount": 1.5}, "float"),
        ("payment.completed", {"nested": {"at": object()}}, "JSON cannot carry"),
    ],
)
def test_bad_events_are_refused_and_nothing_is_written(
    sessions: sessionmaker[Session], event_type: str, data: dict[str, Any], problem: str
) -> None:
    merchant = f"m-{uuid.uuid4().hex[:12]}"
    with sessions() as session:
        with pytest.raises(InvalidEventError, match=problem):
            emit(session, merchant, event_type, data)
        assert session.scalar(select(func.count()).where(WebhookEvent.merchant_id == merchant)) == 0


def test_a_deleted_endpoint_kills_its_waiting_deliveries(
    engine: Engine, sessions: sessionmaker[Session], clock: Clock, receiver: Receiver, client: httpx.Client
) -> None:
    merchant, endpoint_id = endpoint_for(sessions, receiver, clock)
    with sessions.begin() as session:
        event_id = emit(session, merchant, "payment.completed", DATA, now=clock())
        webhooks.delete_endpoint(session, merchant, endpoint_id, now=clock())
    assert dispatcher(engine, clock, client).run_once().handled == 0
    row = delivery(sessions, event_id)
    assert (row.status, row.last_error) == (DeliveryStatus.DEAD.value, "endpoint deleted")
    assert receiver.requests == []


def test_the_command_delivers_what_is_due_with_the_configured_database(
    engine: Engine,
    sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    realtime = Clock(datetime.now(UTC))
    for receiver in serve(Receiver(realtime)):
        merchant, _ = endpoint_for(sessions, receiver, realtime)
        with sessions.begin() as session:
            event_id = emit(session, merchant, "payment.completed", DATA)
        monkeypatch.setenv("MSC_WEBHOOK_DATABASE_URL", engine.url.render_as_string(hide_password=False))
        monkeypatch.setenv("MSC_WEBHOOK_ALLOW_PRIVATE_TARGETS", "true")
        assert main(["once"]) == 0
        assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["handled"] == 1
        assert [r.event_id for r in receiver.accepted(event_id)] == [event_id]


# ------------------------------------------------------------------------ targets (SSRF)


def test_a_private_target_is_refused_at_delivery_before_any_connection_and_the_merchant_sees_why(
    engine: Engine, sessions: sessionmaker[Session], clock: Clock, receiver: Receiver, client: httpx.Client
) -> None:
    """An endpoint stored before the check (or a name re-pointed since) on a loopback address: the
    dispatcher with the production policy refuses it before connecting; nothing reaches it."""
    merchant, _ = endpoint_for(sessions, receiver, clock)
    with sessions.begin() as session:
        event_id = emit(session, merchant, "payment.completed", DATA, now=clock())
    d = dispatcher(engine, clock, client, policy=TargetPolicy())

    assert len(d.run_once().retrying) == 1
    row = delivery(sessions, event_id)
    assert (row.status, row.last_status_code) == ("pending", None)
    assert "not allowed" in (row.last_error or "") and "loopback" in (row.last_error or "")
    assert receiver.requests == []


def test_a_name_is_resolved_once_per_attempt_and_the_checked_address_is_the_one_connected_to(
    engine: Engine, sessions: sessionmaker[Session], clock: Clock, receiver: Receiver, client: httpx.Client
) -> None:
    """DNS rebinding: the name answers the receiver's loopback address to the check and a
    link-local address afterwards. The POST goes to the address checked (one lookup per attempt),
    with the name in ``Host``."""
    port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])
    merchant = f"m-{uuid.uuid4().hex[:12]}"
    with sessions.begin() as session:
        _endpoint, secret = webhooks.create_endpoint(
            session, merchant, f"http://hooks.warung.test:{port}/hooks", ("payment.completed",), now=clock()
        )
    receiver.secrets.append(secret)
    answers = iter([["127.0.0.1"], ["169.254.169.254"], ["169.254.169.254"]])
    lookups: list[tuple[str, int]] = []

    def rebinding(host: str, p: int) -> list[str]:
        lookups.append((host, p))
        return next(answers)

    with sessions.begin() as session:
        event_id = emit(session, merchant, "payment.completed", DATA, now=clock())
    d = dispatcher(engine, clock, client, resolver=rebinding)

    assert len(d.run_once().delivered) == 1
    assert lookups == [("hooks.warung.test", port)]
    assert receiver.hosts == [f"hooks.warung.test:{port}"]
    assert [r.event_id for r in receiver.accepted(event_id)] == [event_id]


def test_a_failed_delivery_shows_the_status_and_a_generic_reason_never_the_receivers_answer(
    engine: Engine, sessions: sessionmaker[Session], clock: Clock, receiver: Receiver, client: httpx.Client
) -> None:
    merchant, _ = endpoint_for(sessions, receiver, clock)
    receiver.fail_first = 1
    receiver.error_body = b"-ERR redis: requirepass hunter2 at 10.0.0.7"
    with sessions.begin() as session:
        event_id = emit(session, merchant, "payment.completed", DATA, now=clock())
    dispatcher(engine, clock, client).run_once()
    row = delivery(sessions, event_id)
    assert row.last_status_code == 500 and row.last_error == "HTTP 500: the endpoint did not answer 2xx"
    assert "hunter2" not in (row.last_error or "")


def test_a_redirect_is_not_followed_and_a_refused_connection_is_a_generic_reason(
    engine: Engine, sessions: sessionmaker[Session], clock: Clock, client: httpx.Client
) -> None:
    merchant = f"m-{uuid.uuid4().hex[:12]}"
    with sessions.begin() as session:
        webhooks.create_endpoint(
            session, merchant, "http://127.0.0.1:9/hook", ("payment.completed",), now=clock()
        )
        event_id = emit(session, merchant, "payment.completed", DATA, now=clock())
    dispatcher(engine, clock, client).run_once()
    assert delivery(sessions, event_id).last_error == "the endpoint could not be reached"
