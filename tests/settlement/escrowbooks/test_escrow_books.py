"""The books follow every escrow outcome on a real anvil, whoever caused it: merchants' refunds (whole
and partial), the arbiter's split, a dispute decided by default, releases by anyone, the guarantee
fund's cover, funding and withdrawal. Each is booked once with its exact amounts; a second run, a
replay from the start, a crash mid-run and the releaser booking the same release add nothing."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import update
from web3 import Web3

from chain.signer import Signer
from settlement.escrowbooks import service as books_service
from settlement.escrowbooks.tasks import BOOK_OUTCOMES
from settlement.ledger import chart
from settlement.ledger.models import EscrowBooksCursor
from settlement.minting.releaser import EscrowReleaser
from settlement.workers import tasks
from settlement.workers.context import WorkerContext
from settlement.workers.locking import StepLocks
from tests.settlement.escrowbooks.support import WINDOW, Scene, by_kind, make_scene
from tests.settlement.minting.support import Chain, Db, ledger_balanced, merchant_map

ANVIL_PORT = 8787

ESCROW = "msc_minted_to_escrow:"
BALANCE = "msc_merchant_balance:"
OWED = chart.CUSTOMER_REFUNDS_OWED.code
FUND = chart.GUARANTEE_FUND.code
CONTRIBUTIONS = chart.GUARANTEE_FUND_CONTRIBUTIONS.code


def _every_outcome(scene: Scene) -> dict[uuid.UUID, int]:
    """One payment per outcome (p6 stays held); returns each payment's amount."""
    p, amount = scene.ids, {pid: a for pid, (_, a) in scene.info.items()}
    scene.refund(p[0], 300)  # partial refund, released later: 300 less is released
    scene.refund(p[1], amount[p[1]])  # full refund
    scene.dispute(p[2])
    scene.resolve(p[2], 40_000)  # the arbiter's split
    scene.dispute(p[3])  # left to expire: decided by default
    scene.dispute(p[5])
    scene.refund(p[5], 1_000)  # the merchant refunds part of a disputed payment
    scene.resolve(p[5], amount[p[5]] - 1_000)  # the arbiter gives the merchant the rest
    scene.chain.advance(WINDOW + 1)
    scene.resolve_expired(p[3])
    scene.release(p[0])
    scene.release(p[4])
    scene.fund_guarantee(50_000)
    scene.cover(p[4], 10_000)
    scene.withdraw_guarantee(5_000)
    return amount


def _foreign_refund(chain: Chain) -> None:
    """A deposit under an id that is no settlement payment, refunded: nothing of it is in the books."""
    send, escrow, msc = chain.sender(chain.depositor), chain.platform.escrow, chain.platform.msc
    shop, customer = Signer.dev(5), Signer.dev(6)
    send.transact(msc.functions.mint(chain.depositor.address, 5_000))
    send.transact(msc.functions.approve(escrow.address, 5_000))
    key = Web3.keccak(text=f"foreign-{uuid.uuid4()}")
    send.transact(escrow.functions.deposit(key, shop.address, customer.address, 5_000, 0))
    chain.sender(shop).transact(escrow.functions.refund(key, 5_000))


def _expected(scene: Scene, amount: dict[uuid.UUID, int]) -> list[tuple[str, str | None, dict[str, int]]]:
    p = scene.ids

    def m(pid: uuid.UUID) -> str:
        return scene.info[pid][0]

    a = amount
    return [
        ("escrow_refund", str(p[0]), {ESCROW + m(p[0]): 300, OWED: -300}),
        ("escrow_refund", str(p[1]), {ESCROW + m(p[1]): a[p[1]], OWED: -a[p[1]]}),
        (
            "escrow_split",
            str(p[2]),
            {ESCROW + m(p[2]): a[p[2]], BALANCE + m(p[2]): -40_000, OWED: -(a[p[2]] - 40_000)},
        ),
        ("escrow_refund", str(p[5]), {ESCROW + m(p[5]): 1_000, OWED: -1_000}),
        (
            "escrow_split",
            str(p[5]),
            {ESCROW + m(p[5]): a[p[5]] - 1_000, BALANCE + m(p[5]): -(a[p[5]] - 1_000)},
        ),
        ("escrow_default_refund", str(p[3]), {ESCROW + m(p[3]): a[p[3]], OWED: -a[p[3]]}),
        ("release", str(p[0]), {ESCROW + m(p[0]): a[p[0]] - 300, BALANCE + m(p[0]): -(a[p[0]] - 300)}),
        ("release", str(p[4]), {ESCROW + m(p[4]): a[p[4]], BALANCE + m(p[4]): -a[p[4]]}),
        ("guarantee_funded", None, {CONTRIBUTIONS: 50_000, FUND: -50_000}),
        ("guarantee_refund", str(p[4]), {FUND: 10_000, OWED: -10_000}),
        ("guarantee_withdrawn", None, {FUND: 5_000, CONTRIBUTIONS: -5_000}),
    ]


def _assert_books_equal_chain(scene: Scene) -> None:
    """Escrow held and the guarantee fund in this scene's books == the escrow's totals on chain."""
    escrowed, fund = scene.chain.platform.escrow.functions.totals().call()
    assert scene.escrow_in_books() == escrowed
    assert -sum(legs.get(FUND, 0) for _, _, legs in scene.entries()) == fund
    assert ledger_balanced(scene.db.sessions)


def test_each_outcome_is_booked_once_with_its_amounts(db: Db, chain: Chain) -> None:
    scene = make_scene(db, chain, merchant_map(2), 7)
    amount = _every_outcome(scene)
    _foreign_refund(chain)
    scene.index()

    report = scene.booker().run_once()

    assert report.foreign == 1
    assert scene.entries() == _expected(scene, amount)
    assert by_kind(scene.entries()) == {
        "escrow_refund": 3,
        "escrow_split": 2,
        "escrow_default_refund": 1,
        "release": 2,
        "guarantee_funded": 1,
        "guarantee_refund": 1,
        "guarantee_withdrawn": 1,
    }
    assert chain.escrowed() == amount[scene.ids[6]]
    _assert_books_equal_chain(scene)

    # Again, from the stored cursor: nothing to read. From the start: everything read, nothing new.
    assert scene.booker().run_once().read == 0
    with db.sessions.begin() as session:
        session.execute(
            update(EscrowBooksCursor)
            .where(EscrowBooksCursor.escrow == scene.escrow)
            .values(block_number=-1, log_index=-1, block_hash=None)
        )
    replay = scene.booker().run_once()
    assert replay.total == report.total
    assert scene.entries() == _expected(scene, amount)


def test_the_releaser_and_the_books_book_a_partly_refunded_release_once(db: Db, chain: Chain) -> None:
    scene = make_scene(db, chain, merchant_map(1), 2)
    p = scene.ids
    scene.refund(p[0], 700)
    scene.chain.advance(200)
    releaser = EscrowReleaser(db.sessions, chain.platform, chain.sender(chain.redeemer))
    assert releaser.run_once() == 2  # books the release at what the escrow released: 700 less
    scene.index()
    scene.booker().run_once()  # the same releases from the mirror: no conflict, nothing new

    releases = [e for e in scene.entries() if e[0] == "release"]
    merchant = scene.info[p[0]][0]
    assert sorted(r[2][BALANCE + merchant] for r in releases) == sorted(
        [-(scene.info[p[0]][1] - 700), -scene.info[p[1]][1]]
    )
    assert scene.escrow_in_books() == 0 == chain.escrowed()


def test_a_crash_mid_run_books_each_page_whole_or_not_at_all(
    db: Db, chain: Chain, monkeypatch: pytest.MonkeyPatch
) -> None:
    scene = make_scene(db, chain, merchant_map(2), 7)
    amount = _every_outcome(scene)
    scene.index()

    with monkeypatch.context() as patch:

        def killed(*args: object, **kwargs: object) -> None:
            raise RuntimeError("killed while booking a dispute")

        patch.setattr(books_service, "record_dispute_resolution", killed)
        with pytest.raises(RuntimeError, match="killed"):
            scene.booker(page_size=2).run_once()
    # The first page (two refunds) committed; the page holding the split left nothing behind.
    assert [e[0] for e in scene.entries()] == ["escrow_refund", "escrow_refund"]

    scene.booker(page_size=2).run_once()

    assert scene.entries() == _expected(scene, amount)
    _assert_books_equal_chain(scene)


def test_events_within_the_confirmation_depth_wait(db: Db, chain: Chain) -> None:
    scene = make_scene(db, chain, merchant_map(1), 1)
    scene.refund(scene.ids[0], 500)
    scene.index()
    assert scene.booker(confirmations=3).run_once().total == 0
    for _ in range(3):
        chain.advance(1)
    scene.index()
    assert scene.booker(confirmations=3).run_once().total == 1
    assert [e[0] for e in scene.entries()] == ["escrow_refund"]


def test_the_worker_task_books_the_outcomes_once(
    db: Db, chain: Chain, monkeypatch: pytest.MonkeyPatch
) -> None:
    scene = make_scene(db, chain, merchant_map(1), 1)
    scene.refund(scene.ids[0], 500)
    scene.index()
    ctx = WorkerContext(db.sessions, StepLocks(db.engine))
    monkeypatch.setenv("MSC_ESCROW_BOOKS_ESCROW", scene.escrow)
    monkeypatch.setenv("MSC_ESCROW_BOOKS_STREAM", scene.stream)
    monkeypatch.setenv("MSC_ESCROW_BOOKS_CONFIRMATIONS", "0")

    first = tasks.run(ctx, BOOK_OUTCOMES, ())
    again = tasks.run(ctx, BOOK_OUTCOMES, ())

    assert first.outcome.startswith("booked 1 ") and again.outcome.startswith("booked 0 ")
    assert [e[0] for e in scene.entries()] == ["escrow_refund"]


def test_the_worker_task_skips_without_a_deployed_escrow(
    db: Db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MSC_ESCROW_BOOKS_ESCROW", raising=False)
    monkeypatch.setenv("MSC_DEPLOYMENTS_DIR", str(tmp_path))
    ctx = WorkerContext(db.sessions, StepLocks(db.engine))
    assert tasks.run(ctx, BOOK_OUTCOMES, ()).outcome.startswith("skipped: no escrow to follow")
