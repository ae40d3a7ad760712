"""Errors of the merchant reports (subclasses of the platform's one error root)."""

from __future__ import annotations

from common.errors import ValidationError


class ReportPeriodError(ValidationError):
    """A report period that cannot be read or is out of range; nothing was produced."""

    code = "report_period_invalid"

    def __init__(self, problem: str) -> None:
        super().__init__(f"report period: {problem}")
