"""``python -m settlement.webhooks [once|run]``: deliver due webhooks once, or until interrupted."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import threading
from collections.abc import Sequence
from types import FrameType

from common.sql.engine import create_engine_from_url
from settlement.webhooks.dispatcher import WebhookDispatcher
from settlement.webhooks.settings import WebhookSettings


def build_dispatcher(settings: WebhookSettings) -> WebhookDispatcher:
    """A dispatcher over the configured database with the configured schedule."""
    return WebhookDispatcher(
        create_engine_from_url(settings.resolved_database_url()),
        timeout_s=settings.timeout_s,
        max_attempts=settings.max_attempts,
        backoff_base_s=settings.backoff_base_s,
        backoff_max_s=settings.backoff_max_s,
        lease_s=settings.lease_s,
        policy=settings.target_policy(),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command; ``once`` prints what it did as JSON."""
    parser = argparse.ArgumentParser(prog="python -m settlement.webhooks", description=__doc__)
    parser.add_argument("command", choices=["once", "run"], help="deliver what is due once, or keep polling")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = WebhookSettings.from_env()
    dispatcher = build_dispatcher(settings)
    try:
        if args.command == "once":
            report = dispatcher.run_once()
            print(json.dumps({**report.__dict__, "handled": report.handled}))
            return 0
        stop = threading.Event()

        def _stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        dispatcher.run(stop, settings.poll_interval_s)
        return 0
    finally:
        dispatcher.close()


if __name__ == "__main__":
    raise SystemExit(main())
