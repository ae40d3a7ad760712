"""A minter process killed with SIGKILL at each step, then restarted: every payment is minted
into escrow exactly once, nothing is minted twice, and the ledger equals the chain."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid

import pytest
from sqlalchemy import select

from chain.settings import PROJECT_ROOT
from settlement.minting.ids import escrow_payment_id
from settlement.minting.minter import EscrowMinter
from settlement.minting.models import MintBatch
from tests.settlement.minting.support import (
    Chain,
    Db,
    amounts,
    ledger_balanced,
    ledger_in_escrow,
    make_pending,
    merchant_map,
    resolver,
    statuses,
)

ANVIL_PORT = 8711
CHILD = PROJECT_ROOT / "tests" / "settlement" / "minting" / "crash_child.py"
COUNT, CHUNK = 30, 12  # three depositBatch transactions per batch


def run_child(db: Db, chain: Chain, merchants: dict[str, str], kill_at: str) -> int:
    config = {
        "db_url": db.url,
        "rpc_url": chain.w3.provider.endpoint_uri,  # type: ignore[attr-defined]
        "deployment": str(chain.deployment_file),
        "merchants": merchants,
        "kill_at": kill_at,
        "max_batch": COUNT,
        "chunk": CHUNK,
    }
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    proc = subprocess.run(
        [sys.executable, str(CHILD), json.dumps(config)], cwd=PROJECT_ROOT, env=env, timeout=180, check=False
    )
    return proc.returncode


def sorted_amounts(db: Db, ids: list[uuid.UUID]) -> list[int]:
    """Amounts in the order the minter deposits them (by escrow id)."""
    info = amounts(db.sessions, ids)
    return [info[p][1] for p in sorted(ids, key=lambda p: escrow_payment_id(p).hex())]


@pytest.mark.parametrize("kill_at", ["recorded", "minted", "deposit_sent", "deposited"])
def test_a_killed_minter_resumes_and_mints_each_payment_exactly_once(
    pg_db: Db, chain: Chain, kill_at: str
) -> None:
    merchants = merchant_map(2)
    ids = make_pending(pg_db.sessions, list(merchants), COUNT)
    total = sum(a for _, a in amounts(pg_db.sessions, ids).values())

    assert run_child(pg_db, chain, merchants, kill_at) == -signal.SIGKILL
    # What the killed process left behind.
    assert statuses(pg_db.sessions, ids) == {"pending_stellar": COUNT}
    assert chain.supply() == (0 if kill_at == "recorded" else total)
    first_chunk = sum(sorted_amounts(pg_db, ids)[:CHUNK])  # killed after the first depositBatch
    escrowed = {"deposited": total, "deposit_sent": first_chunk}.get(kill_at, 0)
    assert chain.escrowed() == escrowed

    restarted = EscrowMinter(
        pg_db.sessions,
        chain.platform,
        chain.sender(chain.depositor),
        merchant_addresses=resolver(merchants),
        deposit_chunk=CHUNK,
    )
    report = restarted.run_once(COUNT)

    assert report.claimed == 0 and report.completed == COUNT  # the open batch was resumed
    assert report.minted == (total if kill_at == "recorded" else 0)  # never minted twice
    assert report.found_in_escrow == {"deposited": COUNT, "deposit_sent": CHUNK}.get(kill_at, 0)
    if kill_at == "deposited":
        assert report.tx_hashes == []  # nothing resent: the chain already held every payment
    assert statuses(pg_db.sessions, ids) == {"completed": COUNT}
    assert chain.supply() == chain.escrowed() == total  # supply == deposits; no idle balance left
    assert chain.balance(chain.depositor.address) == 0
    assert ledger_in_escrow(pg_db.sessions, merchants) == total
    assert ledger_balanced(pg_db.sessions)
    with pg_db.sessions() as session:
        batches = list(session.scalars(select(MintBatch).where(MintBatch.id.in_(report.batches))))
    # The mint is written ahead (signed and committed before it is broadcast): killed after its
    # receipt, the batch still knows it, and the restart found that same transaction mined.
    assert [(b.state, b.minted_amount, b.mint_raw_tx) for b in batches] == [("completed", total, None)]
    assert restarted.run_once(COUNT).tx_hashes == []
