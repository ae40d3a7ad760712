"""MSC the escrow pays back to the payer of record (the settlement key) is MSC owed to customers:
the settlement account's books count it, so reconciliation passes after a refund (booked, or still
only in the mirror above the books' cursor), and the minter never spends it on the next batch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from audit.reconcile.chainview import ChainView
from audit.reconcile.checks import settlement_account_balance_booked
from settlement.minting.minter import EscrowMinter
from tests.settlement.escrowbooks.support import WINDOW, Scene, make_scene
from tests.settlement.minting.support import (
    Chain,
    Db,
    amounts,
    make_pending,
    merchant_map,
    open_db,
    resolver,
)

ANVIL_PORT = 8789


@pytest.fixture(params=("sqlite", "postgresql"))
def fresh_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Db]:
    """A database of this test alone: the settlement key's books hold nothing of other tests."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'owed.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_schema_factory")()
    database = open_db(str(request.param), url)
    yield database
    database.engine.dispose()


def _check(scene: Scene) -> tuple[bool, int, int, int]:
    """The check on the settlement key at the head: (ok, books' least figure, in flight, balance)."""
    chain = scene.chain
    view = ChainView(chain.platform, int(chain.w3.eth.block_number))
    with scene.db.engine.connect() as conn:
        (result,) = [
            r for r in settlement_account_balance_booked(conn, view) if r.subject == chain.depositor.address
        ]
    return result.ok, result.expected, int(result.details["in_flight"]), result.actual


def test_refunds_to_the_settlement_key_are_booked_owed_and_never_minted_over(
    fresh_db: Db, chain: Chain
) -> None:
    scene = make_scene(fresh_db, chain, merchant_map(2), 4)
    p, amount = scene.ids, {pid: a for pid, (_, a) in scene.info.items()}
    depositor = chain.depositor.address
    assert chain.balance(depositor) == 0
    scene.refund(p[0], amount[p[0]])  # a merchant's full refund
    scene.refund(p[1], 700)  # a partial one
    scene.dispute(p[2])
    scene.resolve(p[2], 40_000)  # the payer's share of the arbiter's split
    scene.dispute(p[3])
    chain.advance(WINDOW + 1)
    scene.resolve_expired(p[3])  # a dispute decided by default: all back to the payer
    owed = amount[p[0]] + 700 + (amount[p[2]] - 40_000) + amount[p[3]]
    assert chain.balance(depositor) == owed

    # In the mirror, not booked yet (within the books' confirmation depth): in flight.
    scene.index()
    ok, books, in_flight, balance = _check(scene)
    assert (ok, books, in_flight, balance) == (True, 0, owed, owed)

    # Booked: the books' figure is the MSC owed to customers.
    assert scene.booker().run_once().total == 4
    assert _check(scene) == (True, owed, 0, owed)

    # The next batch is minted in full: the MSC owed to customers is not deposit money.
    more = make_pending(fresh_db.sessions, list(scene.merchants), 3)
    need = sum(a for _, a in amounts(fresh_db.sessions, more).values())
    minter = EscrowMinter(
        fresh_db.sessions,
        chain.platform,
        chain.sender(chain.depositor),
        merchant_addresses=resolver(scene.merchants),
    )
    report = minter.run_once()
    assert (report.completed, report.minted) == (3, need)
    assert chain.balance(depositor) == owed
    scene.index()
    assert scene.booker().run_once().total == 0
    assert _check(scene) == (True, owed, 0, owed)

    # MSC on the key beyond what is owed is still caught.
    chain.sender(chain.depositor).transact(chain.platform.msc.functions.mint(depositor, 1))
    scene.index()
    assert _check(scene) == (False, owed, 0, owed + 1)
