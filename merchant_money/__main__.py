"""``python -m merchant_money finish-moves [--older-than SECONDS]``: finishes custodial wallet moves
(exports, rotation sweeps) left pending by a crash or a busy chain; prints what became of them.

Run it from cron or after a restart: each move was written ahead with its signed relay, so
finishing rebroadcasts that same transaction or reads the authorization's state on chain, and
never moves MSC twice. A composition root: it builds the services from the ``MSC_*`` settings as
the API does (the redeemer key relays, the custody master key opens the custodial keys).
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from datetime import timedelta

from chain.platform import load_platform
from chain.settings import ChainSettings
from chain.signer import Signer
from common.sql.engine import create_engine_from_url, make_sessionmaker
from common.sql.helpers import utcnow
from common.sql.settings import DatabaseSettings
from custody.keystore import EnvelopeKeyManager
from custody.service import CustodyService
from custody.settings import CustodySettings
from merchant_money.wallet import WalletMoves
from settlement.redemption.service import RedemptionService
from settlement.workers.settings import WorkerSettings


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command; prints ``{"done": n, "abandoned": n, "pending": n}`` as JSON."""
    parser = argparse.ArgumentParser(prog="python -m merchant_money", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    finish = commands.add_parser("finish-moves", help="finish custodial wallet moves left pending")
    finish.add_argument("--older-than", type=int, default=60, help="seconds a move has been pending")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    chain = ChainSettings.from_env()
    platform = load_platform(chain)
    redeemer_key = WorkerSettings.from_env().worker_redeemer_key
    redeemer = (
        Signer.from_key(redeemer_key.get_secret_value()) if redeemer_key else Signer.from_settings(chain)
    )
    engine = create_engine_from_url(DatabaseSettings.from_env().url)
    try:
        sessions = make_sessionmaker(engine)
        custody = CustodyService(
            EnvelopeKeyManager(CustodySettings.from_env().key_ring()),
            chain_id=platform.w3.eth.chain_id,
            token_address=platform.msc.address,
        )
        wallet = WalletMoves(sessions, RedemptionService(sessions, platform, redeemer), custody)
        print(json.dumps(wallet.finish_open(utcnow() - timedelta(seconds=args.older_than)), sort_keys=True))
        return 0
    finally:
        engine.dispose()


if __name__ == "__main__":
    raise SystemExit(main())
