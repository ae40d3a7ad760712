"""Tables the explorer shows: columns, server-side paging and sorting, CSV and JSON exports.

A table is a list of :class:`Column` and rows (dicts keyed by column key) whose amounts are exact
Python ints in minor units (sen) or whole tonnes. Pages sort and slice on the server, in SQL where
the rows come straight from a query (:func:`page_of_select`), in Python where they are derived
as of the confirmed block first (:func:`page_of_rows`). Exports carry the same rows unformatted:
integers stay integers (JSON numbers of any size, CSV digits), never a formatted string.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Select, func, select
from sqlalchemy.sql.elements import ColumnElement

from audit.csv_safe import number_cell, text_cell
from common.errors import ValidationError

Row = dict[str, Any]
MAX_PAGE = 10**9
"""The largest page number or size a request may name (beyond it SQL offsets overflow)."""


class Kind(StrEnum):
    """How a column's values are shown (exports always carry the raw value)."""

    TEXT = "text"
    INT = "int"
    IDR = "idr"
    """Sen of MSC/Rupiah: shown as ``Rp 15.000,50``, the exact sen on hover."""
    TONNES = "tonnes"
    """Whole tonnes of CO2e (1 carbon credit = 1 t)."""
    ADDRESS = "address"
    TX = "tx"
    BLOCK = "block"
    TIME = "time"
    """Unix seconds, shown in UTC."""
    TOKEN = "token"
    """A carbon vintage's token id."""
    CERTIFICATE = "certificate"
    PAYMENT = "payment"
    """An escrow payment id (bytes32)."""
    TXS = "txs"
    """A list of transaction hashes."""
    SCORE = "score"
    """A score in [0, 1] (an anomaly's severity; never money)."""
    CHECK = "check"
    """A pass/fail verdict (bool)."""


@dataclass(frozen=True)
class Column:
    """One column: its key in the rows, its heading, how it shows, whether it sorts."""

    key: str
    title: str
    kind: Kind = Kind.TEXT
    sortable: bool = False


@dataclass(frozen=True)
class PageRequest:
    """Which slice of a table, in which order. ``size`` None means every row (an export)."""

    page: int = 1
    size: int | None = 25
    sort: str | None = None
    desc: bool = True

    @property
    def offset(self) -> int:
        """Rows before this page."""
        return 0 if self.size is None else (self.page - 1) * self.size


@dataclass(frozen=True)
class Page:
    """A page of a table and what it takes to link to its neighbours."""

    columns: Sequence[Column]
    rows: list[Row]
    total: int
    request: PageRequest
    sort: str
    """The sort actually applied (the request's, else the table's default)."""

    @property
    def pages(self) -> int:
        """How many pages the table has (at least 1)."""
        if self.request.size is None or self.total == 0:
            return 1
        return (self.total + self.request.size - 1) // self.request.size


def parse_request(
    params: Mapping[str, str], prefix: str, columns: Sequence[Column], page_size: int, max_page_size: int
) -> PageRequest:
    """The page a query string asks for: ``<prefix>`` + ``page``, ``size``, ``sort``, ``dir``.

    A prefix lets one HTML page hold several tables, each paging on its own.

    Raises:
        ValidationError: a page or size that is not a positive integer, a size above the maximum,
            a sort key that is not a sortable column, a direction other than asc/desc.
    """

    def positive(name: str, default: int) -> int:
        raw = params.get(prefix + name)
        if raw is None or raw == "":
            return default
        if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_PAGE:
            raise ValidationError(
                f"{prefix + name} must be an integer from 1 to {MAX_PAGE}, got {raw[:40]!r}",
                field=prefix + name,
            )
        return int(raw)

    size = positive("size", page_size)
    if size > max_page_size:
        raise ValidationError(
            f"{prefix}size may be at most {max_page_size}, got {size}", field=prefix + "size"
        )
    sort = params.get(prefix + "sort") or None
    sortable = [c.key for c in columns if c.sortable]
    if sort is not None and sort not in sortable:
        raise ValidationError(
            f"{prefix}sort must be one of {', '.join(sortable) or 'nothing'}, got {sort!r}",
            field=prefix + "sort",
        )
    direction = params.get(prefix + "dir") or "desc"
    if direction not in ("asc", "desc"):
        raise ValidationError(f"{prefix}dir must be asc or desc, got {direction!r}", field=prefix + "dir")
    return PageRequest(page=positive("page", 1), size=size, sort=sort, desc=direction == "desc")


def page_of_rows(
    rows: Sequence[Row],
    columns: Sequence[Column],
    request: PageRequest,
    default_sort: str,
    tie_break: Callable[[Row], Any] | None = None,
) -> Page:
    """Sorts and slices rows already in memory (derived as of the confirmed block).

    Sorting is stable and by exact values; None sorts below every value.
    """
    sort = request.sort or default_sort

    def key(row: Row) -> tuple[Any, ...]:
        value = row.get(sort)
        return (value is not None, value if value is not None else 0, tie_break(row) if tie_break else 0)

    ordered = sorted(rows, key=key, reverse=request.desc)
    end = None if request.size is None else request.offset + request.size
    return Page(columns, list(ordered[request.offset : end]), len(rows), request, sort)


def page_of_select(
    conn: Connection,
    query: Select[Any],
    columns: Sequence[Column],
    request: PageRequest,
    order: Mapping[str, Sequence[ColumnElement[Any]]],
    default_sort: str,
    convert: Callable[[Row], Row] = dict,
) -> Page:
    """Sorts and slices in SQL: one ``COUNT`` over the query and one ``ORDER BY ... LIMIT/OFFSET``.

    Args:
        order: For each sortable key, the SQL expressions to order by (the last ones break ties).
        convert: Turns a result row's mapping into the table row (e.g. decimal text to int).
    """
    sort = request.sort or default_sort
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    expressions = [e.desc() if request.desc else e.asc() for e in order[sort]]
    paged = query.order_by(*expressions).offset(request.offset)
    if request.size is not None:
        paged = paged.limit(request.size)
    rows = [convert(dict(r._mapping)) for r in conn.execute(paged)]
    return Page(columns, rows, int(total), request, sort)


def export_value(value: Any) -> Any:
    """A cell as it is exported: ints stay exact ints, everything else as its text or JSON form."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value)
    return str(value)


NUMERIC_KINDS = frozenset(
    {Kind.INT, Kind.IDR, Kind.TONNES, Kind.BLOCK, Kind.TIME, Kind.TOKEN, Kind.CERTIFICATE, Kind.SCORE}
)
"""Columns whose values are numbers: exported as exact digits (negative ones too), never quoted."""


def csv_cell(column: Column, value: Any) -> str:
    """One exported cell: numbers of numeric columns exact, every other cell text a spreadsheet won't run.

    See :mod:`audit.csv_safe`: ``=HYPERLINK(...)`` as a beneficiary name is exported as ``'=HYPERLINK(...)``.
    """
    if value is None:
        return ""
    if column.kind in NUMERIC_KINDS:
        return number_cell(value)
    return text_cell(str(export_value(value)))


def to_csv(page: Page) -> str:
    """The rows as CSV with a header of column keys; integers are plain digits, text is formula-safe."""
    out = io.StringIO()
    # RFC 4180 line ends: the writer then quotes a cell holding a lone CR, which would split the row.
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([text_cell(c.key) for c in page.columns])
    for row in page.rows:
        writer.writerow([csv_cell(c, row.get(c.key)) for c in page.columns])
    return out.getvalue()


def to_json(page: Page, table: str, as_of_block: int | None) -> str:
    """The rows as a JSON document saying which table, as of which block, in which order.

    Amounts are JSON integers of their minor unit, exact at any size (Python writes big ints
    digit for digit; a reader that needs them exact must parse them as big integers).
    """
    document = {
        "table": table,
        "as_of_block": as_of_block,
        "sort": page.sort,
        "dir": "desc" if page.request.desc else "asc",
        "total": page.total,
        "columns": [{"key": c.key, "title": c.title, "kind": c.kind.value} for c in page.columns],
        "rows": [{c.key: _json_value(row.get(c.key)) for c in page.columns} for row in page.rows],
    }
    return json.dumps(document, indent=1)


def _json_value(value: Any) -> Any:
    """A cell as JSON carries it: lists and objects stay structured, the rest as :func:`export_value`."""
    if isinstance(value, list | dict):
        return value
    return export_value(value)
