"""The in-process runner's sweep enqueues ``escrow.book_outcomes`` beside the release step (as Celery
beat does), and the task skips cleanly in a process with no deployed escrow."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from common.sql.engine import create_engine_from_url, make_sessionmaker
from common.sql.migrate import upgrade
from settlement.workers import steps
from settlement.workers.assembly import base_context
from settlement.workers.inprocess import InProcessRunner
from settlement.workers.settings import WorkerSettings
from settlement.workers.steps import FollowUp
from tests.api.support import Db


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Db]:
    url = f"sqlite:///{tmp_path / 'sweep.sqlite3'}"
    upgrade(url)
    engine = create_engine_from_url(url)
    yield Db("sqlite", url, engine, make_sessionmaker(engine))
    engine.dispose()


class _Releaser:
    """A releaser with nothing due."""

    def __init__(self) -> None:
        self.runs = 0

    def run_once(self) -> int:
        self.runs += 1
        return 0


def test_the_sweep_enqueues_the_escrow_books_beside_the_release(
    db: Db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MSC_ESCROW_BOOKS_ESCROW", raising=False)
    monkeypatch.setenv("MSC_DEPLOYMENTS_DIR", str(tmp_path))  # no deployment file here
    settings = WorkerSettings.from_env({})
    bare = base_context(db.sessions, settings)
    assert FollowUp(steps.BOOK_OUTCOMES) not in steps.sweep(bare).follow_ups  # no chain: neither
    ctx = base_context(db.sessions, settings)
    releaser = _Releaser()
    ctx.releaser = releaser
    assert {FollowUp(steps.RELEASE), FollowUp(steps.BOOK_OUTCOMES)} <= set(steps.sweep(ctx).follow_ups)

    with InProcessRunner(ctx, settings.retry_policy(), 1) as runner:
        assert runner.enqueue(steps.SWEEP)
        assert runner.drain(30)
        outcomes = {o.name: o for o in runner.outcomes}

    books = outcomes[steps.BOOK_OUTCOMES]
    assert books.result is not None and books.error is None, books
    assert books.result.outcome.startswith("skipped: no escrow to follow")
    assert outcomes[steps.RELEASE].result is not None and releaser.runs == 1
