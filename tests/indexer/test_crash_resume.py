"""Crash safety and handover: SIGKILLed backfills resume to the same mirror; backfill hands over
to live follow with neither gap nor duplicate."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from chain.localnode import AnvilNode
from chain.settings import PROJECT_ROOT
from common.sql.engine import create_engine_from_url
from indexer.store import CHECKPOINTS
from indexer.verify import verify_range
from tests.indexer.support import BUILD_DIR, Chain, Traffic, assert_exact, deploy, dump, index, pipeline_for

PORT = 8621


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    with AnvilNode(port=PORT) as node:
        c = deploy(node.url, Path(tmp_path_factory.mktemp("crash")))
        Traffic(c, seed=21).blocks(120, 12)
        yield c


def _backfill(url: str, chain: Chain) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        {
            "MSC_INDEXER_DATABASE_URL": url,
            "MSC_INDEXER_RPC_URL": chain.url,
            "MSC_INDEXER_DEPLOYMENT_FILE": str(chain.deployment_file),
            "MSC_INDEXER_BUILD_DIR": str(BUILD_DIR),
            "MSC_INDEXER_INITIAL_SPAN": "2",
            "MSC_INDEXER_MAX_SPAN": "2",
        }
    )
    return subprocess.Popen(
        [sys.executable, "-m", "indexer", "--no-progress", "backfill"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _checkpoint(engine) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(select(CHECKPOINTS.c.block_number)).scalar() or 0


def test_sigkilled_backfills_finish_with_the_uninterrupted_mirror(chain, make_db, backend):
    url = make_db(backend)
    engine = create_engine_from_url(url)
    head = chain.head()
    span = head - chain.deploy_block
    for fraction in (0.2, 0.45, 0.7):
        proc = _backfill(url, chain)
        deadline = time.monotonic() + 60
        while _checkpoint(engine) < chain.deploy_block + fraction * span and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            time.sleep(0.02)
        time.sleep(0.013)  # land inside the next range's fetch or write
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert _checkpoint(engine) < head
    proc = _backfill(url, chain)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    reference = index(make_db(backend), chain)
    assert dump(engine) == dump(reference.engine)
    assert assert_exact(engine, chain) == head
    engine.dispose()


def test_backfill_hands_over_to_follow_without_gap_or_duplicate(chain, make_db, backend):
    url = make_db(backend)
    traffic = Traffic(chain, seed=22)
    traffic.resync()
    done = threading.Event()

    def produce() -> None:
        try:
            for _ in range(15):
                traffic.blocks(1, 8)
                time.sleep(0.03)
        finally:
            done.set()

    producer = threading.Thread(target=produce)
    producer.start()
    pipeline = pipeline_for(url, chain, initial_span=3, max_span=6)
    pipeline.run(follow=False)  # backfill: stops once caught up with the head it saw
    final_head: list[int] = []

    def should_stop() -> bool:
        if done.is_set() and not final_head:
            final_head.append(chain.head())
        return bool(final_head) and pipeline.checkpoint().block_number >= final_head[0]

    pipeline.run(follow=True, should_stop=should_stop)
    producer.join()
    reference = index(make_db(backend), chain)
    assert dump(pipeline.engine) == dump(reference.engine)
    assert assert_exact(pipeline.engine, chain) == chain.head()
    assert (
        verify_range(pipeline.engine, pipeline.rpc, pipeline.registry, chain.deploy_block, chain.head()) == []
    )
