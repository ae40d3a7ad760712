"""The detector fed by the mirror: export-trades, training, incremental scans, flags and reviews.

One anvil (port 8751) carries the demo's activity, then a three-account MSC cycle, a round trip
between the merchant and its supplier (allow-listed) and two carbon market fills, then 100 days
of silence after which one account of the cycle sends again. Each backend's mirror is indexed
and scanned in three stages (demo; trading, with a model trained on the demo; the wake-up), then
scanned a fourth time with nothing new.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from audit.anomaly import cli as anomaly_cli
from audit.anomaly.config import load_config
from audit.anomaly.csvio import read_trades
from audit.anomaly.detector import detect
from audit.anomaly.flags import CYCLE, DORMANT
from audit.anomaly.model import AnomalyModel
from audit.anomaly.trades import TradeTable
from audit.cli import main
from audit.mirror_trades import load_trades
from audit.reconcile.metrics import AuditMetrics
from audit.scan import ScanReport, ScanSettings, model_version, scan_once
from audit.store.models import AnomalyFlag, AnomalyScan
from chain.localnode import AnvilNode
from chain.signer import Signer
from common.sql.engine import create_engine_from_url
from common.sql.migrate import upgrade
from tests.audit.reconcile.support import (
    World,
    add_dormant_wake,
    add_trading,
    book_settlements,
    build_world,
    index_to,
)

PORT = 8751
A, B, C = (Signer.dev(i).address.lower() for i in (7, 8, 9))
MERCHANT, SUPPLIER = Signer.dev(1).address.lower(), Signer.dev(2).address.lower()


@dataclass
class Scanned:
    """One backend's mirror after the staged scans."""

    url: str
    engine: Engine
    first: ScanReport
    second: ScanReport
    third: ScanReport
    fourth: ScanReport
    model_path: Path
    metrics: AuditMetrics
    folder: Path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, int, int]]:
    with AnvilNode(port=PORT) as node:
        world = build_world(node.url, tmp_path_factory.mktemp("world"))
        trading = add_trading(world)
        wake = add_dormant_wake(world)
        yield world, trading, wake


def _stage(world: World, split: int, wake: int, url: str, folder: Path) -> Scanned:
    upgrade(url)
    engine = create_engine_from_url(url)
    book_settlements(engine)
    config_path = folder / "detector.toml"
    config_path.write_text(f'[allow_list]\npairs = [["{MERCHANT}", "{SUPPLIER}"]]\n', encoding="utf-8")
    settings = ScanSettings(config=load_config(config_path))
    metrics = AuditMetrics()
    index_to(world, url, stop_at=split - 1)
    first = scan_once(engine, settings, metrics=metrics)
    model_path = folder / "model.joblib"
    assert main(["train", "--model-out", str(model_path), "--database-url", url]) == 0
    index_to(world, url, stop_at=wake - 1)
    with_model = ScanSettings(config=settings.config, model_path=model_path)
    second = scan_once(engine, with_model, metrics=metrics)
    index_to(world, url)
    third = scan_once(engine, with_model, metrics=metrics)
    fourth = scan_once(engine, with_model, metrics=metrics)
    return Scanned(url, engine, first, second, third, fourth, model_path, metrics, folder)


@pytest.fixture(scope="module")
def scanned(
    world: tuple[World, int, int],
    tmp_path_factory: pytest.TempPathFactory,
    pg_schema_factory: Callable[[], str],
) -> Iterator[dict[str, Scanned]]:
    chain, split, wake = world
    folder = tmp_path_factory.mktemp("scans")
    (folder / "sqlite").mkdir()
    (folder / "postgresql").mkdir()
    stages = {
        "sqlite": _stage(chain, split, wake, f"sqlite:///{folder / 'mirror.sqlite3'}", folder / "sqlite"),
        "postgresql": _stage(chain, split, wake, pg_schema_factory(), folder / "postgresql"),
    }
    yield stages
    for stage in stages.values():
        stage.engine.dispose()


BACKENDS = pytest.mark.parametrize("backend", ["sqlite", "postgresql"])


@BACKENDS
def test_export_trades_writes_a_csv_the_offline_detector_accepts(
    scanned: dict[str, Scanned], backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stage = scanned[backend]
    out = tmp_path / "trades.csv"
    assert main(["export-trades", "--output", str(out), "--database-url", stage.url]) == 0
    parsed = read_trades(out)
    assert parsed.errors == []
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    kinds = Counter(r["kind"] for r in rows)
    # Demo: 1 escrow payment released + 1 held; 1 burn; carbon: 2 market fills.
    assert kinds["settlement"] == 2
    assert kinds["redemption"] == 1
    assert kinds["carbon_trade"] == 2
    # merchant->supplier, merchant->issuer, the 3-hop cycle, the 2-hop round trip, the wake-up.
    assert kinds["transfer"] == 8
    assert len(parsed.table) == len(rows) == sum(kinds.values())
    fills = [r for r in rows if r["kind"] == "carbon_trade"]
    assert {(r["amount"], r["price"], r["receiver"]) for r in fills} == {("10", "5000000", A)}
    redemption = next(r for r in rows if r["kind"] == "redemption")
    assert redemption["amount"] == "500000"
    flags_csv = tmp_path / "flags.csv"
    assert anomaly_cli.main(["detect", "--input", str(out), "--output", str(flags_csv)]) == 0
    flagged = list(csv.DictReader(flags_csv.open(encoding="utf-8")))
    assert {r["anomaly"] for r in flagged} >= {CYCLE, DORMANT}
    assert "detect: 13 trades read, 0 bad row(s) skipped" in capsys.readouterr().out


@BACKENDS
def test_scans_cover_each_block_once_and_store_the_cycle_flag(
    scanned: dict[str, Scanned], backend: str
) -> None:
    stage = scanned[backend]
    first, second, third, fourth = stage.first, stage.second, stage.third, stage.fourth
    assert first.scan_id is not None and first.from_block == 0
    assert second.scan_id is not None and second.from_block == first.to_block + 1
    assert third.scan_id is not None and third.from_block == second.to_block + 1
    assert (first.trades, second.trades, third.trades) == (5, 7, 1)  # demo; cycle 3, round trip 2, fills 2
    assert fourth.scan_id is None and fourth.trades == 0 and fourth.stored == []
    with stage.engine.connect() as conn:
        scans = conn.execute(select(AnomalyScan).order_by(AnomalyScan.id)).all()
        flags = conn.execute(select(AnomalyFlag)).all()
    assert [(s.from_block, s.to_block) for s in scans] == [
        (r.from_block, r.to_block) for r in (first, second, third)
    ]
    cycles = [f for f in flags if f.kind == CYCLE]
    assert len(cycles) == 1, [(f.kind, f.accounts) for f in flags]
    (cycle,) = cycles
    assert set(cycle.accounts) == {A, B, C}
    assert cycle.source == CYCLE and cycle.status == "open" and 0 < cycle.score <= 1
    assert len(cycle.tx_hashes) == 3 and second.from_block <= cycle.block_number <= second.to_block
    assert cycle.evidence["blocks"] and max(cycle.evidence["blocks"]) == cycle.block_number
    assert cycle.id in second.stored
    # The merchant <-> supplier round trip is allow-listed: no flag names only that pair.
    assert not [f for f in flags if set(f.accounts) == {MERCHANT, SUPPLIER}]
    registry = stage.metrics.registry
    assert registry.get_sample_value("msc_anomaly_flags_stored_total", {"kind": CYCLE}) == 1
    assert registry.get_sample_value("msc_anomaly_scan_last_block") == third.to_block
    assert registry.get_sample_value("msc_anomaly_flags_open", {"kind": CYCLE}) == 1


@BACKENDS
def test_an_account_waking_after_months_is_flagged_although_the_scan_saw_only_days(
    scanned: dict[str, Scanned], backend: str
) -> None:
    stage = scanned[backend]
    with stage.engine.connect() as conn:
        dormant = conn.execute(select(AnomalyFlag).where(AnomalyFlag.kind == DORMANT)).all()
    (flag,) = dormant
    assert flag.accounts[0] == C and flag.id in stage.third.stored
    assert stage.third.from_block <= flag.block_number <= stage.third.to_block
    assert all(not tx.startswith("last-seen:") for tx in flag.tx_hashes)
    # The new blocks alone say nothing of c's past: it is the stored last activity that counts.
    with stage.engine.connect() as conn:
        alone = load_trades(conn, stage.third.from_block, stage.third.to_block)
    assert not [f for f in detect(TradeTable.from_rows(alone.rows)).flags if f.anomaly == DORMANT]


@BACKENDS
def test_the_allow_list_is_what_suppresses_the_round_trip(scanned: dict[str, Scanned], backend: str) -> None:
    stage = scanned[backend]
    with stage.engine.connect() as conn:
        trades = load_trades(conn, stage.second.from_block, stage.second.to_block)
    flags = detect(TradeTable.from_rows(trades.rows)).flags
    assert any(f.anomaly == CYCLE and set(f.accounts) == {MERCHANT, SUPPLIER} for f in flags)


@BACKENDS
def test_model_flags_name_the_persisted_model_and_its_state_advances(
    scanned: dict[str, Scanned], backend: str
) -> None:
    stage = scanned[backend]
    model = AnomalyModel.load(stage.model_path)
    assert stage.second.model_version == model_version(model)
    assert model.feature_names and model.sklearn_version
    with stage.engine.connect() as conn:
        sources = set(
            conn.execute(select(AnomalyFlag.source).where(AnomalyFlag.kind == "isolation_forest")).scalars()
        )
        scan_versions = set(conn.execute(select(AnomalyScan.model_version)).scalars())
    assert sources <= {f"model:{model_version(model)}"}
    assert scan_versions == {None, model_version(model)}


@BACKENDS
def test_flag_status_changes_are_stored_once(
    scanned: dict[str, Scanned], backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    stage = scanned[backend]
    with stage.engine.connect() as conn:
        flag_id = conn.execute(select(AnomalyFlag.id).where(AnomalyFlag.kind == CYCLE)).scalar_one()
    db = ["--database-url", stage.url]
    assert (
        main(["flags", "set-status", flag_id, "confirmed", "--reviewer", "auditor-1", "--note", "ring", *db])
        == 0
    )
    assert main(["flags", "set-status", flag_id, "dismissed", "--reviewer", "auditor-2", *db]) == 2
    assert "already confirmed" in capsys.readouterr().err
    assert main(["flags", "set-status", "cycle-nope", "dismissed", "--reviewer", "auditor-2", *db]) == 2
    with stage.engine.connect() as conn:
        row = conn.execute(select(AnomalyFlag).where(AnomalyFlag.id == flag_id)).one()
        open_cycles = conn.execute(
            select(func.count())
            .select_from(AnomalyFlag)
            .where(AnomalyFlag.kind == CYCLE, AnomalyFlag.status == "open")
        ).scalar_one()
    assert (row.status, row.reviewed_by, row.note) == ("confirmed", "auditor-1", "ring")
    assert row.reviewed_at is not None and open_cycles == 0
    # A rescan of the same activity never reopens or duplicates the reviewed flag.
    assert scan_once(stage.engine, ScanSettings()).scan_id is None
    assert main(["flags", "list", "--status", "confirmed", *db]) == 0
    assert flag_id in capsys.readouterr().out
