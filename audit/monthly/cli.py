"""``python -m audit monthly build --month YYYY-MM|last``: build and store a month's public report.

Prints the stored report as JSON (``month``, ``sha256``, ``end_block``, ``new``, ``figures``).
Building a month already stored prints the stored one unchanged (``"new": false``). A month not yet
ended, or whose end the mirror has not reached, is refused (exit status 2, nothing stored), as is a
malformed month. ``last`` is the last month ended (Asia/Jakarta).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from audit.monthly.period import last_ended, parse_month
from audit.monthly.store import publish
from audit.settings import AuditSettings
from common.sql.engine import create_engine_from_url, make_sessionmaker
from common.sql.helpers import utcnow
from common.sql.migrate import upgrade


def _build(args: argparse.Namespace) -> int:
    overrides: dict[str, Any] = {} if args.database_url is None else {"database_url": args.database_url}
    settings = AuditSettings.from_env(**overrides)
    now = utcnow()
    month = last_ended(now) if args.month == "last" else parse_month(args.month)
    url = settings.resolved_database_url()
    upgrade(url)
    engine = create_engine_from_url(url)
    try:
        stored, new = publish(make_sessionmaker(engine), month, now=now, stream=settings.stream)
    finally:
        engine.dispose()
    print(
        json.dumps(
            {
                "month": stored.month,
                "sha256": stored.sha256,
                "end_block": stored.end_block_number,
                "new": new,
                "figures": stored.figures,
            },
            sort_keys=True,
        )
    )
    return 0


def add_parser(sub: Any) -> None:
    """Adds ``monthly build`` to the audit command line."""
    parser = sub.add_parser("monthly", help="the monthly public report: build and store a month")
    msub = parser.add_subparsers(dest="monthly_command", required=True)
    build = msub.add_parser("build", help="build and store a month's report (write-once)")
    build.add_argument("--month", required=True, help="YYYY-MM (Asia/Jakarta), or 'last'")
    build.add_argument("--database-url", dest="database_url")
    build.set_defaults(run=_build)
