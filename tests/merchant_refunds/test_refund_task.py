"""The worker's ``refunds.resume`` task: registered, enqueued by the sweep beside the release, built
from the environment, and it finishes a refund a crash left under way, once."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from chain.signer import dev_private_key
from merchant_refunds.models import RefundState
from settlement.workers import steps, tasks
from settlement.workers.context import WorkerContext
from settlement.workers.locking import StepLocks
from settlement.workers.steps import FollowUp
from tests.merchant_refunds.support import RELAYER, SimulatedCrashError, crash_at, refund_scene
from tests.settlement.minting.support import Chain, Db

ANVIL_PORT = 8823


class _Releaser:
    def run_once(self) -> int:
        return 0


def test_the_task_is_registered_and_swept_beside_the_release(sqlite_db: Db) -> None:
    assert steps.REFUNDS_RESUME in tasks.TASKS
    ctx = WorkerContext(sqlite_db.sessions, StepLocks(sqlite_db.engine))
    assert FollowUp(steps.REFUNDS_RESUME) not in steps.sweep(ctx).follow_ups  # no chain here
    ctx.releaser = _Releaser()  # type: ignore[assignment]
    assert FollowUp(steps.REFUNDS_RESUME) in steps.sweep(ctx).follow_ups


def test_the_task_resumes_a_crashed_refund_from_the_environment(
    sqlite_db: Db, chain: Chain, monkeypatch: pytest.MonkeyPatch
) -> None:
    master = os.urandom(32)
    s = refund_scene(sqlite_db, chain, count=1, observer=crash_at("signed"), master_key=master)
    payment = s.ids[0]
    with pytest.raises(SimulatedCrashError):
        s.service.submit(s.ask(payment, 7_000))
    nonce = s.relayer_nonce()
    folder: Path = chain.deployment_file.parent
    for name, value in {
        "MSC_RPC_URL": chain.w3.provider.endpoint_uri,  # type: ignore[attr-defined]
        "MSC_DEPLOYMENTS_DIR": str(folder),
        "MSC_NETWORK": chain.deployment_file.stem,
        "MSC_SIGNER_KEY": dev_private_key(RELAYER),
        "MSC_CUSTODY_MASTER_KEY": base64.b64encode(master).decode(),
    }.items():
        monkeypatch.setenv(name, value)
    ctx = WorkerContext(sqlite_db.sessions, StepLocks(sqlite_db.engine))

    first = tasks.run(ctx, steps.REFUNDS_RESUME, ())
    again = tasks.run(ctx, steps.REFUNDS_RESUME, ())

    assert first.outcome == "refunds: 1 advanced, 0 waiting"
    assert again.outcome == "refunds: 0 advanced, 0 waiting"
    [refund] = s.service.refunds_of(sqlite_db.sessions(), s.merchant, payment)
    assert refund.state == RefundState.CONFIRMED
    assert s.record(payment)[0] == s.amount(payment) - 7_000
    assert s.relayer_nonce() == nonce + 1


def test_the_task_skips_without_a_signer(sqlite_db: Db, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MSC_SIGNER_KEY", raising=False)
    monkeypatch.delenv("MSC_KEYSTORE_PATH", raising=False)
    ctx = WorkerContext(sqlite_db.sessions, StepLocks(sqlite_db.engine))
    assert tasks.run(ctx, steps.REFUNDS_RESUME, ()).outcome.startswith("skipped: refunds need")
