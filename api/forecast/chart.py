"""The forecast chart as inline SVG geometry: recent history, the forecast and its 80% band.

Coordinates only (the CSP forbids inline style: the template styles by class). Display geometry
uses floats; the figures themselves stay exact integers elsewhere on the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from city.forecast.reading import Band

WIDTH = 600
HEIGHT = 220
PAD = 8


@dataclass(frozen=True)
class ForecastChart:
    """Polyline points of the history and the forecast, the band's polygon, the split's x and the
    scale's top (in the metric's stored unit)."""

    history: str
    forecast: str
    band: str
    split_x: float
    top: int


def build(history: Sequence[tuple[date, int]], path: Sequence[tuple[date, Band]]) -> ForecastChart:
    """The chart of ``history`` followed by ``path`` on one time axis."""
    top = max([1, *(v for _, v in history), *(b.hi80 for _, b in path)])
    total = max(len(history) + len(path) - 1, 1)

    def xy(index: int, value: int) -> str:
        x = PAD + index * (WIDTH - 2 * PAD) / total
        y = HEIGHT - PAD - value / top * (HEIGHT - 2 * PAD)
        return f"{x:.1f},{y:.1f}"

    start = len(history)
    upper = [xy(start + n, b.hi80) for n, (_, b) in enumerate(path)]
    lower = [xy(start + n, b.lo80) for n, (_, b) in enumerate(path)]
    joined = [xy(start - 1, history[-1][1])] if history else []
    return ForecastChart(
        history=" ".join(xy(n, v) for n, (_, v) in enumerate(history)),
        forecast=" ".join(joined + [xy(start + n, b.point) for n, (_, b) in enumerate(path)]),
        band=" ".join(upper + lower[::-1]),
        split_x=PAD + max(start - 1, 0) * (WIDTH - 2 * PAD) / total,
        top=top,
    )
