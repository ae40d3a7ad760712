"""The custodial wallet moves' task, ``"wallet_moves.finish"`` (registered in
:mod:`settlement.workers.tasks`, run by Celery beat and by the in-process sweep): an export or a
rotation's sweep that a crash left ``pending`` after its relay was written ahead is finished from
the chain — the same transaction again, a new relay of the same authorization when its nonce was
taken, or ``abandoned`` when it can no longer be mined — so nothing waits for an operator's
``python -m merchant_money finish-moves`` and nothing moves twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from custody.keystore import EnvelopeKeyManager
from custody.service import CustodyService
from custody.settings import CustodySettings
from merchant_money.wallet import WalletMoves
from settlement.redemption.service import RedemptionService
from settlement.workers.context import WorkerContext
from settlement.workers.retry import StepBusyError
from settlement.workers.steps import WALLET_MOVES as FINISH
from settlement.workers.steps import StepResult

__all__ = ["FINISH", "PENDING_GRACE_SECONDS", "finish"]

PENDING_GRACE_SECONDS = 60
"""A move younger than this may still be in its own request's hands: the task leaves it alone."""


def _from_environment(ctx: WorkerContext) -> WalletMoves | str:
    """The wallet moves of this process (its redemption relayer, the custody master key), or why not."""
    relayer = ctx.payouts
    if not isinstance(relayer, RedemptionService):
        return "skipped: no redemption relayer in this process"
    settings = CustodySettings.from_env()
    if not settings.master_key.get_secret_value():
        return "skipped: no custodial wallets here (MSC_CUSTODY_MASTER_KEY unset)"
    platform = relayer.platform
    custody = CustodyService(
        EnvelopeKeyManager(settings.key_ring()),
        chain_id=platform.w3.eth.chain_id,
        token_address=platform.msc.address,
    )
    return WalletMoves(ctx.sessions, relayer, custody)


def finish(
    ctx: WorkerContext, moves: WalletMoves | None = None, clock: Callable[[], datetime] | None = None
) -> StepResult:
    """Finishes every move pending for longer than :data:`PENDING_GRACE_SECONDS`. One run at a time
    (a running one covers this ask); either way each move's relay is written ahead, so a second run
    or a crash sends nothing twice."""
    if moves is None:
        built = _from_environment(ctx)
        if isinstance(built, str):
            return StepResult(built)
        moves = built
    now = (clock or moves.clock)()
    try:
        with ctx.locks.hold("wallet_moves", "finish", wait_seconds=0):
            ended = moves.finish_open(now - timedelta(seconds=PENDING_GRACE_SECONDS))
    except StepBusyError:
        return StepResult("skipped: wallet moves are being finished")
    summary = ", ".join(f"{count} {status}" for status, count in sorted(ended.items())) or "none open"
    return StepResult(f"wallet moves: {summary}")
