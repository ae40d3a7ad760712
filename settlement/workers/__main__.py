"""``python -m settlement.workers [celery worker options]``: a settlement worker with its sweep.

Equivalent to ``celery -A settlement.workers.celery_app worker -Q <MSC_WORKER_QUEUE> -B``;
extra arguments are passed to Celery (e.g. ``--concurrency 4``; drop ``-B`` on all but one
machine with ``--no-beat``).
"""

from __future__ import annotations

import sys

from settlement.workers.celery_app import app
from settlement.workers.settings import WorkerSettings


def main(argv: list[str]) -> None:
    """Runs a worker until it is stopped."""
    settings = WorkerSettings.from_env()
    beat = "--no-beat" not in argv
    args = [a for a in argv if a != "--no-beat"]
    command = ["worker", "-Q", settings.worker_queue, "--loglevel", "INFO", *(["-B"] if beat else []), *args]
    app.worker_main(command)


if __name__ == "__main__":
    main(sys.argv[1:])
