"""``python -m city.lpui compute --from YYYY-MM-DD --to YYYY-MM-DD``: (re)computes the stored LPUI.

Days are Asia/Jakarta days; ``--to`` defaults to yesterday there, ``--from`` to ``--to``. Running
it again over the same range replaces those rows (idempotent), so a daily cron line
(``python -m city.lpui compute``) keeps the table current and a rerun after a crash is harmless.
Settings: ``MSC_DATABASE_URL`` and ``MSC_LPUI_*`` (:class:`city.lpui.settings.LpuiSettings`).
Prints ``{"days": n, "rows": n, "from": ..., "to": ...}`` as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import date, timedelta

from sqlalchemy.exc import IntegrityError

from city.lpui.compute import compute_range, jakarta_day
from city.lpui.metrics import publish
from city.lpui.settings import LpuiSettings
from common.errors import MSCError
from common.sql.engine import create_engine_from_url, make_sessionmaker
from common.sql.helpers import utcnow
from common.sql.settings import DatabaseSettings


def compute(args: argparse.Namespace) -> int:
    """Computes the range in one transaction; 2 with the reason on stderr when refused."""
    last: date = args.to or jakarta_day(utcnow()) - timedelta(days=1)
    first: date = args.from_ or last
    engine = create_engine_from_url(DatabaseSettings.from_env().url)
    try:
        sessions = make_sessionmaker(engine)
        with sessions.begin() as session:
            figures = compute_range(session, first, last, LpuiSettings.from_env(), on_computed=publish)
    except MSCError as exc:
        print(exc.message, file=sys.stderr)
        return 2
    except IntegrityError:  # another computation of overlapping days committed first
        print(
            "another computation of these days committed meanwhile; nothing was written, rerun",
            file=sys.stderr,
        )
        return 1
    finally:
        engine.dispose()
    summary = {"from": first.isoformat(), "to": last.isoformat(), "days": (last - first).days + 1}
    print(json.dumps({**summary, "rows": len(figures)}))
    return 0


def parser() -> argparse.ArgumentParser:
    """The command line."""
    top = argparse.ArgumentParser(prog="python -m city.lpui", description=__doc__.splitlines()[0])
    commands = top.add_subparsers(dest="command", required=True)
    run = commands.add_parser("compute", help="(re)compute the LPUI of a range of days")
    run.add_argument("--from", dest="from_", type=date.fromisoformat, default=None, help="first day")
    run.add_argument("--to", type=date.fromisoformat, default=None, help="last day (default: yesterday)")
    run.set_defaults(handler=compute)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Runs a command; its exit status."""
    args = parser().parse_args(argv)
    handler = args.handler
    status: int = handler(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
