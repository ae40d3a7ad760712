"""Prometheus gauges of the LPUI, set whenever a computation ends (the latest day it covered).

They live on the process registry (``prometheus_client.REGISTRY``), which the API's ``/metrics``
and a worker's metrics port serve. Labels: the Kemendagri code and the kelurahan's name, so the
dashboard groups by code and shows the name.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import REGISTRY, Gauge

from city.kelurahan import BY_CODE
from city.lpui.compute import DayFigures

__all__ = ["AVG_COUNT", "AVG_VALUE", "INDEX", "REGISTRY", "publish"]

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
    """Sets the gauges to the figures of the latest day among ``figures`` (nothing if empty)."""
    rows = list(figures)
    if not rows:
        return
    latest = max(f.day for f in rows)
    for f in rows:
        if f.day != latest:
            continue
        place = BY_CODE[f.kelurahan_code].name if f.kelurahan_code in BY_CODE else f.kelurahan_code
        labels = {"kelurahan_code": f.kelurahan_code, "kelurahan": place}
        if f.index_bp is not None:
            INDEX.labels(**labels).set(f.index_bp)
        AVG_COUNT.labels(**labels).set(f.avg_count_milli)
        AVG_VALUE.labels(**labels).set(f.avg_value_sen)
