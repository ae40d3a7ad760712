"""The command line end to end on a small generated file."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from audit.anomaly.cli import main
from audit.anomaly.flags import OUTPUT_COLUMNS, RULE_KINDS

ROOT = Path(__file__).resolve().parents[2]


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def labelled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "labelled.csv"
    argv = [
        "generate",
        "--output",
        str(path),
        "--seed",
        "5",
        "--days",
        "120",
        "--customers",
        "150",
        "--merchants",
        "15",
        "--episodes",
        "3",
    ]
    assert main(argv) == 0
    return path


def test_generate_writes_labelled_csv(labelled: Path) -> None:
    rows = read_csv(labelled)
    assert list(rows[0]) == [
        *["ts", "tx_hash", "kind", "sender", "receiver", "token", "token_id", "amount", "price"],
        "label",
    ]
    assert {r["label"] for r in rows} == {"", *RULE_KINDS}


def test_detect_end_to_end(labelled: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flags_csv, evidence = tmp_path / "flags.csv", tmp_path / "flags.json"
    config = tmp_path / "cfg.json"
    config.write_text(json.dumps({"dormant": {"inactive_days": 90}}), encoding="utf-8")
    code = main(
        [
            "detect",
            "--input",
            str(labelled),
            "--output",
            str(flags_csv),
            "--config",
            str(config),
            "--evidence",
            str(evidence),
        ]
    )
    assert code == 0
    out = read_csv(flags_csv)
    assert out and tuple(out[0]) == OUTPUT_COLUMNS
    assert {r["anomaly"] for r in out} == set(RULE_KINDS)
    truth = {r["tx_hash"]: r["label"] for r in read_csv(labelled)}
    hits = sum(truth[r["tx_hash"]] == r["anomaly"] for r in out)
    assert hits / len(out) >= 0.9
    assert all(0 < float(r["score"]) <= 1 and r["reason"] for r in out)
    assert all(f["status"] == "open" for f in json.loads(evidence.read_text(encoding="utf-8")))
    assert "trades read" in capsys.readouterr().out


def test_train_then_detect_with_model(labelled: Path, tmp_path: Path) -> None:
    model = tmp_path / "model.joblib"
    assert main(["train", "--input", str(labelled), "--model-out", str(model)]) == 0
    out = tmp_path / "flags.csv"
    assert main(["detect", "--input", str(labelled), "--output", str(out), "--model", str(model)]) == 0
    assert "isolation_forest" in {r["anomaly"] for r in read_csv(out)}


def test_bad_rows_are_reported_and_skipped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "t.csv"
    src.write_text(
        "ts,tx_hash,kind,sender,receiver,token,token_id,amount,price\n"
        "2024-01-01T07:00:00Z,0x01,transfer,a,b,MSC,,100,\n"
        "2024-01-01T07:00:00Z,0x02,transfer,a,b,MSC,,1.5,\n",
        encoding="utf-8",
    )
    assert main(["detect", "--input", str(src), "--output", str(tmp_path / "f.csv")]) == 0
    captured = capsys.readouterr()
    assert "line 3:" in captured.err and "1 bad row(s) skipped" in captured.out


def test_missing_input_exits_non_zero_with_a_clear_message(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "audit.anomaly",
            "detect",
            "--input",
            str(tmp_path / "missing.csv"),
            "--output",
            str(tmp_path / "f.csv"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "error: input file" in proc.stderr and "does not exist" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "f.csv").exists()


def test_bad_config_exits_non_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[spike]\nlimit = 1\n", encoding="utf-8")
    assert main(["detect", "--input", "x.csv", "--output", "y.csv", "--config", str(cfg)]) == 2
    assert "unknown config key spike.limit" in capsys.readouterr().err
