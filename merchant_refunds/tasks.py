"""The refunds' task, ``"refunds.resume"`` (registered in :mod:`settlement.workers.tasks`, run by
Celery beat and by the in-process sweep): every refund a crash, an outage or a late receipt left
under way is taken on from its last committed step."""

from __future__ import annotations

from os import environ as os_environ

from chain.errors import DeploymentNotFoundError
from merchant_refunds.assembly import build_refunds
from merchant_refunds.sending import RefundSender
from settlement.workers.context import WorkerContext
from settlement.workers.retry import StepBusyError
from settlement.workers.steps import REFUNDS_RESUME as RESUME
from settlement.workers.steps import StepResult

__all__ = ["RESUME", "resume"]


def resume(ctx: WorkerContext, sender: RefundSender | None = None) -> StepResult:
    """Advances every open refund. One run at a time (a running one covers this ask); a crash or a
    second run sends nothing twice either way (the transactions are written ahead)."""
    if sender is None:
        try:
            service = build_refunds(ctx.sessions, os_environ)
        except DeploymentNotFoundError as exc:
            return StepResult(f"skipped: no deployed platform ({exc.message})")
        if service is None:
            return StepResult("skipped: refunds need the platform signer (MSC_SIGNER_KEY)")
        sender = service.sender
    try:
        with ctx.locks.hold("refunds", "resume", wait_seconds=0):
            report = sender.resume()
    except StepBusyError:
        return StepResult("skipped: refunds are being resumed")
    return StepResult(f"refunds: {len(report.advanced)} advanced, {len(report.errors)} waiting")
