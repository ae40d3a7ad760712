"""Keeps the LPUI gauges of the API process current: they are refreshed from ``lpui_daily`` each
time Prometheus scrapes ``/metrics``.

``/metrics`` (:mod:`api.metrics`) collects the app's own registry first, then the process registry
where the gauges live; a collector on the app's registry that yields nothing but refreshes the
gauges therefore runs just before they are read. The computation itself runs elsewhere (``python
-m city.lpui compute`` from cron), so this is how its result reaches the dashboard.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from fastapi import FastAPI
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from city.lpui.metrics import refresh

log = logging.getLogger(__name__)


class LpuiGaugeRefresher(Collector):
    """Refreshes :mod:`city.lpui.metrics` from the app's database when its registry is collected."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        """Refreshes the gauges (a database error is logged: the other metrics are still served)."""
        sessions: sessionmaker[Session] | None = getattr(self.app.state, "sessions", None)
        if sessions is not None:
            try:
                with sessions() as session:
                    refresh(session)
            except SQLAlchemyError as exc:
                log.warning("LPUI gauges not refreshed: %s", type(exc).__name__)
        yield from ()


def install(app: FastAPI) -> None:
    """Registers the refresher on the app's metrics registry (``app.state.metrics``)."""
    app.state.metrics.registry.register(LpuiGaugeRefresher(app))
