"""``python -m city.forecast compute [--history-days N] [--as-of YYYY-MM-DD]``: forecasts and stores.

``--as-of`` (the last day of history) defaults to the last complete Asia/Jakarta day (yesterday
there), ``--history-days`` to 90. One transaction; rerunning the same history replaces its run.
Prints one JSON line: the run, and per metric the city's MASE and MAPE of the model and of the
seasonal-naive baseline (basis points) and the kelurahan's mean MASE of both.
Settings: ``MSC_DATABASE_URL``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import date, timedelta

from sqlalchemy.exc import IntegrityError

from city.forecast.compute import DEFAULT_HISTORY_DAYS, run
from city.forecast.summary import summarise
from city.lpui.compute import jakarta_day
from common.errors import MSCError
from common.sql.engine import create_engine_from_url, make_sessionmaker
from common.sql.helpers import utcnow
from common.sql.settings import DatabaseSettings


def compute(
    database_url: str, as_of: date | None = None, history_days: int = DEFAULT_HISTORY_DAYS
) -> dict[str, object]:
    """Runs and stores the forecasts in one transaction on ``database_url`` (the launcher's entry
    point); the summary. Raises :class:`common.errors.MSCError` on bad input."""
    last = as_of or jakarta_day(utcnow()) - timedelta(days=1)
    engine = create_engine_from_url(database_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            return summarise(run(session, last, history_days))
    finally:
        engine.dispose()


def _compute(args: argparse.Namespace) -> int:
    try:
        summary = compute(DatabaseSettings.from_env().url, args.as_of, args.history_days)
    except MSCError as exc:
        print(exc.message, file=sys.stderr)
        return 2
    except IntegrityError:  # another run of the same history committed first
        print("another run of this history committed meanwhile; nothing was written, rerun", file=sys.stderr)
        return 1
    print(json.dumps(summary))
    return 0


def parser() -> argparse.ArgumentParser:
    """The command line."""
    top = argparse.ArgumentParser(prog="python -m city.forecast", description=__doc__.splitlines()[0])
    commands = top.add_subparsers(dest="command", required=True)
    go = commands.add_parser("compute", help="forecast 90 days per kelurahan and backtest")
    go.add_argument("--history-days", type=int, default=DEFAULT_HISTORY_DAYS, help="days of history read")
    go.add_argument("--as-of", type=date.fromisoformat, default=None, help="last day of history")
    go.set_defaults(handler=_compute)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Runs a command; its exit status."""
    args = parser().parse_args(argv)
    status: int = args.handler(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
