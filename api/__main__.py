"""``python -m api keys issue --role operator``: issue a staff key straight into the database.

Why: the first operator key needs no shared header secret this way. The command runs where the
database is reachable (the operator's shell on the server), stores only the key's SHA-256 and
prints the key once. ``keys revoke <id>`` revokes any key the same way (e.g. a leaked one, when
no operator key is at hand).
"""

from __future__ import annotations

import argparse
import json
import uuid
from collections.abc import Sequence

from api.auth import Principal, issue_key
from api.credit.lender_keys import issue_lender_key
from api.key_lifecycle import revoke
from api.models import Role
from api.settings import ApiSettings
from common.sql.engine import create_engine_from_url, make_sessionmaker
from common.sql.helpers import utcnow

_CONSOLE = Principal(uuid.UUID(int=0), Role.OPERATOR, None)
"""Whoever can run this command on the server acts as an operator."""


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command; prints its result as one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m api", description=__doc__)
    groups = parser.add_subparsers(dest="group", required=True)
    keys = groups.add_parser("keys", help="API keys").add_subparsers(dest="command", required=True)
    issue = keys.add_parser("issue", help="issue a staff key and print it once")
    issue.add_argument("--role", choices=["operator", "auditor", "lender"], required=True)
    issue.add_argument("--lender-name", default=None, help="for --role lender: the lender (created if new)")
    issue.add_argument(
        "--database-url", default=None, help="default: MSC_API_DATABASE_URL / MSC_DATABASE_URL"
    )
    revoke_cmd = keys.add_parser("revoke", help="revoke a key by id, at once")
    revoke_cmd.add_argument("key_id", type=uuid.UUID)
    revoke_cmd.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    if args.command == "issue" and (args.role == "lender") != (args.lender_name is not None):
        parser.error("--role lender needs --lender-name, and only it takes one")

    settings = ApiSettings.from_env()
    engine = create_engine_from_url(args.database_url or settings.resolved_database_url())
    sessions = make_sessionmaker(engine)
    try:
        with sessions.begin() as session:
            if args.command == "issue" and args.role == "lender":
                lender_key, lender = issue_lender_key(session, args.lender_name, utcnow())
                out: dict[str, str | None] = {
                    "id": str(lender_key.id),
                    "role": str(lender_key.role),
                    "api_key": lender_key.secret,
                    "lender_id": str(lender.id),
                    "lender_name": lender.name,
                }
            elif args.command == "issue":
                key = issue_key(session, Role(args.role))
                out = {"id": str(key.id), "role": str(key.role), "api_key": key.secret}
            else:
                row = revoke(session, _CONSOLE, args.key_id)
                out = {
                    "id": str(row.id),
                    "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
                }
        print(json.dumps(out))
        return 0
    finally:
        engine.dispose()


if __name__ == "__main__":
    raise SystemExit(main())
