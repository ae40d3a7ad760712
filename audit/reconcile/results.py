"""The outcome of one reconciliation check."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict on one subject at one block.

    Attributes:
        check: Stable name of the check (a metric label, a column value).
        subject: What was checked: a token id, an escrow address, or ``""`` for a global check.
        ok: Whether the invariant holds.
        expected: The figure the invariant demands (exact integer: sen or tonnes).
        actual: The figure found.
        details: The parts that make up the figures, for the explorer and the alert.
    """

    check: str
    subject: str
    ok: bool
    expected: int
    actual: int
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (integers as decimal text, since sums exceed JSON's safe range)."""
        return {
            "check": self.check,
            "subject": self.subject,
            "ok": self.ok,
            "expected": str(self.expected),
            "actual": str(self.actual),
            "details": self.details,
        }


def equal(check: str, subject: str, expected: int, actual: int, **details: Any) -> CheckResult:
    """A result that holds when the two figures are equal."""
    return CheckResult(check, subject, expected == actual, expected, actual, details)


def at_most(check: str, subject: str, limit: int, actual: int, **details: Any) -> CheckResult:
    """A result that holds when ``actual`` does not exceed ``limit`` (reported as expected)."""
    return CheckResult(check, subject, actual <= limit, limit, actual, details)
