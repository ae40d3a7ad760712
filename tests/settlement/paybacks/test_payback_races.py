"""Two processes record and step pay-backs at the same time (PostgreSQL, where processes really
run side by side): each refund entry gets one pay-back, the parts of a payment still never add up
to more Pi than it brought, and the customer is paid and the MSC burned once per entry."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from settlement.paybacks.models import PaybackStatus as B
from tests.settlement.flow.support import PI, Peer
from tests.settlement.ledger.support import Db
from tests.settlement.minting.support import Chain
from tests.settlement.paybacks.support import make_world

ANVIL_PORT = 8834


def test_concurrent_runs_pay_each_entry_once(fresh_db: Db, chain: Chain, peer: Peer) -> None:
    if fresh_db.backend != "postgresql":
        pytest.skip("SQLite serialises its writers: the race needs PostgreSQL")
    world = make_world(fresh_db, chain, peer)
    order = world.paid(9 * PI)
    credited = order.payment.idr_amount
    parts = [credited // 7, credited // 3, credited - credited // 7 - credited // 3]
    for sen in parts:
        world.refund(order, sen)
    supply, before = chain.supply(), world.pi_of(order)
    services = [world.service() for _ in range(2)]

    with ThreadPoolExecutor(2) as pool:
        created = sum(pool.map(lambda s: s.discover(), services))
    assert created == 3
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda s: s.run_once(), services))
    for _ in range(3):  # what waited for the other's wallet slot or Pi payment finishes now
        world.service().run_once()

    paybacks = world.paybacks(order)
    assert sorted(p.msc_amount for p in paybacks) == sorted(parts)
    assert [p.status for p in paybacks] == [B.COMPLETED] * 3, [(p.status, p.error_reason) for p in paybacks]
    assert sum(p.pi_amount for p in paybacks) == order.payment.pi_amount
    assert world.pi_of(order) == before + order.payment.pi_amount
    assert chain.supply() == supply - credited
    assert world.check() == (True, 0, 0, 0) and world.burns_booked()
    world.env.close()
