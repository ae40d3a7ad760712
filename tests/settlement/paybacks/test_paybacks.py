"""Escrow refunds paid back to the customer in Pi and their MSC burned, against the local Pi peer
and anvil, on SQLite and PostgreSQL: a partial then the rest of a payment, the books cleared, the
reconciliation checks green after each step."""

from __future__ import annotations

from settlement.minting.minter import DEFAULT_HOLD_SECONDS
from settlement.paybacks import tasks as paybacks_tasks
from settlement.paybacks.models import PaybackStatus as B
from settlement.paybacks.tasks import RUN
from settlement.workers import steps, tasks
from settlement.workers.assembly import base_context
from settlement.workers.settings import WorkerSettings
from settlement.workers.steps import FollowUp
from tests.settlement.flow.support import PI, Peer
from tests.settlement.ledger.support import Db
from tests.settlement.minting.support import Chain
from tests.settlement.paybacks.support import make_world

ANVIL_PORT = 8831


def test_partial_then_full_refund_paid_back_in_pi_and_burned(fresh_db: Db, chain: Chain, peer: Peer) -> None:
    world = make_world(fresh_db, chain, peer)
    order = world.paid(10 * PI)
    payment = order.payment
    credited, pi_paid = payment.idr_amount, payment.pi_amount
    supply = chain.supply()
    before = world.pi_of(order)

    # A partial refund: a third of the MSC, a third of the Pi (rounded down).
    part = credited // 3
    world.refund(order, part)
    assert world.owed() == part and chain.balance(world.settlement) == part
    assert world.check() == (True, part, 0, part)

    report = world.service().run_once()

    (first,) = world.paybacks(order)
    assert report.created == 1 and report.completed == [first.id]
    assert first.status == B.COMPLETED and first.msc_amount == part
    assert first.pi_amount == pi_paid * part // credited
    assert world.pi_of(order) == before + first.pi_amount
    assert chain.supply() == supply - part and chain.balance(world.settlement) == 0
    assert world.owed() == 0
    assert world.check() == (True, 0, 0, 0)
    assert world.burns_booked()
    pi = world.env.platform.get_payment(first.pi_payment_id or "")
    assert pi.direction == "app_to_user" and pi.status.developer_completed
    assert pi.metadata == {"payback_id": str(first.id), "payment_id": str(payment.id)}
    assert pi.transaction is not None and pi.transaction.txid == first.txid

    # The rest: the customer has got back exactly what they paid, fee included.
    world.refund(order, credited - part)
    report = world.service().run_once()
    first_again, second = world.paybacks(order)
    assert first_again.id == first.id and report.completed == [second.id]
    assert first.pi_amount + second.pi_amount == pi_paid
    assert world.pi_of(order) == before + pi_paid
    assert chain.supply() == supply - credited
    assert world.owed() == 0 and world.check() == (True, 0, 0, 0) and world.burns_booked()

    # Running again pays and burns nothing more.
    assert world.service().run_once().created == 0
    assert world.pi_of(order) == before + pi_paid and chain.supply() == supply - credited
    world.env.close()


def test_the_worker_task_pays_back_and_is_swept(fresh_db: Db, chain: Chain, peer: Peer) -> None:
    world = make_world(fresh_db, chain, peer)
    order = world.paid(4 * PI)
    world.refund(order, order.payment.idr_amount)
    ctx = base_context(fresh_db.sessions, WorkerSettings.from_env({}))

    # A process without the app wallet's seed (or Pi, or a signer) skips: nothing to retry.
    assert tasks.run(ctx, RUN, ()).outcome.startswith("skipped: pay-backs are not configured")
    assert world.paybacks(order) == []

    result = paybacks_tasks.run(ctx, world.service())

    (done,) = world.paybacks(order)
    assert result.outcome.startswith("paybacks: 1 recorded, 1 completed, 0 failed")
    assert done.status == B.COMPLETED and done.pi_amount == order.payment.pi_amount
    # The in-process sweep asks for it wherever the chain is configured, as Celery beat does.
    ctx.releaser = object()  # type: ignore[assignment]
    assert FollowUp(RUN) in steps.sweep(ctx).follow_ups
    world.env.close()


def test_a_dispute_split_and_a_guarantee_cover_are_paid_back(fresh_db: Db, chain: Chain, peer: Peer) -> None:
    world = make_world(fresh_db, chain, peer)
    disputed, covered = world.paid(5 * PI), world.paid(7 * PI)
    scene = world.scene
    before = {o.payment.id: world.pi_of(o) for o in (disputed, covered)}
    # The payer's share of the arbiter's split comes back to the settlement key...
    to_payer = disputed.payment.idr_amount // 5
    scene.dispute(disputed.payment.id)
    scene.resolve(disputed.payment.id, disputed.payment.idr_amount - to_payer)
    # ...and so does the guarantee fund's cover of a payment already released to the merchant.
    chain.advance(DEFAULT_HOLD_SECONDS + 1)
    scene.release(covered.payment.id)
    scene.fund_guarantee(10**6)
    scene.cover(covered.payment.id, 12_345)
    world.book()
    assert world.owed() == to_payer + 12_345 and world.check()[0]

    report = world.service().run_once()

    assert report.created == 2 and len(report.completed) == 2
    for order, sen in ((disputed, to_payer), (covered, 12_345)):
        (done,) = world.paybacks(order)
        assert done.msc_amount == sen
        assert done.pi_amount == order.payment.pi_amount * sen // order.payment.idr_amount
        assert world.pi_of(order) == before[order.payment.id] + done.pi_amount
    assert world.owed() == 0 and world.check() == (True, 0, 0, 0) and world.burns_booked()
    world.env.close()
