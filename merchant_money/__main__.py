"""Operator commands of merchants' money (a composition root: services built from ``MSC_*``).

* ``python -m merchant_money invite-owner MERCHANT_ID EMAIL [--base-url URL]``: invites a merchant's
  owner to the portal and prints the invitation link (``<base>/portal/invite/<token>``) once; only
  the token's hash is stored. The base is ``--base-url``, else ``MSC_PORTAL_PUBLIC_BASE_URL``.
* ``python -m merchant_money finish-moves [--older-than SECONDS]``: finishes custodial wallet moves
  (exports, rotation sweeps) left pending by a crash or a busy chain; prints what became of them.
  Run it from cron or after a restart: each move was written ahead with its signed relay, so
  finishing rebroadcasts that same transaction or reads the authorization's state on chain, and
  never moves MSC twice.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import uuid
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from accounts.seeds import SeedBox
from accounts.service import AccountService
from chain.platform import load_platform
from chain.settings import ChainSettings
from chain.signer import Signer
from common.errors import MSCError
from common.sql.engine import create_engine_from_url, make_sessionmaker
from common.sql.helpers import utcnow
from common.sql.settings import DatabaseSettings
from custody.keystore import EnvelopeKeyManager
from custody.service import CustodyService
from custody.settings import CustodySettings
from merchant_money.wallet import WalletMoves
from settlement.redemption.service import RedemptionService
from settlement.workers.settings import WorkerSettings

INVITE_PATH = "/portal/invite/"


def invite_owner(args: argparse.Namespace) -> int:
    """Prints the owner's invitation link; 2 with the reason on stderr when refused."""
    if not args.base_url:
        print(
            "give --base-url or set MSC_PORTAL_PUBLIC_BASE_URL (where people open the portal)",
            file=sys.stderr,
        )
        return 2
    engine = create_engine_from_url(DatabaseSettings.from_env().url)
    try:
        service = AccountService(
            make_sessionmaker(engine), seeds=SeedBox(CustodySettings.from_env().key_ring())
        )
        try:
            issued = service.invite_owner(args.merchant_id, args.email, operator=f"cli:{args.operator}")
        except IntegrityError:  # the invitation's merchant must exist (foreign key)
            print(f"no merchant {args.merchant_id}", file=sys.stderr)
            return 2
        except MSCError as exc:
            print(exc.message, file=sys.stderr)
            return 2
        print(f"{args.base_url.rstrip('/')}{INVITE_PATH}{issued.token}")
        print(f"expires {issued.expires_at.isoformat()}", file=sys.stderr)
        return 0
    finally:
        engine.dispose()


def finish_moves(args: argparse.Namespace) -> int:
    """Prints ``{"done": n, "abandoned": n, "pending": n}`` as JSON."""
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


def main(argv: Sequence[str] | None = None) -> int:
    """Runs one command."""
    parser = argparse.ArgumentParser(prog="python -m merchant_money", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    invite = commands.add_parser("invite-owner", help="invite a merchant's owner to the portal")
    invite.add_argument("merchant_id", type=uuid.UUID)
    invite.add_argument("email")
    invite.add_argument("--base-url", default=os.environ.get("MSC_PORTAL_PUBLIC_BASE_URL", ""))
    invite.add_argument(
        "--operator", default=os.environ.get("USER", "operator"), help="who invites (history)"
    )
    invite.set_defaults(run=invite_owner)
    finish = commands.add_parser("finish-moves", help="finish custodial wallet moves left pending")
    finish.add_argument("--older-than", type=int, default=60, help="seconds a move has been pending")
    finish.set_defaults(run=finish_moves)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return int(args.run(args))


if __name__ == "__main__":
    raise SystemExit(main())
