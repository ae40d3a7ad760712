"""The runbook's table of reconciliation checks names exactly the checks the code runs.

Why: an operator paged for ``escrow_books_refunded`` looks it up in docs/operations.md. Every
check result is built by ``equal`` or ``at_most`` with its name as the first argument, or, for
the escrow outcomes, as ``escrow_books_<outcome>`` over ``ESCROW_OUTCOMES``; the test reads those
names from ``audit/reconcile/checks.py`` and compares them with the first column of the runbook's
table.
"""

from __future__ import annotations

import re
from pathlib import Path

from audit.reconcile.checks import ESCROW_OUTCOMES

ROOT = Path(__file__).resolve().parents[2]


def checks_in_code() -> set[str]:
    """Names of every check result ``audit/reconcile/checks.py`` builds."""
    source = (ROOT / "audit" / "reconcile" / "checks.py").read_text(encoding="utf-8")
    literal = set(re.findall(r"\b(?:equal|at_most)\(\s*\"([a-z_]+)\"", source))
    assert 'f"escrow_books_{name}"' in source, "the escrow outcome checks are no longer named this way"
    return literal | {f"escrow_books_{outcome[0]}" for outcome in ESCROW_OUTCOMES}


def checks_in_runbook() -> set[str]:
    """Names in the first column of the runbook's table of checks."""
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    table = text.split("| check | compares |", 1)[1].split("\n\n", 1)[0]
    names: set[str] = set()
    for row in table.splitlines()[2:]:
        first = row.split("|")[1]
        names.update(re.findall(r"`([a-z_]+)`", first))
    return names


def test_runbook_namesEveryCheck_andNoOther() -> None:
    """Every check the code runs has a row, and every row is a check the code runs."""
    code = checks_in_code()
    assert len(code) >= 15
    assert checks_in_runbook() == code
