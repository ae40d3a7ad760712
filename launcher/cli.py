"""The ``msc`` command: ``msc up`` brings the platform up on the embedded defaults.

Embedded defaults: a local anvil chain started here, the contracts compiled and deployed with
Brownie, a fresh SQLite database, the indexer following the chain, the local Pi peer and the API
(launcher/stack.py), and the demo run against them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from datetime import timedelta

from chain.platform import Platform
from chain.settings import PROJECT_ROOT
from chain.signer import Signer
from common.errors import MSCError
from common.money import format_idr
from common.sql.engine import create_engine_from_url, make_sessionmaker
from launcher import pilot_demo
from launcher.carbon_demo import describe_carbon, run_carbon_demo
from launcher.checkout_demo import checkout_links, describe_checkout_payment
from launcher.demo import describe, run_demo
from launcher.pilot import PilotPlan
from launcher.pilot_chain import pilot_genesis
from launcher.portal_demo import describe_portal, run_portal_demo
from launcher.settlement_demo import describe_settlement, run_settlement_demo
from launcher.stack import DEMO_ADMIN_SECRET, Stack


def deploy_with_brownie(network: str) -> None:
    """Runs scripts/deploy.py with Brownie, which attaches to the node already running."""
    brownie = os.path.join(os.path.dirname(sys.executable), "brownie")
    proc = subprocess.run(
        [brownie, "run", "scripts/deploy.py", "--network", network],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise MSCError(f"deployment failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


def up(once: bool, pilot: PilotOptions | None = None) -> int:
    """Starts the whole stack, runs the demo, then serves until Ctrl-C (or exits with ``once``).

    With ``pilot`` the chain starts in the previous month, and after the demo the pilot city is
    generated and the command centre's pages filled (:mod:`launcher.pilot_demo`).
    """
    print("msc: starting the local chain (anvil), deploying with Brownie, starting the stack ...", flush=True)
    plan = pilot_demo.pilot_plan(pilot.merchants, pilot.days, pilot_demo.jakarta_today()) if pilot else None
    genesis = pilot_genesis(plan) if plan else None
    prepare = (lambda url, platform: seed_pilot_city(url, platform, plan)) if plan else None
    with Stack(deploy=deploy_with_brownie, genesis_timestamp=genesis, prepare_database=prepare) as stack:
        assert stack.node is not None and stack.platform is not None
        assert stack.api is not None and stack.peer is not None
        platform = stack.platform
        print(f"\nChain: {stack.node.url} (chain id {platform.deployment.chain_id})")
        print("Deployed contracts (deployments/development.json):")
        for name, c in platform.deployment.contracts.items():
            print(f"  {name:<20} {c.address}")
        print("\nDemo:")
        print(describe(run_demo(platform)))
        print(describe_carbon(run_carbon_demo(platform, PROJECT_ROOT / "var" / "documents")))
        print("\nMerchants, through the API (Pi in, MSC in escrow, Rupiah out):")
        settled = run_settlement_demo(
            stack.api.url,
            DEMO_ADMIN_SECRET,
            stack.peer.url,
            platform,
            Signer.dev(0).address,
            unpaid_redemption=pilot is not None,
        )
        print(describe_settlement(settled))
        print("\nCheckout, as a customer pays (scan the QR code or open the link):")
        print(checkout_links(stack.api.url, settled), flush=True)
        print(describe_checkout_payment(stack.api.url, settled))
        portal = run_portal_demo(stack.api.url, DEMO_ADMIN_SECRET, settled)
        block = stack.wait_indexed()
        print(f"\nIndexer: mirror of the chain up to block {block} in {stack.database_url}")
        print(f"API:       {stack.api.url}/docs  (OpenAPI at {stack.api.url}/openapi.json)")
        print(f"Metrics:   {stack.api.url}/metrics")
        print(f"Explorer:  {stack.api.url}/explorer")
        print(describe_portal(portal))
        print(f"Pi peer:   {stack.peer.url} (Horizon) and {stack.peer.platform_url} (Pi platform API)")
        print(f"Operator:  POST {stack.api.url}/v1/api-keys with X-Admin-Secret: {DEMO_ADMIN_SECRET}")
        if plan is not None:
            fill_command_centre(stack, plan)
            close_pilot_month(stack, settled.merchant_ids)
        if once:
            return 0
        print("\nThe platform keeps running; press Ctrl-C to stop.", flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
        return 0


@dataclass(frozen=True)
class PilotOptions:
    """``--pilot``: how big a city (the seed's pilot by default: 150 UMKM over 90 days)."""

    merchants: int = 150
    days: int = 90


def seed_pilot_city(database_url: str, platform: Platform, plan: PilotPlan) -> None:
    """Before the API and the indexer start: the pilot city in the stack's new database and on its
    chain, then the chain's clock to the demo's time (see :mod:`launcher.pilot_demo`)."""
    engine = create_engine_from_url(database_url)
    try:
        sessions = make_sessionmaker(engine)
        print(
            f"\nPilot: {plan.merchants} simulated UMKM over {plan.days} days ({plan.first_day} .. "
            f"{plan.end - timedelta(days=1)}), through the platform's services and the chain ...",
            flush=True,
        )
        summary, on_chain = pilot_demo.run_pilot(sessions, plan, platform)
        print(
            f"  {summary.merchants} [SIMULASI] merchants, {summary.pi_payments} Pi payments "
            f"({format_idr(summary.idr_sen)}, {on_chain.deposits} of them held in the escrow on chain); "
            f"{on_chain.transfers} MSC payments "
            f"({format_idr(on_chain.amount)}) from {on_chain.payers} customer wallets, on chain in "
            f"blocks {on_chain.first_block}..{on_chain.last_block}",
            flush=True,
        )
        pilot_demo.move_to_demo_time(platform, pilot_demo.jakarta_today())
    finally:
        engine.dispose()


def fill_command_centre(stack: Stack, plan: PilotPlan) -> None:
    """Once the mirror holds the pilot's MSC payments: the LPUI of its days and the forecasts."""
    print("\nCommand centre (pilot):", flush=True)
    stack.wait_indexed(timeout_s=600)
    engine = create_engine_from_url(stack.database_url)
    try:
        days = pilot_demo.compute_lpui(make_sessionmaker(engine), plan)
    finally:
        engine.dispose()
    print(f"  LPUI computed for {days} days (Pi payments from the books, MSC payments from the mirror)")
    errors = pilot_demo.compute_forecasts(stack.database_url, plan)
    print(f"  forecasts for 30/60/90 days computed; backtest (city, count): {errors}", flush=True)


def close_pilot_month(stack: Stack, demo_merchant_ids: list[str]) -> None:
    """After the demo: last month's liabilities published, the month ended on the chain, a demo
    merchant's proof verified, and where to look (see :mod:`launcher.pilot_demo`)."""
    assert stack.platform is not None and stack.node is not None and stack.api is not None
    engine = create_engine_from_url(stack.database_url)
    try:
        sessions = make_sessionmaker(engine)
        period = pilot_demo.previous_month(pilot_demo.jakarta_today())
        published = pilot_demo.publish_liabilities(sessions, stack.platform, period)
        print(
            f"  liabilities of {period}: root {published.root} (total {format_idr(published.total)}, "
            f"leaves: {published.leaf_count}) published on LiabilityAttestation in block "
            f"{published.block_number}"
        )
        block = pilot_demo.close_month(stack.platform, pilot_demo.now_utc())
        stack.wait_indexed()
        print(f"  the chain's clock moved to now (block {block}): {period} has ended", flush=True)
        report = pilot_demo.monthly_report(sessions, period)
        root = (report.figures.get("attestation") or {}).get("root") or "not published"
        print(
            f"  monthly report {period}: end block {report.end_block_number}, liabilities root {root}, "
            f"sha256 {report.sha256}"
        )
        owed = [m for m in demo_merchant_ids if pilot_demo.has_leaf(sessions, period, m)]
        if not owed:
            raise MSCError(f"no demo merchant is owed anything off-chain in {period}: nothing to verify")
        out = pilot_demo.verify_demo_merchant(sessions, stack.platform, period, owed[0], stack.node.url)
        print(f"  docs/verify_liabilities.py on demo merchant {owed[0]}'s proof: {out}")
    finally:
        engine.dispose()
    base = stack.api.url
    print(f"  LPUI per kelurahan: {base}/explorer/lpui")
    print(f"  forecasts:          {base}/explorer/forecasts")
    print(f"  monthly report:     {base}/explorer/reports/{period}  (CSV, JSON and PDF linked there)")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``msc`` command."""
    parser = argparse.ArgumentParser(prog="msc", description="The MSC platform.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_up = sub.add_parser("up", help="start the platform on the embedded defaults and run the demo")
    p_up.add_argument("--once", action="store_true", help="exit after the demo instead of serving")
    p_up.add_argument(
        "--pilot",
        action="store_true",
        help="also generate the pilot city ([SIMULASI] UMKM) and fill the command centre's pages",
    )
    p_up.add_argument("--pilot-merchants", type=int, default=PilotOptions.merchants, help="default 150")
    p_up.add_argument("--pilot-days", type=int, default=PilotOptions.days, help="default 90")
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            pilot = PilotOptions(args.pilot_merchants, args.pilot_days) if args.pilot else None
            return up(once=args.once, pilot=pilot)
    except MSCError as exc:
        print(f"msc: {exc.message}", file=sys.stderr)
        return 1
    return 2
