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

from chain.settings import PROJECT_ROOT
from chain.signer import Signer
from common.errors import MSCError
from launcher.carbon_demo import describe_carbon, run_carbon_demo
from launcher.checkout_demo import checkout_links, describe_checkout_payment
from launcher.demo import describe, run_demo
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


def up(once: bool) -> int:
    """Starts the whole stack, runs the demo, then serves until Ctrl-C (or exits with ``once``)."""
    print("msc: starting the local chain (anvil), deploying with Brownie, starting the stack ...", flush=True)
    with Stack(deploy=deploy_with_brownie) as stack:
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
            stack.api.url, DEMO_ADMIN_SECRET, stack.peer.url, platform, Signer.dev(0).address
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
        if once:
            return 0
        print("\nThe platform keeps running; press Ctrl-C to stop.", flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
        return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``msc`` command."""
    parser = argparse.ArgumentParser(prog="msc", description="The MSC platform.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_up = sub.add_parser("up", help="start the platform on the embedded defaults and run the demo")
    p_up.add_argument("--once", action="store_true", help="exit after the demo instead of serving")
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            return up(once=args.once)
    except MSCError as exc:
        print(f"msc: {exc.message}", file=sys.stderr)
        return 1
    return 2
