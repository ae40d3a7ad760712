"""``python -m city.credit compute [--day YYYY-MM-DD]``: stores the day's LDCI of every merchant
that consents to scoring now, and of no one else.

The day is an Asia/Jakarta day, yesterday there by default (a daily cron line keeps
``ldci_daily`` current). One transaction per run; rerunning the same day replaces its rows
(idempotent), and a merchant that revoked its consent since loses its row of that day.
Settings: ``MSC_DATABASE_URL``. Prints ``{"day": ..., "merchants": n, "scored": n,
"no_history": n}`` as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import date, timedelta

from sqlalchemy.exc import IntegrityError

from city.credit.consent import merchants_consenting_to_scoring
from city.credit.inputs import jakarta_day
from city.credit.ldci_models import store_day
from common.errors import MSCError
from common.sql.engine import create_engine_from_url, make_sessionmaker
from common.sql.helpers import utcnow
from common.sql.settings import DatabaseSettings


def compute(args: argparse.Namespace) -> int:
    """Computes the day in one transaction; 2 with the reason on stderr when refused."""
    now = utcnow()
    day: date = args.day or jakarta_day(now) - timedelta(days=1)
    engine = create_engine_from_url(DatabaseSettings.from_env().url)
    try:
        sessions = make_sessionmaker(engine)
        with sessions.begin() as session:
            rows = store_day(session, day, merchants_consenting_to_scoring(session, now), now)
            scored = sum(1 for r in rows if r.score is not None)
    except MSCError as exc:
        print(exc.message, file=sys.stderr)
        return 2
    except IntegrityError:  # another computation of the same day committed first
        print(
            "another computation of this day committed meanwhile; nothing was written, rerun", file=sys.stderr
        )
        return 1
    finally:
        engine.dispose()
    summary = {
        "day": day.isoformat(),
        "merchants": len(rows),
        "scored": scored,
        "no_history": len(rows) - scored,
    }
    print(json.dumps(summary))
    return 0


def parser() -> argparse.ArgumentParser:
    """The command line."""
    top = argparse.ArgumentParser(prog="python -m city.credit", description=(__doc__ or "").splitlines()[0])
    commands = top.add_subparsers(dest="command", required=True)
    run = commands.add_parser("compute", help="(re)compute the LDCI of consenting merchants for one day")
    run.add_argument("--day", type=date.fromisoformat, default=None, help="the day (default: yesterday, WIB)")
    run.set_defaults(handler=compute)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Runs a command; its exit status."""
    args = parser().parse_args(argv)
    status: int = args.handler(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
