"""Publishing on a real chain (anvil): write-ahead resume without a second publish, the CLI, and
docs/verify_liabilities.py accepting a real proof and rejecting tampered ones (exit status 1)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3

import audit.liabilities.publish as publish_module
from audit.cli import main as audit_main
from audit.liabilities.models import LiabilitySnapshot
from audit.liabilities.publish import Attester, publish_period
from audit.liabilities.service import get_snapshot, merchant_proof, take_snapshot
from chain.deploy import DeployPlan, deploy_platform
from chain.localnode import AnvilNode
from chain.platform import Platform
from chain.settings import PROJECT_ROOT
from chain.signer import Signer, dev_private_key
from common.sql.engine import create_engine_from_url, make_sessionmaker
from common.sql.migrate import upgrade
from indexer.cli import build_pipeline
from indexer.settings import IndexerSettings
from indexer.store import DECODED
from settlement.ledger import chart
from settlement.ledger.models import Currency
from settlement.ledger.service import EntryDraft, credit, debit, post
from tests.settlement.ledger.support import unique

PORT = 8851
BUILD = PROJECT_ROOT / "build"
VERIFIER = PROJECT_ROOT / "docs" / "verify_liabilities.py"
SECRET = "liabilities-chain-test-secret-0123456789"
RESERVES = 10**12


class CrashError(Exception):
    """Stands for the process dying at this point."""


@dataclass
class World:
    w3: Web3
    platform: Platform
    attester: Attester
    sessions: sessionmaker[Session]
    url: str
    deployment_file: Path


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with AnvilNode(port=PORT) as node:
        w3 = Web3(Web3.HTTPProvider(node.url))
        deployer = w3.eth.accounts[0]
        out = tmp_path / "development.json"
        platform = Platform(w3, deploy_platform(w3, BUILD, DeployPlan(deployer), out), BUILD)
        platform.msc.functions.attestReserves(RESERVES, "TEST/RESERVES/1").transact({"from": deployer})
        url = f"sqlite:///{tmp_path / 'books.sqlite3'}"
        upgrade(url)
        engine = create_engine_from_url(url)
        attester = Attester(w3, platform.contract("LiabilityAttestation"), Signer.dev(0), platform.decoder)
        yield World(w3, platform, attester, make_sessionmaker(engine), url, out)
        engine.dispose()


def _owe(world: World, merchant: str, amount: int) -> None:
    with world.sessions.begin() as s:
        post(
            s,
            EntryDraft(
                idempotency_key=unique("k"),
                currency=Currency.IDR,
                kind="test",
                legs=(
                    debit(chart.FX_CONVERSION_IDR, amount),
                    credit(chart.idr_owed_to_merchant(merchant), amount),
                ),
            ),
        )


def _events(world: World) -> list[Any]:
    return list(world.attester.contract.events.LiabilitiesAttested.get_logs(from_block=0))


@pytest.mark.parametrize("after_send", [False, True])
def test_publish_resumesAfterCrash_withoutASecondPublish(
    world: World, monkeypatch: pytest.MonkeyPatch, after_send: bool
) -> None:
    for m, amount in (("m-a", 1_000), ("m-b", 2_500), ("m-c", 7)):
        _owe(world, m, amount)
    real = publish_module.rawtx.broadcast

    def crashing(w3: Web3, call: Any, timeout_s: float = 120.0) -> Any:
        if after_send:
            real(w3, call, timeout_s)
        raise CrashError

    monkeypatch.setattr(publish_module.rawtx, "broadcast", crashing)
    with pytest.raises(CrashError):
        publish_period(world.sessions, world.attester, "2026-11", SECRET.encode())
    with world.sessions() as s:
        stored = get_snapshot(s, "2026-11")
        assert stored.status == "signed" and stored.raw_tx is not None
        signed_hash = stored.tx_hash
    assert len(_events(world)) == (1 if after_send else 0)

    monkeypatch.setattr(publish_module.rawtx, "broadcast", real)
    _owe(world, "m-late", 5)  # posted after the cut: not in this period's tree
    done = publish_period(world.sessions, world.attester, "2026-11", SECRET.encode())
    assert (done.total, done.leaf_count, done.tx_hash) == (3_507, 3, signed_hash)
    events = _events(world)
    assert len(events) == 1 and events[0]["args"]["total"] == 3_507
    assert "0x" + events[0]["args"]["root"].hex() == done.root
    block = world.w3.eth.block_number
    assert publish_period(world.sessions, world.attester, "2026-11", SECRET.encode()) == done
    assert world.w3.eth.block_number == block  # nothing sent again
    with world.sessions() as s:
        assert s.get_one(LiabilitySnapshot, stored.id).raw_tx is None


def _run_verifier(world: World, proof: dict[str, Any], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / f"proof-{unique('p')}.json"
    path.write_text(json.dumps(proof))
    return subprocess.run(
        [
            sys.executable,
            str(VERIFIER),
            str(path),
            "--rpc-url",
            f"http://127.0.0.1:{PORT}",
            "--attestation",
            world.attester.contract.address,
            "--msc",
            world.platform.msc.address,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cliPublishesAndTheVerifierChecksTheProof(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for m, amount in (("m-a", 1_000), ("m-b", 2_500), ("m-c", 7), ("m-d", 40)):
        _owe(world, m, amount)
    for name, value in {
        "MSC_AUDIT_DATABASE_URL": world.url,
        "MSC_AUDIT_RPC_URL": f"http://127.0.0.1:{PORT}",
        "MSC_AUDIT_DEPLOYMENT_FILE": str(world.deployment_file),
        "MSC_SIGNER_KEY": dev_private_key(0),
        "MSC_LIABILITIES_SALT_SECRET": SECRET,
    }.items():
        monkeypatch.setenv(name, value)
    assert audit_main(["liabilities", "publish", "--period", "2026-11"]) == 0
    published = json.loads(capsys.readouterr().out)
    assert (published["total"], published["leaves"]) == ("3547", 4)
    assert audit_main(["liabilities", "proof", "m-b", "--period", "2026-11"]) == 0
    proof = json.loads(capsys.readouterr().out)
    assert proof["amounts"]["credited_not_minted"] == 2_500 and proof["published"] is True
    assert SECRET not in json.dumps(proof)

    ok = _run_verifier(world, proof, tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith("OK")

    tampered = json.loads(json.dumps(proof))
    tampered["amounts"]["credited_not_minted"] = 2_400
    wrong_total = json.loads(json.dumps(proof))
    wrong_total["siblings"][0]["sum"] = str(int(wrong_total["siblings"][0]["sum"]) + 1)
    _owe(world, "m-other", 99)
    with world.sessions.begin() as s:
        take_snapshot(s, "2026-12", SECRET.encode(), world.w3.eth.block_number)
    with world.sessions() as s:
        other_tree = merchant_proof(s, "2026-12", "m-other", SECRET.encode()).to_json()
    other_tree["period"] = "2026-11"
    for bad, why in ((tampered, "leaf"), (wrong_total, "total"), (other_tree, "root")):
        result = _run_verifier(world, bad, tmp_path)
        assert result.returncode == 1, result.stdout
        assert "FAIL" in result.stdout and why in result.stdout


def test_verifierFails_whenReservesDoNotCoverSupplyPlusLiabilities(world: World, tmp_path: Path) -> None:
    _owe(world, "m-huge", RESERVES + 1)
    done = publish_period(world.sessions, world.attester, "2026-11", SECRET.encode())
    assert done.total == RESERVES + 1
    with world.sessions() as s:
        proof = merchant_proof(s, "2026-11", "m-huge", SECRET.encode()).to_json()
    result = _run_verifier(world, proof, tmp_path)
    assert result.returncode == 1 and "reserves" in result.stdout


def test_theIndexerMirrorsThePublishedPeriod(world: World) -> None:
    _owe(world, "m-a", 500)
    done = publish_period(world.sessions, world.attester, "2026-11", SECRET.encode())
    settings = IndexerSettings(
        database_url=world.url,
        rpc_url=f"http://127.0.0.1:{PORT}",
        deployment_file=world.deployment_file,
        build_dir=BUILD,
        rpc_backoff_s=0.01,
    )
    build_pipeline(settings).run(follow=False)
    engine = create_engine_from_url(world.url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(DECODED.c.contract, DECODED.c.tx_hash, DECODED.c.args).where(
                    DECODED.c.event == "LiabilitiesAttested"
                )
            ).all()
    finally:
        engine.dispose()
    assert len(rows) == 1
    contract, tx_hash, args = rows[0]
    assert (contract, tx_hash) == ("LiabilityAttestation", done.tx_hash)
    assert int(args["period"]) == 202611 and int(args["total"]) == 500


def test_writtenSnapshotAlreadyOnChain_isConfirmedFromTheEvent_notSentAgain(world: World) -> None:
    _owe(world, "m-a", 321)
    done = publish_period(world.sessions, world.attester, "2026-11", SECRET.encode())
    with world.sessions.begin() as s:  # as if the broadcast's answer was lost and the row reset
        snapshot = get_snapshot(s, "2026-11")
        snapshot.status, snapshot.tx_hash = "written", None
    block = world.w3.eth.block_number
    again = publish_period(world.sessions, world.attester, "2026-11", SECRET.encode())
    assert again == done and again.tx_hash is not None
    assert world.w3.eth.block_number == block and len(_events(world)) == 1
