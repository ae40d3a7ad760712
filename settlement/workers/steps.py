"""The bodies of the settlement tasks: each takes ids as strings, reloads its rows, and is idempotent.

Celery workers and the in-process runner execute these same functions. A step returns the
follow-up tasks to enqueue (``verify_and_complete`` is followed by a mint); the caller enqueues
them after the step's own work is committed. If a follow-up is lost (a crash, a broker down),
:func:`sweep` finds the row still in its working status and enqueues it again.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, select

from settlement.ledger.sql import utcnow
from settlement.minting.models import EscrowHolding
from settlement.payments.models import Payment, PaymentStatus
from settlement.payouts.models import Payout, PayoutStatus
from settlement.redemption.models import RedemptionIntent
from settlement.workers.context import Minter, WorkerContext
from settlement.workers.retry import StepBusyError

log = logging.getLogger(__name__)

APPROVE = "payments.approve"
VERIFY = "payments.verify_and_complete"
MINT = "payments.mint"
RELEASE = "escrow.release"
BOOK_OUTCOMES = "escrow.book_outcomes"
PAYBACKS = "paybacks.run"
REFUNDS_RESUME = "refunds.resume"
WALLET_MOVES = "wallet_moves.finish"
PAYOUT = "payouts.process"
FINISH_REDEMPTION = "redemptions.finish"
SWEEP = "payments.sweep"
EXPIRE = "payments.expire"
PI_RECONCILE = "pi.reconcile"
DELIVER_WEBHOOKS = "webhooks.deliver"

# Most rows one sweep re-enqueues per status, so a backlog is worked off in bounded bites.
SWEEP_LIMIT = 1000


@dataclass(frozen=True)
class FollowUp:
    """A task to enqueue after a step: its name and string arguments."""

    name: str
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class StepResult:
    """What a step did (for logs and tests) and what to enqueue next."""

    outcome: str
    follow_ups: tuple[FollowUp, ...] = field(default=())


def _status(ctx: WorkerContext, payment_id: uuid.UUID) -> str | None:
    """The payment's status as committed now (a fresh read, never a cached object)."""
    with ctx.sessions() as session:
        return session.scalar(select(Payment.status).where(Payment.id == payment_id))


def approve_payment(ctx: WorkerContext, payment_id: str) -> StepResult:
    """Approves an ``incomplete`` payment on the Pi platform; anything else is left alone."""
    pid = uuid.UUID(payment_id)
    flow = ctx.require("flow")
    # One step per payment at a time: a duplicate waits, then sees the status already moved.
    with ctx.locks.hold("payment", payment_id):
        # One read serves the status check and the flow (payment, quote); fresh, under the lock.
        snapshot = flow.snapshot(pid)
        status = None if snapshot is None else snapshot.payment.status
        if status != PaymentStatus.INCOMPLETE:
            return StepResult(f"skipped: payment is {status}")
        payment = flow.approve(pid, snapshot)
    return StepResult(str(payment.status))


def verify_payment(ctx: WorkerContext, payment_id: str) -> StepResult:
    """Verifies a ``pending_anchor`` payment on Horizon and completes it on Pi, then asks for a mint."""
    pid = uuid.UUID(payment_id)
    flow = ctx.require("flow")
    with ctx.locks.hold("payment", payment_id):
        # One read serves the status check and the flow (payment, quote, refund); fresh, under the lock.
        snapshot = flow.snapshot(pid)
        status = None if snapshot is None else snapshot.payment.status
        if status == PaymentStatus.PENDING_STELLAR:
            # An earlier run verified it but may have died before its mint was enqueued.
            return StepResult("skipped: already verified", (FollowUp(MINT),))
        if status != PaymentStatus.PENDING_ANCHOR:
            return StepResult(f"skipped: payment is {status}")
        payment = flow.verify_and_complete(pid, snapshot)
    follow = (FollowUp(MINT),) if payment.status == PaymentStatus.PENDING_STELLAR else ()
    return StepResult(str(payment.status), follow)


def expire_payment(ctx: WorkerContext, payment_id: str) -> StepResult:
    """Cancels on Pi and expires a payment whose transaction has not arrived (the merchant's cancel).

    If Pi already links a transaction to it, nothing happens: that payment settles instead.
    """
    pid = uuid.UUID(payment_id)
    flow = ctx.require("flow")
    with ctx.locks.hold("payment", payment_id):
        status = _status(ctx, pid)
        if status not in (PaymentStatus.INCOMPLETE, PaymentStatus.PENDING_USER_TRANSFER_START):
            return StepResult(f"skipped: payment is {status}")
        payment = flow.expire(pid, "cancelled by the merchant")
    return StepResult(str(payment.status))


def reconcile_pi(ctx: WorkerContext) -> StepResult:
    """Recovers lost Pi callbacks from Horizon's payment stream and cancels abandoned payments.

    The payments it moves to ``pending_stellar`` need a mint, so one is asked for.
    """
    reconciler = ctx.require("reconciler")
    try:
        # One reader of the stream cursor at a time; a periodic ask that finds one running is
        # redundant, so it returns instead of parking a worker thread on the lock.
        with ctx.locks.hold("pi", "reconcile", wait_seconds=0):
            report = reconciler.run_once()
    except StepBusyError:
        return StepResult("skipped: a reconcile is running")
    follow = (FollowUp(MINT),) if getattr(report, "finished", None) and ctx.minter is not None else ()
    return StepResult(f"reconciled: {report}", follow)


def deliver_webhooks(ctx: WorkerContext) -> StepResult:
    """Delivers the webhook events that are due (leases make concurrent dispatchers safe)."""
    report = ctx.require("webhooks").run_once()
    return StepResult(f"webhooks: {report}")


def mint_pending(ctx: WorkerContext) -> StepResult:
    """Mints the ``pending_stellar`` payments into the escrow once a batch is due, one minter at a time.

    A batch is due (:func:`mint_is_due`) when ``ctx.mint_min_batch`` payments wait to be minted or
    the oldest of them has waited ``ctx.mint_linger_seconds``: Kafka's ``batch.size`` and
    ``linger.ms``, fewer and fuller on-chain transactions for a bounded delay. A batch a crash left
    open is always due (its recovery never waits). A run that finds nothing due mints nothing and
    says it lingers. Nothing has to remember that ask: every verified payment asks again, and the
    sweep asks every ``MSC_WORKER_SWEEP_SECONDS`` while anything is ``pending_stellar``, so a
    payment's batch starts at most the linger plus one sweep interval (plus a mint in flight)
    after it was verified.

    Each verified payment asks for a mint, so many asks arrive while one mint is in flight. Only
    one run holds the mint lock; the others return at once (never parking a worker on the lock),
    and the holder keeps minting while a batch is due, so what arrives during a batch joins the
    next one (a remainder too small and too young waits for more). After letting go, the holder
    looks once more: a batch that became due while an ask was turned away just before the
    release is minted then (or by the run that took the lock over).
    """
    minter = ctx.require("minter")
    reports: list[str] = []
    while True:
        try:
            with ctx.locks.hold("escrow", "mint", wait_seconds=0):
                stalled = _mint_while_due(ctx, minter, reports)
        except StepBusyError:
            return StepResult(
                "skipped: a running mint takes what is pending" if not reports else f"minted: {reports}"
            )
        backlog = _mint_backlog(ctx)
        if stalled or not _batch_due(ctx, backlog):
            return StepResult(_mint_outcome(ctx, reports, backlog))


@dataclass(frozen=True)
class MintBacklog:
    """The ``pending_stellar`` payments as the mint sees them."""

    waiting: int
    """Payments in no batch yet: what the next batch would claim."""
    oldest_age_seconds: float
    """How long the oldest of those has been ``pending_stellar`` (0 when none waits)."""
    in_open_batches: int
    """Payments claimed by a batch that is not completed (a crash's leftover, or a mint running)."""


def mint_is_due(waiting: int, oldest_age_seconds: float, min_batch: int, linger_seconds: float) -> bool:
    """Whether a new batch should be minted now: ``min_batch`` payments wait, or the oldest of
    the waiting ones has waited ``linger_seconds``.

    With the defaults (1, 0.0) any waiting payment is minted at once.
    """
    return waiting >= min_batch or (waiting > 0 and oldest_age_seconds >= linger_seconds)


def _batch_due(ctx: WorkerContext, backlog: MintBacklog) -> bool:
    """The linger rule of the context's settings; an open batch is always due (recovery)."""
    return backlog.in_open_batches > 0 or mint_is_due(
        backlog.waiting, backlog.oldest_age_seconds, ctx.mint_min_batch, ctx.mint_linger_seconds
    )


def _mint_while_due(ctx: WorkerContext, minter: Minter, reports: list[str]) -> bool:
    """Mints batches while one is due (under the mint lock); whether a mint made no progress."""
    while _batch_due(ctx, _mint_backlog(ctx)):
        report = minter.run_once(max_batch=ctx.mint_batch)
        reports.append(str(report))
        if report.completed + report.failed == 0:
            return True  # another minter holds what is pending; asking again would spin
    return False


def _mint_backlog(ctx: WorkerContext) -> MintBacklog:
    """Counts and ages the backlog in one query.

    "Waiting" mirrors the minter's claim: ``pending_stellar`` and not held by any batch.
    """
    unclaimed = EscrowHolding.payment_id.is_(None)
    statement = (
        select(
            func.count().filter(unclaimed),
            func.min(Payment.updated_at).filter(unclaimed),
            func.count(EscrowHolding.payment_id),
        )
        .select_from(Payment)
        .outerjoin(EscrowHolding, EscrowHolding.payment_id == Payment.id)
        .where(Payment.status == str(PaymentStatus.PENDING_STELLAR))
    )
    with ctx.sessions() as session:
        waiting, oldest, claimed = session.execute(statement).one()
    age = 0.0 if oldest is None else max(0.0, (utcnow() - oldest).total_seconds())
    return MintBacklog(int(waiting), age, int(claimed))


def _mint_outcome(ctx: WorkerContext, reports: list[str], backlog: MintBacklog) -> str:
    """What a mint run did, and why it left the rest waiting."""
    done = f"minted: {reports}" if reports else ""
    if backlog.waiting == 0 or _batch_due(ctx, backlog):
        return done or "nothing to mint"
    lingering = (
        f"lingering: {backlog.waiting} pending, "
        f"oldest {backlog.oldest_age_seconds:.1f}s < {ctx.mint_linger_seconds}s"
    )
    return f"{done}; {lingering}" if done else lingering


def release_due(ctx: WorkerContext) -> StepResult:
    """Releases the escrows whose hold period is over."""
    releaser = ctx.require("releaser")
    try:
        with ctx.locks.hold("escrow", "release", wait_seconds=0):  # a running release covers this ask
            released = releaser.run_once()
    except StepBusyError:
        return StepResult("skipped: a release is running")
    return StepResult(f"released {released}")


def process_payout(ctx: WorkerContext, payout_id: str) -> StepResult:
    """Moves a payout one step (requested -> processing -> paid / failed -> reversed)."""
    processor = ctx.require("payouts")
    with ctx.locks.hold("payout", payout_id):
        result = processor.process(uuid.UUID(payout_id))
    status = getattr(result, "status", result)
    return StepResult(f"payout {status}")


def finish_redemption(ctx: WorkerContext, intent_id: str) -> StepResult:
    """Finishes a redemption whose request failed or died after its intent was written: from the
    chain's state it is recorded (then its payout is processed: the burn) or abandoned."""
    processor = ctx.require("payouts")
    with ctx.locks.hold("redemption_intent", intent_id):
        status = processor.finish_intent(uuid.UUID(intent_id))
    follow: tuple[FollowUp, ...] = ()
    if str(status) == "recorded":
        with ctx.sessions() as session:
            payout_id = session.scalar(
                select(RedemptionIntent.payout_id).where(RedemptionIntent.id == uuid.UUID(intent_id))
            )
        if payout_id is not None:
            follow = (FollowUp(PAYOUT, (str(payout_id),)),)
    return StepResult(f"redemption intent {status}", follow)


def sweep(ctx: WorkerContext) -> StepResult:
    """Re-enqueues the step of every payment (and payout) left in a working status for too long.

    This is what makes a lost message harmless: the row in its status is the durable record,
    and running a step again does nothing once the row has moved on.
    """
    cutoff = utcnow() - timedelta(seconds=ctx.stale_seconds)
    follow: list[FollowUp] = []
    with ctx.sessions() as session:
        if ctx.flow is not None:
            for status, task in ((PaymentStatus.INCOMPLETE, APPROVE), (PaymentStatus.PENDING_ANCHOR, VERIFY)):
                ids = session.scalars(
                    select(Payment.id)
                    .where(Payment.status == str(status), Payment.updated_at <= cutoff)
                    .order_by(Payment.updated_at)
                    .limit(SWEEP_LIMIT)
                )
                follow.extend(FollowUp(task, (str(pid),)) for pid in ids)
        if ctx.minter is not None:
            waiting = session.scalar(
                select(Payment.id).where(Payment.status == str(PaymentStatus.PENDING_STELLAR)).limit(1)
            )
            if waiting is not None:
                follow.append(FollowUp(MINT))
        if ctx.payouts is not None:
            # processing waits for the bank, not for us; failed may have a reversal to finish.
            open_statuses = (str(PayoutStatus.REQUESTED), str(PayoutStatus.FAILED))
            ids = session.scalars(
                select(Payout.id)
                .where(Payout.status.in_(open_statuses), Payout.updated_at <= cutoff)
                .limit(SWEEP_LIMIT)
            )
            follow.extend(FollowUp(PAYOUT, (str(pid),)) for pid in ids)
    if ctx.payouts is not None:
        # A redemption whose request died after its write-ahead intent: finished from the chain.
        intents = ctx.payouts.open_intents(cutoff, SWEEP_LIMIT)
        follow.extend(FollowUp(FINISH_REDEMPTION, (str(iid),)) for iid in intents)
        # Custodial wallet exports and sweeps written ahead and left pending (merchant_money).
        follow.append(FollowUp(WALLET_MOVES))
    if ctx.releaser is not None:
        follow.append(FollowUp(RELEASE))
        # The books follow what others do on-chain (refunds, disputes, the guarantee fund), in this
        # runner as on Celery beat; it skips cleanly where no escrow is deployed or indexed.
        follow.append(FollowUp(BOOK_OUTCOMES))
        # Customers are paid back in Pi for what the books owe them (settlement.paybacks).
        follow.append(FollowUp(PAYBACKS))
        # Merchants' refunds left under way are taken on from their last step (merchant_refunds).
        follow.append(FollowUp(REFUNDS_RESUME))
    if ctx.reconciler is not None:
        follow.append(FollowUp(PI_RECONCILE))
    if ctx.webhooks is not None:
        follow.append(FollowUp(DELIVER_WEBHOOKS))
    return StepResult(f"sweep enqueued {len(follow)}", tuple(follow))
