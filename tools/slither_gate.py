"""Runs Slither over contracts/ and fails on any high or medium finding not triaged.

Slither compiles the sources itself through the project's solc shim in standard-json mode, with
the remappings of brownie-config.yaml. (Reading Brownie's build with
``--compile-force-framework brownie`` does not work for these contracts: Brownie prunes
OpenZeppelin's IERC1271.sol from its build because SignatureChecker refers to it only through a
function selector, and crytic-compile then fails to resolve that import.)

Accepted findings live in security/slither-triage.json with a justification each.
Usage: ``python tools/slither_gate.py`` (exit 0 when clean); the test suite calls :func:`run_gate`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
TRIAGE = ROOT / "security" / "slither-triage.json"
GATED_IMPACTS = ("High", "Medium")
# Benchmark baselines and test mocks are not deployed; they are still compiled and analysed.
EXCLUDED_PATHS = ("node_modules", "contracts/bench", "contracts/mocks")


@dataclass(frozen=True)
class Finding:
    """One Slither result."""

    impact: str
    confidence: str
    check: str
    element: str
    description: str


@dataclass(frozen=True)
class GateResult:
    """What the gate decided."""

    findings: list[Finding]
    untriaged: list[Finding]
    stale_triage: list[dict[str, str]]

    @property
    def ok(self) -> bool:
        """No untriaged high/medium finding and no stale triage entry."""
        return not self.untriaged and not self.stale_triage


def _solc_settings() -> tuple[Path, list[str]]:
    config = yaml.safe_load((ROOT / "brownie-config.yaml").read_text())
    version = config["compiler"]["solc"]["version"]
    return ROOT / ".solcx" / f"solc-v{version}", list(config["compiler"]["solc"]["remappings"])


def run_slither() -> list[Finding]:
    """Runs Slither and returns every finding outside the excluded paths."""
    solc, remaps = _solc_settings()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "slither.json"
        cmd = [
            str(Path(sys.executable).with_name("slither")),
            "contracts",
            "--solc-standard-json",
            "--solc",
            str(solc),
            "--solc-remaps",
            " ".join(remaps),
            "--filter-paths",
            "|".join(EXCLUDED_PATHS),
            "--json",
            str(out),
        ]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
        if not out.exists():
            raise RuntimeError(f"slither did not run:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
        report = json.loads(out.read_text())
    if not report.get("success"):
        raise RuntimeError(f"slither failed: {report.get('error')}")
    return [
        Finding(
            impact=r["impact"],
            confidence=r["confidence"],
            check=r["check"],
            element=r["elements"][0]["name"] if r.get("elements") else "",
            description=r["description"].strip(),
        )
        for r in report.get("results", {}).get("detectors", [])
    ]


def run_gate(findings: list[Finding] | None = None) -> GateResult:
    """Checks findings against the triage file."""
    findings = run_slither() if findings is None else findings
    accepted = json.loads(TRIAGE.read_text())["accepted"]
    for entry in accepted:
        if not entry.get("justification", "").strip():
            raise ValueError(f"triage entry without a justification: {entry}")
    keys = {(e["check"], e["element"]) for e in accepted}
    gated = [f for f in findings if f.impact in GATED_IMPACTS]
    untriaged = [f for f in gated if (f.check, f.element) not in keys]
    matched = {(f.check, f.element) for f in gated}
    stale = [e for e in accepted if (e["check"], e["element"]) not in matched]
    return GateResult(findings=findings, untriaged=untriaged, stale_triage=stale)


# Conformance gaps reviewed and accepted, by ERC: the approval race (an approve from N to M can be
# front-run to spend N + M) is inherent to ERC-20's approve; like OpenZeppelin 5 we leave it to
# wallets (set to zero first) and offer permit with an exact value instead of increaseAllowance.
# ERC-1155: the receiver hooks are optional (CarbonCredits never holds other tokens), and
# OpenZeppelin 5 emits TransferBatch from the shared _update rather than in safeBatchTransferFrom's
# body, which the static check does not follow; tests/contracts/test_carbon.py asserts the event.
ACCEPTED_ERC_GAPS = {
    "ERC20": ("is not protected for the ERC20 approval race condition",),
    "ERC1155": ("is missing (optional)", "safeBatchTransferFrom must emit TransferSingle or TransferBatch"),
}


def check_erc(source: str, contract: str, erc: str) -> list[str]:
    """Runs ``slither-check-erc`` and returns every failed check not accepted above.

    slither-check-erc compiles through crytic-compile's legacy ``--combined-json`` path, which
    the solc shim also answers.
    """
    solc, remaps = _solc_settings()
    cmd = [
        str(Path(sys.executable).with_name("slither-check-erc")),
        source,
        contract,
        "--erc",
        erc,
        "--solc",
        str(solc),
        "--solc-remaps",
        " ".join(remaps),
        "--compile-force-framework",
        "solc",
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    report = proc.stdout + proc.stderr
    if "## Check functions" not in report:
        raise RuntimeError(f"slither-check-erc did not run:\n{report[-4000:]}")
    failed = [line.strip() for line in report.splitlines() if line.strip().startswith("[ ]")]
    return [f for f in failed if not any(gap in f for gap in ACCEPTED_ERC_GAPS.get(erc, ()))]


def main() -> int:
    result = run_gate()
    for f in result.findings:
        print(f"{f.impact:<13} {f.check:<28} {f.description.splitlines()[0][:140]}")
    for f in result.untriaged:
        print(f"UNTRIAGED {f.impact}: {f.check} in {f.element}: {f.description}", file=sys.stderr)
    for e in result.stale_triage:
        print(f"STALE triage entry (no longer found): {e}", file=sys.stderr)
    print(f"slither: {len(result.findings)} findings, {len(result.untriaged)} untriaged high/medium")
    erc_failures = check_erc("contracts/MadiunStableCoin.sol", "MadiunStableCoin", "ERC20")
    for failure in erc_failures:
        print(f"ERC20 conformance: {failure}", file=sys.stderr)
    print(f"slither-check-erc ERC20: {len(erc_failures)} unaccepted failures")
    return 0 if result.ok and not erc_failures else 1


if __name__ == "__main__":
    sys.exit(main())
