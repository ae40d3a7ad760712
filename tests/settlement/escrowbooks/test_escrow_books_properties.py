"""Property: after any sequence of escrow outcomes on a real chain, booked from the mirror, the books
equal the chain (each merchant's escrow account == its open payments; the guarantee fund) and every
``escrow_books_*`` reconciliation figure holds. A fresh database per example, so its books hold only
this example's chain."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from web3 import Web3

from audit.reconcile.chainview import ChainView
from audit.reconcile.checks import escrow_books_match_mirror, escrow_ledger_matches_chain
from indexer.models import Checkpoint
from settlement.ledger import chart
from settlement.ledger.service import balance_of
from settlement.minting.ids import escrow_payment_id
from tests.settlement.escrowbooks.support import HOLD, WINDOW, Scene, make_scene
from tests.settlement.minting.support import deploy, ledger_balanced, merchant_map, open_db

ANVIL_PORT = 8788
EXAMPLES = 12 if os.environ.get("CI") == "true" else 3
HELD, DISPUTED, RELEASED = 1, 2, 3

ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(
            ["refund", "dispute", "resolve", "expire", "release", "wait", "cover", "fund", "withdraw"]
        ),
        st.integers(0, 3),
        st.integers(1, 100),
    ),
    min_size=1,
    max_size=12,
)


def _apply(scene: Scene, action: str, index: int, percent: int) -> None:
    """Does ``action`` on payment ``index`` if the escrow allows it now (else nothing)."""
    pid = scene.ids[index]
    record = scene.chain.platform.escrow.functions.getPayment(escrow_payment_id(pid)).call()
    amount, status, covered = int(record[1]), int(record[5]), int(record[6])
    share = max(1, amount * percent // 100)
    _, fund = scene.chain.platform.escrow.functions.totals().call()
    if action == "refund" and status in (HELD, DISPUTED):
        scene.refund(pid, min(share, amount))
    elif action == "dispute" and status == HELD:
        scene.dispute(pid)
    elif action == "resolve" and status == DISPUTED:
        deadline = int(record[4])
        if scene.chain.w3.eth.get_block("latest")["timestamp"] + 1 < deadline:
            scene.resolve(pid, min(share, amount) if percent < 100 else amount)
    elif action == "expire" and status == DISPUTED:
        scene.chain.advance(WINDOW + 1)
        scene.resolve_expired(pid)
    elif action == "release" and status == HELD:
        scene.chain.advance(HOLD + 1)
        scene.release(pid)
    elif action == "wait":
        scene.chain.advance(percent * 60)
    elif action == "fund":
        scene.fund_guarantee(percent * 1_000)
    elif action == "cover" and status == RELEASED and fund > 0 and amount > covered:
        scene.cover(pid, min(share, amount - covered, fund))
    elif action == "withdraw" and fund > 0:
        scene.withdraw_guarantee(max(1, fund * percent // 100))


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(actions=ACTIONS)
def test_after_any_outcomes_the_books_equal_the_chain(w3: Web3, tmp_path: Path, actions: list) -> None:  # type: ignore[type-arg]
    folder = tmp_path / uuid.uuid4().hex[:8]
    folder.mkdir()
    db = open_db("sqlite", f"sqlite:///{folder / 'books.sqlite3'}")
    try:
        chain = deploy(w3, folder)
        merchants = merchant_map(2)
        scene = make_scene(db, chain, merchants, 4)
        for action in actions:
            _apply(scene, *action)
        scene.index()
        scene.booker().run_once()

        escrow = chain.platform.escrow
        with db.sessions() as session:
            for merchant_id, _ in merchants.items():
                open_amount = 0
                for pid, (m, _) in scene.info.items():
                    record = escrow.functions.getPayment(escrow_payment_id(pid)).call()
                    if m == merchant_id and int(record[5]) in (HELD, DISPUTED):
                        open_amount += int(record[1])
                assert balance_of(session, chart.msc_minted_to_escrow(merchant_id)) == open_amount
            assert balance_of(session, chart.GUARANTEE_FUND) == escrow.functions.totals().call()[1]
            block = session.scalar(select(Checkpoint.block_number).where(Checkpoint.stream == scene.stream))
        assert ledger_balanced(db.sessions)
        assert block is not None
        view = ChainView(chain.platform, block)
        with db.engine.connect() as conn:
            results = escrow_books_match_mirror(conn, view) + escrow_ledger_matches_chain(conn, view)
        assert all(r.ok for r in results), [r.to_dict() for r in results if not r.ok]
    finally:
        db.engine.dispose()
