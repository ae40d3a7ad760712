"""The embedded default, end to end: no Redis, the API's in-process runner executes the same task
functions — approval, verification and completion on the Pi peer, the mint into the escrow on a
real anvil. Bad payments through HTTP are refused with their reason and never credited."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from settlement.ledger.models import JournalEntry
from settlement.ledger.sql import utcnow
from settlement.payments.models import Payment
from settlement.payouts.models import Payout
from settlement.pi.platform_client import PiPlatformClient
from settlement.quotes.models import Quote
from settlement.workers import steps
from settlement.workers.assembly import base_context, with_components
from settlement.workers.inprocess import InProcessRunner
from settlement.workers.settings import WorkerSettings
from tests.api.support import bearer
from tests.settlement.flow.support import Peer as FlowPeer
from tests.settlement.flow.support import pay_custom
from tests.settlement.redemption.test_redemption_recovery import funded_merchant
from tests.settlement.redemption.test_redemption_recovery import request as redemption_request
from tests.settlement.webhooks.support import Clock, Receiver, serve
from tests.settlement.workers.support import (
    HAPPY_MOVES,
    HELD,
    PEER_API_KEY,
    PI,
    SETTLED_ENTRIES,
    Api,
    Order,
    Stack,
    assert_settled_exactly_once,
    complete,
    create_payment,
    dev_key,
    new_order,
    open_api,
    pay_through,
    settled,
    status_of,
    wait_statuses,
)

ANVIL_PORT = 8720
RELEASED = 3  # MerchantEscrow.Status.Released


@pytest.fixture(scope="module")
def runner(stack: Stack) -> Iterator[InProcessRunner]:
    """The in-process runner with every component, built from the environment as a process would."""
    env = stack.worker_env("", "unused", MSC_WORKER_REDEEMER_KEY=dev_key(2))
    settings = WorkerSettings.from_env(env)
    context = with_components(base_context(stack.db.sessions, settings), env)
    assert None not in (context.flow, context.minter, context.releaser, context.payouts)
    with InProcessRunner(context, settings.retry_policy(), threads=2) as running:
        yield running


@pytest.fixture(scope="module")
def api(stack: Stack, runner: InProcessRunner, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from open_api(stack, runner, tmp_path_factory.mktemp("deployments"))


def test_payments_settle_exactly_once_in_process_with_duplicate_callbacks(
    api: Api, runner: InProcessRunner
) -> None:
    app_before = api.stack.peer.app_balance()
    orders = [new_order(api) for _ in range(3)]
    for order in orders:
        assert create_payment(api, order).status_code == 202
        # Pi delivers callbacks more than once: the approval is asked for again.
        again = api.client.post(f"/v1/pi/payments/{order.pi_id}/approve", headers=bearer(api.key))
        assert again.status_code == 202
    for order in orders[:2]:
        pay_through(api, order)
    # The same completion callback, five times at once.
    last = orders[2]
    wait_statuses(api.stack.db, [last.payment_id], "pending_user_transfer_start")
    last.txid = api.stack.peer.control.wallet_pay(last.pi_id)
    answers: list[int] = []
    barrier = threading.Barrier(5)

    def deliver() -> None:
        barrier.wait()
        answers.append(complete(api, last, last.txid).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [202] * 5

    ids = [o.payment_id for o in orders]
    wait_statuses(api.stack.db, ids, "completed")
    assert runner.drain(30)
    assert_settled_exactly_once(api.stack, ids, api.merchant_id)
    state = settled(api.stack, ids)
    assert api.stack.peer.app_balance() == app_before + sum(state.pi.values())
    detail = api.client.get(f"/v1/payments/{last.payment_id}", headers=bearer(api.key)).json()
    assert [h["to_status"] for h in detail["history"]] == [
        "pending_user_transfer_start",
        "pending_anchor",
        "pending_stellar",
        "completed",
    ]
    assert not [o for o in runner.outcomes if o.error is not None]


def test_a_lost_completion_callback_is_recovered_by_the_periodic_pi_reconcile(
    api: Api, runner: InProcessRunner
) -> None:
    """The customer paid but the merchant's server never forwarded the txid: the sweep asks the
    Pi reconciler, which finds the payment on Horizon's stream, finishes it, and asks for a mint."""
    order = new_order(api)
    assert create_payment(api, order).status_code == 202
    wait_statuses(api.stack.db, [order.payment_id], "pending_user_transfer_start")
    order.txid = api.stack.peer.control.wallet_pay(order.pi_id)  # no /complete call follows

    assert runner.enqueue(steps.SWEEP)
    wait_statuses(api.stack.db, [order.payment_id], "completed")
    assert runner.drain(30)
    state = settled(api.stack, [order.payment_id])  # credited and minted once, like a delivered callback
    assert state.moves[order.payment_id] == HAPPY_MOVES
    assert state.entries[order.payment_id] == SETTLED_ENTRIES
    assert state.escrow[order.payment_id] == (HELD, state.idr[order.payment_id])
    reconciled = [o for o in runner.outcomes if o.name == steps.PI_RECONCILE]
    assert reconciled and all(o.error is None for o in reconciled)
    detail = api.client.get(f"/v1/payments/{order.payment_id}", headers=bearer(api.key)).json()
    assert detail["txid"] == order.txid


def test_merchant_webhooks_announce_a_settled_and_a_refused_payment_signed_once_each(
    api: Api, runner: InProcessRunner
) -> None:
    """Each terminal move emits its event in the move's own transaction; the worker's sweep
    delivers it to the merchant's endpoint, signed with the endpoint's secret."""
    receiver_gen = serve(Receiver(Clock(datetime.now(UTC))))
    receiver = next(receiver_gen)
    try:
        made = api.client.post(
            "/v1/webhooks/endpoints",
            json={"url": receiver.url, "event_types": ["payment.completed", "payment.failed"]},
            headers={**bearer(api.key), "Idempotency-Key": f"hooks-{uuid.uuid4()}"},
        )
        assert made.status_code == 201, made.text
        receiver.secrets.append(made.json()["secret"])
        good = new_order(api)
        bad = new_order(api, sell_amount=10 * PI, paid_amount=9 * PI)
        assert create_payment(api, good).status_code == 202
        assert create_payment(api, bad).status_code == 202
        pay_through(api, good)
        wait_statuses(api.stack.db, [good.payment_id], "completed")
        wait_statuses(api.stack.db, [bad.payment_id], "error")
        for _ in range(2):  # a second sweep finds nothing more to send
            assert runner.enqueue(steps.SWEEP)
            assert runner.drain(30)
        bodies = [json.loads(r.body) for r in receiver.requests]
        assert all(r.verified_with == receiver.secrets and r.answered == 200 for r in receiver.requests)
        by_payment = {b["data"]["payment_id"]: b for b in bodies}
        assert len(bodies) == len(by_payment) == 2  # one event per payment, delivered once
        completed, failed = by_payment[good.payment_id], by_payment[bad.payment_id]
        assert completed["type"] == "payment.completed" and completed["data"]["txid"] == good.txid
        with api.stack.db.sessions() as session:
            payment = session.get(Payment, uuid.UUID(good.payment_id))
            assert payment is not None
            assert completed["data"]["amount_idr_minor"] == payment.idr_amount
            assert completed["data"]["amount_pi_minor"] == payment.pi_amount
        assert failed["type"] == "payment.failed" and "amount" in failed["data"]["message"]
    finally:
        receiver_gen.close()


def _assert_refused(api: Api, order: Order, status: str, reason_has: str) -> None:
    wait_statuses(api.stack.db, [order.payment_id], status)
    detail = api.client.get(f"/v1/payments/{order.payment_id}", headers=bearer(api.key)).json()
    assert reason_has in (detail["error_reason"] or ""), detail
    with api.stack.db.sessions() as session:
        credited = session.scalars(
            select(JournalEntry.kind).where(JournalEntry.reference == order.payment_id)
        ).all()
    assert credited == []  # nothing credited
    assert settled(api.stack, [order.payment_id]).escrow[order.payment_id] == (0, 0)  # nothing minted


def test_wrong_amount_is_refused_at_approval_and_never_credited(api: Api) -> None:
    order = new_order(api, sell_amount=10 * PI, paid_amount=9 * PI)
    assert create_payment(api, order).status_code == 202
    _assert_refused(api, order, "error", "amount")


def test_wrong_memo_and_wrong_destination_are_refused_at_verification(api: Api) -> None:
    wrong_memo = new_order(api)
    wrong_destination = new_order(api)
    for order in (wrong_memo, wrong_destination):
        assert create_payment(api, order).status_code == 202
        wait_statuses(api.stack.db, [order.payment_id], "pending_user_transfer_start")
    control = api.stack.peer.control
    memo_tx = control.wallet_pay(wrong_memo.pi_id, memo="not-the-payment-id")
    stranger = control.create_user(5 * PI)
    with api.stack.db.sessions() as session:
        quote = session.get(Quote, uuid.UUID(wrong_destination.quote_id))
        assert quote is not None
        amount = quote.sell_amount
    dest_tx = pay_custom(
        FlowPeer(api.stack.peer.server, api.stack.peer.app, api.stack.peer.control),
        wrong_destination.user.secret_seed,
        [(stranger.public_key, amount)],
        wrong_destination.pi_id,
    )
    assert complete(api, wrong_memo, memo_tx).status_code == 202
    assert complete(api, wrong_destination, dest_tx).status_code == 202
    _assert_refused(api, wrong_memo, "error", "memo")
    _assert_refused(api, wrong_destination, "error", "not the platform's account")


def test_cancel_cancels_on_pi_first_then_expires(api: Api) -> None:
    waiting = new_order(api)
    assert create_payment(api, waiting).status_code == 202
    wait_statuses(api.stack.db, [waiting.payment_id], "pending_user_transfer_start")
    answer = api.client.post(f"/v1/payments/{waiting.payment_id}/cancel", headers=bearer(api.key))
    assert answer.status_code == 202 and answer.json()["queued"] == "payments.expire"
    wait_statuses(api.stack.db, [waiting.payment_id], "expired")
    with PiPlatformClient(PEER_API_KEY, api.stack.peer.server.platform_url) as platform:
        assert platform.get_payment(waiting.pi_id).status.cancelled  # the customer can no longer pay it
    refused = complete(api, waiting, "ab" * 32)
    assert refused.status_code == 409 and status_of(api.stack.db, waiting.payment_id) == "expired"


def test_reused_txid_and_expired_quote_are_409_and_change_nothing(api: Api) -> None:
    paid = new_order(api)
    assert create_payment(api, paid).status_code == 202
    pay_through(api, paid)
    wait_statuses(api.stack.db, [paid.payment_id], "completed")

    other = new_order(api)
    assert create_payment(api, other).status_code == 202
    wait_statuses(api.stack.db, [other.payment_id], "pending_user_transfer_start")
    reused = complete(api, other, paid.txid)
    assert reused.status_code == 409 and reused.json()["error"] == "txid_already_used"
    assert status_of(api.stack.db, other.payment_id) == "pending_user_transfer_start"

    late = new_order(api)
    with api.stack.db.sessions.begin() as session:
        session.execute(
            update(Quote)
            .where(Quote.id == uuid.UUID(late.quote_id))
            .values(expires_at=utcnow() - timedelta(1))
        )
    refused = create_payment(api, late)
    assert refused.status_code == 409 and refused.json()["error"] == "quote_expired"
    assert late.payment_id == ""
    listed: Any = api.client.get("/v1/payments?limit=200", headers=bearer(api.key)).json()["items"]
    assert late.pi_id not in {p["pi_payment_id"] for p in listed}


def test_with_the_pi_check_a_mismatching_pi_payment_is_refused_unrecorded(
    stack: Stack, runner: InProcessRunner, tmp_path: Path
) -> None:
    check = stack.peer.check()
    for api in open_api(stack, runner, tmp_path, pi_check=check):
        wrong = new_order(api, sell_amount=10 * PI, paid_amount=10 * PI + 1)
        cancelled = new_order(api)
        stack.peer.control.user_cancel(cancelled.pi_id)
        unknown = new_order(api)
        unknown.pi_id = "NoSuchPiPayment0000000000000"
        before = payment_count(stack)
        answers = [create_payment(api, o) for o in (wrong, cancelled, unknown)]
        assert [(a.status_code, a.json()["error"]) for a in answers] == [
            (422, "pi_payment_mismatch"),
            (409, "pi_payment_cancelled"),
            (404, "pi_payment_not_found"),
        ]
        assert "amount" in answers[0].json()["message"]
        assert payment_count(stack) == before  # nothing recorded, nothing queued
        good = new_order(api)
        assert create_payment(api, good).status_code == 202
        wait_statuses(stack.db, [good.payment_id], "pending_user_transfer_start")
    check.close()


def payment_count(stack: Stack) -> int:
    with stack.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(Payment)) or 0


def test_release_and_payout_steps_run_as_tasks_once(api: Api, runner: InProcessRunner) -> None:
    """Last in the module: it moves the chain's clock past the escrow hold (after the payout, whose
    authorization would have expired by then)."""
    stack = api.stack
    order = new_order(api)
    assert create_payment(api, order).status_code == 202
    pay_through(api, order)
    wait_statuses(stack.db, [order.payment_id], "completed")
    assert runner.drain(30)

    merchant = funded_merchant(stack.chain)
    with stack.db.sessions.begin() as session:
        payout = runner.context.require("payouts").request(
            session, redemption_request(stack.chain, merchant, 50_000)
        )
    supply = stack.chain.supply()
    for _ in range(3):
        runner.enqueue("payouts.process", str(payout.id))
    assert runner.drain(60)
    with stack.db.sessions() as session:
        assert session.scalar(select(Payout.status).where(Payout.id == payout.id)) == "processing"
    assert stack.chain.supply() == supply - 50_000  # burned once

    stack.chain.advance(3601)  # past MSC_WORKER_ESCROW_HOLD_SECONDS
    for _ in range(3):  # the same release asked for three times releases once
        runner.enqueue("escrow.release")
    assert runner.drain(60)
    status, amount = settled(stack, [order.payment_id]).escrow[order.payment_id]
    assert status == RELEASED and amount > 0
    with stack.db.sessions() as session:
        kinds = session.scalars(
            select(JournalEntry.kind).where(JournalEntry.reference == order.payment_id)
        ).all()
    assert sorted(kinds).count("release") == 1
    assert not [o for o in runner.outcomes if o.error is not None]
