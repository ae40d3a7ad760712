"""The main job, run as a newcomer runs it: ``msc up`` on the embedded defaults.

It starts its own anvil on port 8545 (the test suite's chain is on 8555), deploys with Brownie
and runs the demo through web3.py. Stop a running ``make run`` before running the tests.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

from carbon.documents import cid_for_bytes
from chain.settings import PROJECT_ROOT
from common.money import format_idr
from launcher.carbon_demo import RETIRED, SOLD, VERIFICATION_REPORT
from launcher.demo import DEMO_ESCROWED, DEMO_LOCKED, DEMO_MINT, DEMO_PAYMENT, DEMO_RESERVES, DEMO_REWARDS

MSC = str(Path(sys.executable).with_name("msc"))


def _run_msc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MSC, *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, env=dict(os.environ)
    )


def test_mscUp_deploysAndRunsTheDemo() -> None:
    proc = _run_msc("up", "--once")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    deployment = json.loads((PROJECT_ROOT / "deployments" / "development.json").read_text())
    address = deployment["contracts"]["MadiunStableCoin"]["address"]
    assert re.search(rf"MadiunStableCoin\s+{address}", out)
    assert f"attested reserves of {format_idr(DEMO_RESERVES)}" in out
    merchant = DEMO_MINT - DEMO_PAYMENT + DEMO_ESCROWED - DEMO_LOCKED
    assert f"merchant {format_idr(merchant)}, supplier {format_idr(DEMO_PAYMENT)}" in out
    assert f"supply {format_idr(DEMO_MINT + DEMO_ESCROWED + DEMO_REWARDS)}" in out
    assert f"merchant locked {format_idr(DEMO_LOCKED)} for 90 days (lock #1)" in out
    report_cid = cid_for_bytes(VERIFICATION_REPORT)
    assert f"documents {report_cid}" in out
    assert (PROJECT_ROOT / "var" / "documents").is_dir()
    assert (
        f"{RETIRED} t retired for Warung Pecel Bu Sri, certificate #1; buyer holds {SOLD - RETIRED} t" in out
    )
    assert re.search(r"metadata ipfs://bafkrei[a-z2-7]{52}\)", out)
    for name in ("MadiunStableCoin", "LockStaking", "MerchantEscrow", "CarbonCredits", "CarbonMarket"):
        address = deployment["contracts"][name]["address"]
        assert re.search(rf"{name}\s+{address}", out)
    assert deployment["chain_id"] == 31337


def test_mscUp_refusesWhenThePortIsTaken() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", 8545))
        squatter.listen()
        proc = _run_msc("up", "--once")
    assert proc.returncode == 1
    assert "something already listens on port 8545" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_msc_withoutCommandShowsUsage() -> None:
    proc = _run_msc()
    assert proc.returncode == 2
    assert "usage: msc" in proc.stderr
