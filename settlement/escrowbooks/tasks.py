"""The escrow books' task, ``"escrow.book_outcomes"`` (registered in :mod:`settlement.workers.tasks`)."""

from __future__ import annotations

from chain.errors import DeploymentNotFoundError
from settlement.escrowbooks.service import EscrowOutcomeBooker
from settlement.escrowbooks.settings import EscrowBooksSettings
from settlement.workers.context import WorkerContext
from settlement.workers.retry import StepBusyError
from settlement.workers.steps import BOOK_OUTCOMES, StepResult

__all__ = ["BOOK_OUTCOMES", "book_outcomes"]


def book_outcomes(ctx: WorkerContext, settings: EscrowBooksSettings | None = None) -> StepResult:
    """Books every escrow outcome the mirror holds at the confirmation depth.

    One run at a time (a running one covers this ask); a crash or a second run books nothing
    twice either way, the lock only saves the work.
    """
    settings = settings or EscrowBooksSettings.from_env()
    try:
        escrow = settings.resolved_escrow()
    except DeploymentNotFoundError as exc:
        # A process with no deployed platform (yet) has no escrow to follow: nothing to retry.
        return StepResult(f"skipped: no escrow to follow ({exc.message})")
    booker = EscrowOutcomeBooker(
        ctx.sessions,
        escrow,
        stream=settings.stream,
        confirmations=settings.confirmations,
        page_size=settings.page_size,
    )
    try:
        with ctx.locks.hold("escrow", "book_outcomes", wait_seconds=0):
            report = booker.run_once()
    except StepBusyError:
        return StepResult("skipped: escrow outcomes are being booked")
    return StepResult(f"booked {report.total} escrow outcomes up to block {report.safe_block}")
