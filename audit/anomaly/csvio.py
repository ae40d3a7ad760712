"""Strict reading and writing of the trades CSV.

The file must have the columns of :data:`COLUMNS` (extra columns are ignored, except ``label``
which a labelled evaluation file carries). Every row is validated on its own; a bad row is
reported with its line number and the reason and skipped, so one broken export line never stops
an audit run. Only a file that cannot be read at all (missing, not UTF-8, no header, a required
column absent) raises :class:`~audit.anomaly.errors.InputFileError`.

Text cells are written formula-safe and read back exactly (:mod:`audit.csv_safe`): a sender or a
label beginning with ``=`` is stored as ``'=...`` so a spreadsheet opening the file never runs it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from audit.anomaly.errors import InputFileError
from audit.anomaly.trades import KIND_CODE, TOKEN_CODE, TradeRow, TradeTable
from audit.csv_safe import restore_cell, text_cell

COLUMNS: tuple[str, ...] = (
    "ts",
    "tx_hash",
    "kind",
    "sender",
    "receiver",
    "token",
    "token_id",
    "amount",
    "price",
)
"""Required columns of a trades CSV, in the order files are written."""
LABEL_COLUMN = "label"
MAX_AMOUNT = 10**15
"""Upper bound for ``amount`` and ``price``: Rp 10 trillion in sen; anything larger is a data error."""


@dataclass(frozen=True, slots=True)
class RowError:
    """A rejected row: where it is and why."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True)
class ParseResult:
    """Valid trades as a table plus the rows that were skipped."""

    table: TradeTable
    errors: list[RowError]


class _RowRejectedError(ValueError):
    """Internal: a field failed validation; the message is the reason shown to the user."""


def _parse_ts(text: str) -> int:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _RowRejectedError(f"ts {text!r} is not an ISO 8601 timestamp") from None
    if moment.tzinfo is None:
        raise _RowRejectedError(f"ts {text!r} has no time zone; expected UTC (suffix Z or +00:00)")
    if moment.utcoffset() != timedelta(0):
        raise _RowRejectedError(f"ts {text!r} is not UTC")
    return int(moment.timestamp())


def _parse_int(name: str, text: str) -> int:
    if not (text.isascii() and text.isdigit()):
        raise _RowRejectedError(f"{name} {text!r} is not a whole number of minor units")
    value = int(text)
    if value <= 0:
        raise _RowRejectedError(f"{name} must be positive, got {value}")
    if value > MAX_AMOUNT:
        raise _RowRejectedError(f"{name} {value} exceeds the sanity bound {MAX_AMOUNT}")
    return value


def parse_row(fields: dict[str, str], line: int) -> TradeRow:
    """Validates one row given as ``column -> text``; raises ``ValueError`` with the reason."""
    fields = {name: restore_cell(text) for name, text in fields.items()}
    ts = _parse_ts(fields["ts"].strip())
    tx_hash = fields["tx_hash"].strip()
    if not tx_hash:
        raise _RowRejectedError("tx_hash is empty")
    kind = fields["kind"].strip()
    if kind not in KIND_CODE:
        raise _RowRejectedError(f"kind {kind!r} is not one of {', '.join(KIND_CODE)}")
    sender, receiver = fields["sender"].strip(), fields["receiver"].strip()
    if not sender or not receiver:
        raise _RowRejectedError("sender and receiver must both be set")
    token = fields["token"].strip()
    if token not in TOKEN_CODE:
        raise _RowRejectedError(f"token {token!r} is not one of {', '.join(TOKEN_CODE)}")
    token_id = fields["token_id"].strip()
    amount = _parse_int("amount", fields["amount"].strip())
    price_text = fields["price"].strip()
    if kind == "carbon_trade":
        if token != "CARBON" or not token_id:
            raise _RowRejectedError("a carbon_trade moves token CARBON and needs a token_id")
        if not price_text:
            raise _RowRejectedError("a carbon_trade needs a price (MSC sen per tonne)")
        price = _parse_int("price", price_text)
    else:
        if token != "MSC" or token_id:
            raise _RowRejectedError(f"a {kind} moves token MSC with an empty token_id")
        if price_text:
            raise _RowRejectedError(f"price is only allowed on carbon trades, got {price_text!r} on a {kind}")
        price = 0
    label = fields.get(LABEL_COLUMN, "") or ""
    return TradeRow(ts, tx_hash, kind, sender, receiver, token, token_id, amount, price, line, label.strip())


def read_trades(path: str | Path) -> ParseResult:
    """Reads and validates a trades CSV.

    Raises:
        InputFileError: the file cannot be opened or decoded, is empty, or lacks a required column.
    """
    path = Path(path)
    rows: list[TradeRow] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise InputFileError(f"input file {str(path)!r} is empty (no header row)", path=str(path))
            names = [h.strip() for h in header]
            missing = [c for c in COLUMNS if c not in names]
            if missing:
                raise InputFileError(
                    f"input file {str(path)!r} lacks required column(s) {', '.join(missing)}",
                    path=str(path),
                    missing=missing,
                )
            for record in reader:
                line = reader.line_num
                if not record or (len(record) == 1 and not record[0].strip()):
                    continue
                if len(record) != len(names):
                    errors.append(RowError(line, f"expected {len(names)} fields, got {len(record)}"))
                    continue
                try:
                    row = parse_row(dict(zip(names, record, strict=True)), line)
                except ValueError as exc:
                    errors.append(RowError(line, str(exc)))
                    continue
                first = seen.setdefault(row.tx_hash, line)
                if first != line:
                    errors.append(RowError(line, f"duplicate tx_hash {row.tx_hash} (first on line {first})"))
                    continue
                rows.append(row)
    except FileNotFoundError:
        raise InputFileError(f"input file {str(path)!r} does not exist", path=str(path)) from None
    except IsADirectoryError:
        raise InputFileError(
            f"input path {str(path)!r} is a directory, not a CSV file", path=str(path)
        ) from None
    except PermissionError:
        raise InputFileError(
            f"input file {str(path)!r} is not readable (permission denied)", path=str(path)
        ) from None
    except UnicodeDecodeError as exc:
        raise InputFileError(
            f"input file {str(path)!r} is not UTF-8 text: {exc.reason}", path=str(path)
        ) from None
    except csv.Error as exc:
        raise InputFileError(f"input file {str(path)!r} is not valid CSV: {exc}", path=str(path)) from None
    return ParseResult(TradeTable.from_rows(rows), errors)


def format_ts(ts: int) -> str:
    """Epoch seconds as the ISO 8601 UTC text the CSV uses (``2024-01-01T07:30:00Z``)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_trades(path: str | Path, rows: Iterable[TradeRow], *, with_label: bool = False) -> None:
    """Writes trades in the input format; ``with_label`` adds the evaluation ``label`` column."""
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*COLUMNS, LABEL_COLUMN] if with_label else list(COLUMNS))
        for r in rows:
            text = [text_cell(t) for t in (r.tx_hash, r.kind, r.sender, r.receiver, r.token, r.token_id)]
            fields = [
                format_ts(r.ts),
                *text,
                str(r.amount),
                str(r.price) if r.kind == "carbon_trade" else "",
            ]
            writer.writerow([*fields, text_cell(r.label)] if with_label else fields)
