"""The worker's ``wallet_moves.finish`` task: registered, enqueued by the sweep where a redemption
relayer runs, skipped cleanly where custody is not configured, and it finishes a move a crash left
written ahead but unsent — once, whatever the number of runs."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from eth_account import Account
from sqlalchemy import select

from common.sql.helpers import utcnow
from merchant_money import tasks as wallet_moves
from merchant_money.models import MerchantWalletMove, WalletMoveStatus
from merchant_money.redeem import new_submission
from merchant_money.wallet import WalletMoves
from settlement.redemption.service import RedemptionService
from settlement.workers import steps, tasks
from settlement.workers.context import WorkerContext
from settlement.workers.locking import StepLocks
from settlement.workers.steps import FollowUp
from tests.api.support import Db
from tests.portal.money.conftest import FUNDS, Shop, killed_before_broadcast
from tests.settlement.minting.support import Chain


def _later() -> datetime:
    """A clock past the task's grace period, as a sweep a few minutes after the crash sees it."""
    return utcnow() + timedelta(seconds=wallet_moves.PENDING_GRACE_SECONDS + 1)


def test_the_task_is_registered_and_swept_where_redemptions_are_relayed(
    db: Db, redemptions: RedemptionService, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert steps.WALLET_MOVES in tasks.TASKS
    ctx = WorkerContext(db.sessions, StepLocks(db.engine))
    assert FollowUp(steps.WALLET_MOVES) not in steps.sweep(ctx).follow_ups  # no relayer here
    assert tasks.run(ctx, steps.WALLET_MOVES, ()).outcome == "skipped: no redemption relayer in this process"
    ctx.payouts = redemptions
    assert FollowUp(steps.WALLET_MOVES) in steps.sweep(ctx).follow_ups
    monkeypatch.delenv("MSC_CUSTODY_MASTER_KEY", raising=False)
    assert tasks.run(ctx, steps.WALLET_MOVES, ()).outcome.startswith("skipped: no custodial wallets here")


def test_the_task_finishes_a_move_a_crash_left_unsent_once(
    db: Db, chain: Chain, shop: Shop, wallet: WalletMoves, monkeypatch: pytest.MonkeyPatch
) -> None:
    destination = Account.create().address
    with killed_before_broadcast(monkeypatch):
        wallet.export(shop.merchant_id, new_submission(), destination, None, lambda: None)
    ctx = WorkerContext(db.sessions, StepLocks(db.engine))

    def state() -> tuple[str, int, int]:
        with db.sessions() as session:
            [move] = session.scalars(
                select(MerchantWalletMove).where(MerchantWalletMove.merchant_id == shop.merchant_id)
            ).all()
        return move.status, chain.balance(shop.address), chain.balance(destination)

    wallet_moves.finish(ctx, wallet)  # within the grace: its own request may still be sending it
    assert state() == (WalletMoveStatus.PENDING, FUNDS, 0)
    first = wallet_moves.finish(ctx, wallet, clock=_later)
    assert first.outcome.startswith("wallet moves: ") and "done" in first.outcome
    assert state() == (WalletMoveStatus.DONE, 0, FUNDS)
    wallet_moves.finish(ctx, wallet, clock=_later)
    assert state() == (WalletMoveStatus.DONE, 0, FUNDS)  # finished once: nothing sent again
