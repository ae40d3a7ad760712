"""A set of unit serials kept as sorted, disjoint, inclusive ranges.

Registries count units in the millions, so serials are never stored one by one: a project vintage's
free units, a token's live units and an account's holdings are each a handful of ranges, and locking,
retiring or returning units is interval arithmetic.
"""

from __future__ import annotations

from collections.abc import Iterable

from carbon.registry.interface import SerialRange


class RangeSet:
    """Mutable set of serials; every method keeps the ranges sorted, disjoint and merged."""

    def __init__(self, ranges: Iterable[SerialRange] = ()) -> None:
        self._ranges: list[tuple[int, int]] = []
        for serial_range in ranges:
            self.add(serial_range)

    @property
    def ranges(self) -> tuple[SerialRange, ...]:
        """The ranges, lowest first."""
        return tuple(SerialRange(first, last) for first, last in self._ranges)

    @property
    def total(self) -> int:
        """Number of serials in the set."""
        return sum(last - first + 1 for first, last in self._ranges)

    def add(self, serial_range: SerialRange) -> None:
        """Adds the serials of ``serial_range`` (merging with neighbours; overlaps are absorbed)."""
        first, last = serial_range.first, serial_range.last
        kept: list[tuple[int, int]] = []
        for low, high in self._ranges:
            if high < first - 1 or low > last + 1:
                kept.append((low, high))
            else:
                first, last = min(first, low), max(last, high)
        kept.append((first, last))
        kept.sort()
        self._ranges = kept

    def remove(self, serial_range: SerialRange) -> None:
        """Removes the serials of ``serial_range`` that are in the set."""
        first, last = serial_range.first, serial_range.last
        kept: list[tuple[int, int]] = []
        for low, high in self._ranges:
            if high < first or low > last:
                kept.append((low, high))
                continue
            if low < first:
                kept.append((low, first - 1))
            if high > last:
                kept.append((last + 1, high))
        self._ranges = kept

    def intersection(self, serial_range: SerialRange) -> tuple[SerialRange, ...]:
        """The parts of ``serial_range`` that are in the set."""
        parts = []
        for low, high in self._ranges:
            first, last = max(low, serial_range.first), min(high, serial_range.last)
            if first <= last:
                parts.append(SerialRange(first, last))
        return tuple(parts)

    def contains(self, serial_range: SerialRange) -> bool:
        """Whether every serial of ``serial_range`` is in the set."""
        return sum(part.size for part in self.intersection(serial_range)) == serial_range.size

    def take_lowest(self, count: int) -> tuple[SerialRange, ...]:
        """Removes and returns the ``count`` lowest serials (caller checks ``total`` first)."""
        taken: list[SerialRange] = []
        needed = count
        for low, high in list(self._ranges):
            if needed == 0:
                break
            last = min(high, low + needed - 1)
            taken.append(SerialRange(low, last))
            needed -= last - low + 1
        for part in taken:
            self.remove(part)
        return tuple(taken)
