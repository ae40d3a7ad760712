"""``python -m accounts invite-owner MERCHANT_ID EMAIL``: the operator invites a merchant's owner.

Prints the invitation link (``<base>/portal/invite/<token>``) once; only the token's hash is
stored. The base is ``--base-url``, else ``MSC_PORTAL_PUBLIC_BASE_URL``. This is a composition
root: it builds the account service from the settings (the TOTP seed box takes the custody
master-key ring, as the API does).
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError

from accounts.seeds import SeedBox
from accounts.service import AccountService
from common.errors import MSCError
from common.sql.engine import create_engine_from_url, make_sessionmaker
from common.sql.settings import DatabaseSettings
from custody.settings import CustodySettings

INVITE_PATH = "/portal/invite/"


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command; 0 with the link on stdout, 2 with the reason on stderr."""
    parser = argparse.ArgumentParser(prog="python -m accounts", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    invite = commands.add_parser("invite-owner", help="invite a merchant's owner to the portal")
    invite.add_argument("merchant_id", type=uuid.UUID)
    invite.add_argument("email")
    invite.add_argument("--base-url", default=os.environ.get("MSC_PORTAL_PUBLIC_BASE_URL", ""))
    invite.add_argument(
        "--operator", default=os.environ.get("USER", "operator"), help="who invites (history)"
    )
    args = parser.parse_args(argv)
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
        except IntegrityError:
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


if __name__ == "__main__":
    raise SystemExit(main())
