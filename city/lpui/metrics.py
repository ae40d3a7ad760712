"""Prometheus gauges of the LPUI: the figures of the latest computed day, per kelurahan.

They live on the process registry (``prometheus_client.REGISTRY``), which the API's ``/metrics``
serves. They are set when a computation ends in this process (:func:`publish`) and, since the
daily computation usually runs in its own short process (``python -m city.lpui compute``), from
the stored rows (:func:`refresh`), which the API does on every scrape (:mod:`api.lpui.metrics`).
Labels: the Kemendagri code and the kelurahan's name, so the dashboard groups by code and shows
the name.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import REGISTRY, Gauge
from sqlalchemy import select
from sqlalchemy.orm import Session

from city.kelurahan import BY_CODE
from city.lpui.compute import DayFigures
from city.lpui.models import LpuiDaily

__all__ = ["AVG_COUNT", "AVG_VALUE", "INDEX", "REGISTRY", "publish", "refresh"]

INDEX = Gauge(
    "msc_lpui_index",
    "LPUI of a kelurahan on the latest computed day, in basis points (0..10000).",
    ["kelurahan_code", "kelurahan"],
    multiprocess_mode="mostrecent",
    registry=REGISTRY,
)
AVG_COUNT = Gauge(
    "msc_lpui_avg_count_milli",
    "Trailing-window average daily count of settled payments x 1000, per kelurahan.",
    ["kelurahan_code", "kelurahan"],
    multiprocess_mode="mostrecent",
    registry=REGISTRY,
)
AVG_VALUE = Gauge(
    "msc_lpui_avg_value_sen",
    "Trailing-window average daily value of settled payments in sen, per kelurahan.",
    ["kelurahan_code", "kelurahan"],
    multiprocess_mode="mostrecent",
    registry=REGISTRY,
)


def publish(figures: Iterable[DayFigures]) -> None:
    """Sets the gauges to the figures of the latest day among ``figures`` (nothing if empty); the
    gauges' earlier label sets are cleared first, so a kelurahan no longer shown disappears."""
    rows = list(figures)
    if not rows:
        return
    latest = max(f.day for f in rows)
    for gauge in (INDEX, AVG_COUNT, AVG_VALUE):
        gauge.clear()
    for f in rows:
        if f.day != latest:
            continue
        place = BY_CODE[f.kelurahan_code].name if f.kelurahan_code in BY_CODE else f.kelurahan_code
        labels = {"kelurahan_code": f.kelurahan_code, "kelurahan": place}
        if f.index_bp is not None:
            INDEX.labels(**labels).set(f.index_bp)
        AVG_COUNT.labels(**labels).set(f.avg_count_milli)
        AVG_VALUE.labels(**labels).set(f.avg_value_sen)


def refresh(session: Session) -> None:
    """Sets the gauges from the stored rows of the latest computed day (nothing stored: unchanged)."""
    latest = select(LpuiDaily.day).order_by(LpuiDaily.day.desc()).limit(1).scalar_subquery()
    rows = session.scalars(select(LpuiDaily).where(LpuiDaily.day == latest)).all()
    publish(
        DayFigures(
            kelurahan_code=r.kelurahan_code,
            day=r.day,
            tx_count=r.tx_count,
            tx_value_sen=r.tx_value_sen,
            avg_count_milli=r.avg_count_milli,
            avg_value_sen=r.avg_value_sen,
            index_bp=r.index_bp,
        )
        for r in rows
    )
