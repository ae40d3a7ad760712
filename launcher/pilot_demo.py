"""``msc up --pilot``: the command centre's city on the running stack.

On the stack's own database and chain, which starts on the pilot's first day (00:00 Jakarta) so
that the pilot's days happen on it:

1. before the API, its workers and the indexer start, the pilot (:mod:`launcher.pilot`):
   simulated UMKM of the 27 kelurahan over the days before this month, every one marked
   [SIMULASI]. Their Pi payments go through the platform's services into the books (no worker
   sweeps their half-made payments); their MSC-paid sales are real transfers from simulated
   customers' wallets to the merchants' wallets, in blocks on each sale's day
   (:mod:`launcher.pilot_chain`), which the indexer then mirrors;
2. the chain's clock moves to two hours before this month began, so the demo's blocks belong to
   last month, as the pilot's do;
3. once the mirror has caught up: the LPUI of the pilot's days (:mod:`city.lpui`, counting the Pi
   payments from the books and the MSC transfers from the mirror) and the forecasts
   (:mod:`city.forecast`);
4. the previous month closed: its proof-of-liabilities root is published on
   ``LiabilityAttestation`` while the chain is still in that month, then the chain's clock jumps
   to now (one block), which gives the month its end block, and the monthly public report is
   built at it (:mod:`audit.monthly`);
5. a demo merchant's inclusion proof (the demo leaves one payout burned and not yet paid, which
   the platform owes off-chain) is checked with ``docs/verify_liabilities.py`` against the
   chain, as the README tells a merchant to.

The pilot's Pi payments are minted and deposited into the escrow on the chain as the settlement
does (:mod:`launcher.pilot_chain`), so the books and the chain agree on them; they stay held there
(nobody releases them). Every page marks the pilot as simulated.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from audit.liabilities.models import LiabilityLeaf, LiabilitySnapshot
from audit.liabilities.publish import Attester, Published, publish_period
from audit.liabilities.service import merchant_proof
from audit.liabilities.settings import LiabilitySettings
from audit.monthly.period import parse_month
from audit.monthly.store import StoredReport
from audit.monthly.store import publish as publish_monthly
from chain.platform import Platform
from chain.settings import PROJECT_ROOT, ChainSettings
from chain.signer import Signer
from city.forecast import __main__ as forecast_cli
from city.lpui.compute import compute_range
from city.lpui.settings import LpuiSettings
from launcher.pilot import JAKARTA, Pilot, PilotPlan, PilotSummary, merchant_data, sales
from launcher.pilot_chain import ChainSummary, PilotChain, PilotChainError

VERIFIER = PROJECT_ROOT / "docs" / "verify_liabilities.py"
DEMO_LEAD = timedelta(hours=2)
"""How long before this month's first instant (Jakarta) the demo runs on the pilot stack's chain."""


def month_start(day: date) -> datetime:
    """The first instant (Asia/Jakarta) of ``day``'s month."""
    return datetime.combine(day.replace(day=1), time(0), JAKARTA)


def previous_month(today: date) -> str:
    """``YYYY-MM`` of the month before ``today``'s."""
    last = today.replace(day=1) - timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


def move_to_demo_time(platform: Platform, today: date) -> int:
    """After the pilot: the chain's clock to two hours before ``today``'s month began (Jakarta),
    with one block, so the demo happens in the month the pilot ends; returns that block's time.

    Raises:
        PilotChainError: the chain is already past that moment.
    """
    stamp = int((month_start(today) - DEMO_LEAD).timestamp())
    w3 = platform.w3
    if int(w3.eth.get_block("latest")["timestamp"]) >= stamp:
        raise PilotChainError(
            "the chain's clock is already past the demo's time, two hours before this month"
        )
    w3.provider.make_request("evm_setNextBlockTimestamp", [stamp])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    return stamp


@dataclass(frozen=True)
class PilotDemoResult:
    """What the pilot left and where to see it."""

    summary: PilotSummary
    plan: PilotPlan
    lpui_days: int
    period: str
    published: Published
    verifier_output: str


def run_pilot(
    sessions: sessionmaker[Session], plan: PilotPlan, platform: Platform
) -> tuple[PilotSummary, ChainSummary]:
    """Runs the pilot on the stack's new database (before any real merchant is onboarded: a
    database that already holds one is refused, see :mod:`launcher.pilot`) and its MSC sales on
    the stack's fresh chain with its Pi payments' escrow deposits, from the issuer (development
    account 0, the stack's settlement key)."""
    pilot = Pilot(sessions, plan)
    summary = pilot.run()
    wallets = [str(merchant_data(plan, i).evm_address) for i in range(plan.merchants)]
    pi_sales = [s for s in sales(plan) if s.in_pi]
    paid_in_pi = list(zip(pi_sales, (uuid.UUID(i) for i in summary.payment_ids), strict=True))
    rpc_url = str(getattr(platform.w3.provider, "endpoint_uri", ""))
    on_chain = PilotChain(rpc_url, platform.msc.address, platform.escrow.address, Signer.dev(0).address)
    return summary, on_chain.run(plan, wallets, pilot.payer_uid, paid_in_pi)


def compute_lpui(sessions: sessionmaker[Session], plan: PilotPlan) -> int:
    """The LPUI of every pilot day; returns how many days."""
    last = plan.end - timedelta(days=1)
    with sessions.begin() as session:
        compute_range(session, plan.first_day, last, LpuiSettings.from_env())
    return (last - plan.first_day).days + 1


def compute_forecasts(database_url: str, plan: PilotPlan) -> str:
    """The forecasts over the pilot's days; the city's daily-count backtest as one line (MASE of
    model and seasonal-naive baseline, in basis points)."""
    summary = forecast_cli.compute(database_url, plan.end - timedelta(days=1), plan.days)
    count: Any = summary.get("count") or {}
    city = count.get("city")
    if not city:
        return "too little history to backtest"

    def mase(bp: int | None) -> str:
        return "n/a" if bp is None else f"{bp / 10_000:.4f}"

    beats = "beats" if city["beats_baseline"] else "does not beat"
    return (
        f"model MASE {mase(city['model_mase_bp'])} vs seasonal-naive "
        f"{mase(city['baseline_mase_bp'])} (the model {beats} the baseline)"
    )


def monthly_report(sessions: sessionmaker[Session], period: str) -> StoredReport:
    """``period``'s monthly public report, built at its end block and stored (once)."""
    report, _new = publish_monthly(sessions, parse_month(period))
    return report


def publish_liabilities(sessions: sessionmaker[Session], platform: Platform, period: str) -> Published:
    """Snapshots the books and publishes ``period``'s root with the stack's attester (its signer)."""
    attester = Attester(
        platform.w3,
        platform.contract("LiabilityAttestation"),
        Signer.from_settings(ChainSettings.from_env()),
        platform.decoder,
    )
    return publish_period(sessions, attester, period, LiabilitySettings.from_env().secret())


def close_month(platform: Platform, now: datetime) -> int:
    """Moves the chain's clock to ``now`` with one block (ending the month the chain was in);
    returns that block's number."""
    w3 = platform.w3
    w3.provider.make_request("evm_setNextBlockTimestamp", [int(now.timestamp())])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    return int(w3.eth.block_number)


def verify_demo_merchant(
    sessions: sessionmaker[Session], platform: Platform, period: str, merchant_id: str, rpc_url: str
) -> str:
    """Runs ``docs/verify_liabilities.py`` on ``merchant_id``'s proof, as a merchant would; returns
    its output.

    Raises:
        RuntimeError: the verifier failed (exit status not 0).
    """
    with sessions() as session:
        proof = merchant_proof(session, period, merchant_id, LiabilitySettings.from_env().secret())
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "proof.json"
        path.write_text(json.dumps(proof.to_json()), encoding="utf-8")
        done = subprocess.run(
            [
                sys.executable,
                str(VERIFIER),
                str(path),
                "--rpc-url",
                rpc_url,
                "--attestation",
                platform.contract("LiabilityAttestation").address,
                "--msc",
                platform.msc.address,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    if done.returncode != 0:
        raise RuntimeError(f"the verifier failed:\n{done.stdout}{done.stderr}")
    return done.stdout.strip()


def pilot_plan(merchants: int, days: int, today: date) -> PilotPlan:
    """The pilot's plan (seed 1, the CLI's default): the ``days`` days before ``today``'s month, so
    that last month's report, the one the demo closes, holds the pilot's last month."""
    return PilotPlan(merchants=merchants, days=days, seed=1, end=today.replace(day=1))


def now_utc() -> datetime:
    """The wall clock (UTC)."""
    return datetime.now(UTC)


def jakarta_today() -> date:
    """Today in Asia/Jakarta."""
    return now_utc().astimezone(JAKARTA).date()


def has_leaf(sessions: sessionmaker[Session], period: str, merchant_id: str) -> bool:
    """Whether ``merchant_id`` has a leaf in ``period``'s tree (it is owed something off-chain)."""
    with sessions() as session:
        snapshot = session.scalar(select(LiabilitySnapshot).where(LiabilitySnapshot.period == period))
        if snapshot is None:
            return False
        leaf = session.get(LiabilityLeaf, (snapshot.id, merchant_id))
        return leaf is not None
