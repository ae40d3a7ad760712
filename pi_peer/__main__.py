"""``python -m pi_peer --port 8765 --api-key KEY --app-secret S...``: serve a peer in the foreground."""

from __future__ import annotations

import argparse

import uvicorn
from stellar_sdk import Keypair

from pi_peer.app import create_app
from pi_peer.state import TESTNET_PASSPHRASE, PeerConfig


def main() -> None:
    """Parse arguments and serve until interrupted."""
    parser = argparse.ArgumentParser(description="Local Pi Platform API + Horizon peer")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--api-key", default="peer-api-key")
    parser.add_argument("--app-secret", default=None, help="app wallet seed; random if omitted")
    parser.add_argument("--network", default=TESTNET_PASSPHRASE)
    args = parser.parse_args()
    secret = args.app_secret or Keypair.random().secret
    app, state = create_app(
        PeerConfig(api_key=args.api_key, app_secret=secret, network_passphrase=args.network)
    )
    print(f"app wallet {state.platform.app_address} (seed {secret})")
    uvicorn.run(app, host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
