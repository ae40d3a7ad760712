"""A pay-back survives a crash at every step: the process dies right after a state is committed or
right after a side effect (Pi created, envelope submitted, payment completed, burn mined) and a new
process finishes it, paying the customer once, burning once and booking once; the reconciliation
check holds at the moment of each crash and after."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from settlement.ledger.models import JournalEntry
from settlement.paybacks.models import PaybackStatus as B
from tests.settlement.flow.support import PI, Peer
from tests.settlement.ledger.support import Db
from tests.settlement.minting.support import Chain
from tests.settlement.paybacks.support import World, make_world

ANVIL_PORT = 8832

POINTS = (
    "pi_answered",  # Pi created the payment; its answer never got to us (adopted on retry)
    "pi_created",
    "pi_submitted",  # envelope and txid recorded, nothing sent
    "pi_sent",  # on the ledger, not completed on Pi
    "pi_completed",  # completed on Pi, not recorded
    "pi_paid",
    "burn_written",  # burn signed and stored, not sent
    "burn_sent",  # burn mined, not recorded
)


class CrashError(Exception):
    """The process dies here."""


def _crash_at(point: str) -> object:
    def hook(name: str) -> None:
        if name == point:
            raise CrashError(point)

    return hook


def _entries(world: World, kind: str) -> int:
    with world.db.sessions() as session:
        return int(session.scalar(select(func.count()).where(JournalEntry.kind == kind)) or 0)


def _payouts_to(world: World, public_key: str) -> list[str]:
    app = world.env.peer.app.public_key
    ops = world.env.horizon.iter_payments(public_key)
    return [op.transaction_hash for op in ops if op.from_address == app]


@pytest.mark.parametrize("point", POINTS)
def test_a_crash_at_each_step_pays_and_burns_once(fresh_db: Db, chain: Chain, peer: Peer, point: str) -> None:
    world = make_world(fresh_db, chain, peer)
    order = world.paid(8 * PI)
    sen = order.payment.idr_amount // 2
    world.refund(order, sen)
    supply, before = chain.supply(), world.pi_of(order)

    with pytest.raises(CrashError):
        world.service(_crash_at(point)).run_once()  # type: ignore[arg-type]

    (payback,) = world.paybacks(order)
    assert payback.status not in (B.COMPLETED, B.FAILED)
    assert world.check()[0], f"reconciliation broken after a crash at {point}"

    report = world.service().run_once()  # a new process

    (done,) = world.paybacks(order)
    assert report.completed == [done.id] and done.status == B.COMPLETED
    assert world.pi_of(order) == before + done.pi_amount
    assert _payouts_to(world, order.user.public_key) == [done.txid]
    assert chain.supply() == supply - sen
    assert (_entries(world, "payback_pi_paid"), _entries(world, "payback_burned")) == (1, 1)
    assert world.owed() == 0 and world.check() == (True, 0, 0, 0) and world.burns_booked()
    assert world.env.platform.get_payment(done.pi_payment_id or "").status.developer_completed
    world.env.close()
