"""The ``msc`` command: ``msc up`` brings the platform up on the embedded defaults.

Embedded defaults: a local anvil chain started here, the contracts compiled and deployed with
Brownie, and the demo run against them. Later parts of the platform (indexer, workers, API) join
this same command.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading

from chain.localnode import AnvilNode
from chain.platform import load_platform
from chain.settings import PROJECT_ROOT, ChainSettings
from common.errors import MSCError
from launcher.carbon_demo import describe_carbon, run_carbon_demo
from launcher.demo import describe, run_demo


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
    """Starts the chain, deploys, runs the demo, then serves until Ctrl-C (or exits with ``once``)."""
    settings = ChainSettings.from_env()
    node = AnvilNode(port=8545)
    print("msc: starting the local chain (anvil) ...", flush=True)
    node.start()
    try:
        print("msc: compiling and deploying the contracts with Brownie ...", flush=True)
        deploy_with_brownie(settings.network)
        platform = load_platform(settings.model_copy(update={"rpc_url": node.url}))
        print(f"\nChain: {node.url} (chain id {platform.deployment.chain_id})")
        print("Deployed contracts (deployments/development.json):")
        for name, c in platform.deployment.contracts.items():
            print(f"  {name:<20} {c.address}")
        print("\nDemo:")
        print(describe(run_demo(platform)))
        print(describe_carbon(run_carbon_demo(platform, PROJECT_ROOT / "var" / "documents")))
        if once:
            return 0
        print("\nThe chain keeps running; press Ctrl-C to stop.", flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
        return 0
    finally:
        node.stop()


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
