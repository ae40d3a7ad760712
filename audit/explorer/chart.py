"""The overview's supply-versus-reserves chart as an inline SVG (no chart library, no CDN).

Both series are step functions of the block number: supply changes at each block that mints or
burns, attested reserves at each attestation. They are drawn on one scale so the gap between
them (reserves not backing tokens) is visible at a glance; when one is more than
:data:`LOG_RATIO` times the other (a bank attesting Rp 1 miliar for Rp 300.000 of tokens) a linear
scale would flatten the smaller to the axis, so the scale turns logarithmic and says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 600
HEIGHT = 220
PAD = 8
LOG_RATIO = 50


@dataclass(frozen=True)
class Chart:
    """Polyline points of both series in a ``WIDTH`` x ``HEIGHT`` box, and the scale's top in sen."""

    supply: str
    reserves: str
    top: int
    first_block: int
    last_block: int
    logarithmic: bool


def _steps(points: Sequence[tuple[int, int]], first: int, last: int) -> list[tuple[int, int]]:
    """A step series from (block, value) changes: flat until the next change, up to ``last``."""
    steps: list[tuple[int, int]] = []
    value = 0
    for block, new in sorted(points):
        steps.append((block, value))
        steps.append((block, new))
        value = new
    steps.insert(0, (first, 0))
    steps.append((last, value))
    return steps


def build(
    supply: Sequence[tuple[int, int]], reserves: Sequence[tuple[int, int]], first: int, last: int
) -> Chart:
    """The chart of ``supply`` and ``reserves`` (block, sen) changes between blocks ``first`` and ``last``."""
    values = [v for _, v in supply] + [v for _, v in reserves]
    top = max([*values, 1])
    positive = [v for v in values if v > 0]
    logarithmic = bool(positive) and top > LOG_RATIO * min(positive)
    span = max(last - first, 1)

    def height(value: int) -> float:
        # Display geometry only (floats are fine here); the figures themselves stay exact ints.
        if logarithmic:
            return math.log10(1 + value) / math.log10(1 + top)
        return value / top

    def polyline(points: Sequence[tuple[int, int]]) -> str:
        coords = []
        for block, value in _steps(points, first, last):
            x = PAD + (block - first) * (WIDTH - 2 * PAD) / span
            y = HEIGHT - PAD - height(value) * (HEIGHT - 2 * PAD)
            coords.append(f"{x:.1f},{y:.1f}")
        return " ".join(coords)

    return Chart(polyline(supply), polyline(reserves), top, first, last, logarithmic)
