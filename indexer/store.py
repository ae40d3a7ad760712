"""SQL side of the pipeline: bulk writes, checkpoints and rollback, in Core (no ORM in the hot path).

Every write here runs inside the caller's transaction, so a range's logs, decoded events, derived
rows and checkpoint commit together or not at all. Inserts are set-based (``executemany`` through
SQLAlchemy's insertmanyvalues; COPY on PostgreSQL) and ``ON CONFLICT DO NOTHING``, so replaying a
range stores nothing twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii as _encode_string
from typing import Any

import psycopg
from sqlalchemy import JSON, Boolean, Connection, Table, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from common.errors import ConfigurationError
from common.sql.types import HexBytes
from indexer.errors import CheckpointMovedError
from indexer.models import Block, Checkpoint, DecodedEvent, RawLog

BLOCKS: Table = Block.__table__  # type: ignore[assignment]
RAW_LOGS: Table = RawLog.__table__  # type: ignore[assignment]
DECODED: Table = DecodedEvent.__table__  # type: ignore[assignment]
CHECKPOINTS: Table = Checkpoint.__table__  # type: ignore[assignment]

IN_CHUNK = 500  # bound parameters per IN list, well under every backend's limit


@dataclass(frozen=True)
class CheckpointState:
    """Where a stream stands: its last committed block and that block's hash."""

    block_number: int
    block_hash: str | None
    chain_head: int


def _insert(conn: Connection, table: Table) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def insert_ignore(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Bulk insert; rows whose unique key already exists are skipped."""
    if rows:
        conn.execute(_insert(conn, table).on_conflict_do_nothing(), list(rows))


@dataclass
class BulkRows:
    """Rows for :func:`bulk_insert_ignore`: dicts by column name, or COPY text already formatted.

    The pipeline formats its rows as COPY text for PostgreSQL in its prefetch thread (see
    :meth:`of_copy`), which keeps that pure-Python work off the writing transaction and never
    builds the dicts at all.
    """

    table: Table
    rows: Sequence[Mapping[str, Any]]
    columns: list[str] = field(default_factory=list)
    copy: str | None = None
    count: int = 0

    def __post_init__(self) -> None:
        if self.rows:
            self.columns = list(self.rows[0])
            self.count = len(self.rows)

    @classmethod
    def of_copy(cls, table: Table, columns: Sequence[str], text: str, count: int) -> BulkRows:
        """``count`` rows of ``columns`` as COPY text (PostgreSQL only)."""
        return cls(table, (), list(columns), text, count)

    def prepare_copy(self) -> BulkRows:
        """Formats the rows as COPY text now (for PostgreSQL); returns self."""
        if self.copy is None and self.rows:
            formatters = [_copy_formatter(self.table.c[name].type) for name in self.columns]
            self.copy = copy_text(self.rows, formatters, self.columns)
        return self


def bulk_insert_ignore(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]] | BulkRows) -> None:
    """Like :func:`insert_ignore`, through COPY on PostgreSQL (the hot path for logs and events).

    psycopg's executemany costs one round of protocol work per row. Here the rows go as one
    block of COPY text straight into the table, inside a savepoint: ranges are only written past
    the checkpoint, above which nothing is stored, so a clash with an existing row is the rare
    case (another stream sharing the tables, a replay). Then the savepoint is rolled back and
    the rows go through a per-session staging table and one ``INSERT ... SELECT ... ON CONFLICT
    DO NOTHING``, which keeps the replay safety of the plain insert. Values are formatted here,
    not by the column types' bind processors: hex text is already bytea's text form, JSON text.
    """
    bulk = rows if isinstance(rows, BulkRows) else BulkRows(table, rows)
    if not bulk.count:
        return
    if conn.dialect.name != "postgresql":
        if len(bulk.rows) != bulk.count:
            raise ConfigurationError(f"rows for {table.name} were formatted for PostgreSQL only")
        insert_ignore(conn, table, bulk.rows)
        return
    text = bulk.prepare_copy().copy or ""
    names = ", ".join(bulk.columns)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    cursor.execute("SAVEPOINT bulk_copy")
    try:
        with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            copy.write(text)
    except psycopg.errors.UniqueViolation:
        cursor.execute("ROLLBACK TO SAVEPOINT bulk_copy")
        _copy_through_stage(cursor, table, names, text)
    cursor.execute("RELEASE SAVEPOINT bulk_copy")


def _copy_through_stage(cursor: Any, table: Table, names: str, text: str) -> None:
    """COPY into a session's staging table, then insert what does not clash."""
    stage = f"_stage_{table.name}"
    cursor.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS SELECT {names} FROM {table.name} "
        "WITH NO DATA"
    )
    with cursor.copy(f"COPY {stage} ({names}) FROM STDIN") as copy:
        copy.write(text)
    cursor.execute(f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {stage} ON CONFLICT DO NOTHING")
    cursor.execute(f"TRUNCATE {stage}")


CopyFormatter = Callable[[Any], str]
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_JSON = json.JSONEncoder(separators=(",", ":"))


def json_text(value: Any) -> str:
    """Compact JSON of ``value``, exactly as ``json.dumps(value, separators=(",", ":"))``.

    A decoded event's arguments are a flat object of strings (integers are decimal text), which
    is written here with the C string encoder: twice as fast as the generic encoder.
    """
    if type(value) is dict:
        parts = [
            _encode_string(k) + ":" + (_encode_string(v) if type(v) is str else _JSON.encode(v))
            for k, v in value.items()
        ]
        return "{" + ",".join(parts) + "}"
    return _JSON.encode(value)


def copy_text(
    rows: Sequence[Mapping[str, Any]], formatters: Sequence[CopyFormatter], columns: Sequence[str]
) -> str:
    """``rows`` in PostgreSQL's COPY text format (tab-separated, ``\\N`` for NULL, one line each)."""
    pairs = list(zip(columns, formatters, strict=True))
    lines = ["\t".join([fmt(row[name]) for name, fmt in pairs]) for row in rows]
    lines.append("")
    return "\n".join(lines)


def _copy_formatter(column_type: Any) -> CopyFormatter:
    """How a value of ``column_type`` is written in COPY text (None is ``\\N`` for all)."""
    if isinstance(column_type, HexBytes):
        # bytea's text input is \x<hex>; the backslash itself is escaped in COPY text.
        return lambda v: "\\N" if v is None else "\\\\x" + _escape(v[2:])
    if isinstance(column_type, JSON):
        # ensure_ascii JSON has no raw tab or newline: only its backslashes need escaping.
        return lambda v: "\\N" if v is None else json_text(v).replace("\\", "\\\\")
    if isinstance(column_type, Boolean):
        return lambda v: "\\N" if v is None else ("t" if v else "f")
    return _plain


def _plain(value: Any) -> str:
    if value is None:
        return "\\N"
    if type(value) is int:
        return str(value)
    return _escape(str(value))


def _escape(text: str) -> str:
    """COPY text escaping; the check first, as addresses and statuses never need any."""
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        return text.translate(_COPY_ESCAPES)
    return text


def _hex_or_null(value: str | None) -> str:
    return "\\N" if value is None else "\\\\x" + value[2:]


def _text_or_null(value: str | None) -> str:
    return "\\N" if value is None else _escape(value)


def raw_log_line(
    block_number: int,
    block_hash: str,
    log_index: int,
    tx_hash: str,
    tx_index: int,
    address: str,
    topics: tuple[str | None, str | None, str | None, str | None],
    data: str,
    status: str,
    error: str | None,
) -> str:
    """One ``raw_logs`` row (columns :data:`RAW_COLUMNS`) as a line of COPY text.

    The hot path of a PostgreSQL backfill, so written out rather than looped over columns. Hex
    text goes in as it came (bytea's text form is ``\\x`` + hex): check the lines with
    :func:`copy_lines` before use.
    """
    t0, t1, t2, t3 = topics
    return (
        f"{block_number:d}\t\\\\x{block_hash[2:]}\t{log_index:d}\t\\\\x{tx_hash[2:]}\t{tx_index:d}\t"
        f"{_escape(address)}\t{_hex_or_null(t0)}\t{_hex_or_null(t1)}\t{_hex_or_null(t2)}\t{_hex_or_null(t3)}\t"
        f"\\\\x{data[2:]}\tf\t{_escape(status)}\t{_text_or_null(error)}\n"
    )


def decoded_line(
    block_number: int,
    block_hash: str,
    log_index: int,
    tx_hash: str,
    address: str,
    contract: str,
    event: str,
    args: Any,
) -> str:
    """One ``decoded_events`` row (columns :data:`DECODED_COLUMNS`) as a line of COPY text."""
    text = json_text(args).replace("\\", "\\\\")
    return (
        f"{block_number:d}\t\\\\x{block_hash[2:]}\t{log_index:d}\t\\\\x{tx_hash[2:]}\t"
        f"{_escape(address)}\t{_escape(contract)}\t{_escape(event)}\t{text}\n"
    )


def copy_lines(lines: Sequence[str], width: int) -> str | None:
    """``lines`` joined into COPY text, or None if one has a stray tab, newline or carriage return.

    The fast line builders do not escape hex text; a node that put a tab or newline in it would
    shift columns. One scan of the whole text catches that.
    """
    text = "".join(lines)
    n = len(lines)
    if text.count("\n") != n or text.count("\t") != n * (width - 1) or "\r" in text:
        return None
    return text


RAW_COLUMNS = (
    "block_number",
    "block_hash",
    "log_index",
    "tx_hash",
    "tx_index",
    "address",
    "topic0",
    "topic1",
    "topic2",
    "topic3",
    "data",
    "removed",
    "status",
    "error",
)
"""``raw_logs`` columns as the pipeline writes them (the order of :func:`raw_log_line`)."""
DECODED_COLUMNS = (
    "block_number",
    "block_hash",
    "log_index",
    "tx_hash",
    "address",
    "contract",
    "event",
    "args",
)
"""``decoded_events`` columns as the pipeline writes them (the order of :func:`decoded_line`)."""


def upsert(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> None:
    """Bulk insert-or-update on the primary key ``keys``; non-key columns take the new values."""
    if not rows:
        return
    stmt = _insert(conn, table)
    columns = [c for c in rows[0] if c not in keys]
    stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_={c: stmt.excluded[c] for c in columns})
    conn.execute(stmt, list(rows))


def chunks(items: Sequence[Any], size: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    """``items`` in slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def load_checkpoint(conn: Connection, stream: str, *, lock: bool = False) -> CheckpointState | None:
    """The stream's checkpoint (row-locked on PostgreSQL when ``lock``), None before the first range."""
    query = select(CHECKPOINTS.c.block_number, CHECKPOINTS.c.block_hash, CHECKPOINTS.c.chain_head).where(
        CHECKPOINTS.c.stream == stream
    )
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    return None if row is None else CheckpointState(row[0], row[1], row[2])


def move_checkpoint(
    conn: Connection, stream: str, expected: CheckpointState | None, new: CheckpointState
) -> None:
    """Moves the checkpoint from ``expected`` to ``new`` (compare-and-set).

    Raises:
        CheckpointMovedError: another writer moved it since ``expected`` was read.
    """
    values = {"block_number": new.block_number, "block_hash": new.block_hash, "chain_head": new.chain_head}
    if expected is None:
        if load_checkpoint(conn, stream) is not None:
            raise CheckpointMovedError(f"stream {stream!r} was started by another indexer", stream=stream)
        conn.execute(CHECKPOINTS.insert().values(stream=stream, updated_at=func.now(), **values))
        return
    result = conn.execute(
        update(CHECKPOINTS)
        .where(CHECKPOINTS.c.stream == stream, CHECKPOINTS.c.block_number == expected.block_number)
        .values(updated_at=func.now(), **values)
    )
    if result.rowcount != 1:
        raise CheckpointMovedError(f"stream {stream!r} was moved by another indexer", stream=stream)


def stored_blocks_below(conn: Connection, below: int, limit: int) -> list[tuple[int, str]]:
    """Stored (number, hash) pairs under ``below``, highest first: candidates for the common ancestor."""
    rows = conn.execute(
        select(BLOCKS.c.number, BLOCKS.c.hash)
        .where(BLOCKS.c.number < below)
        .order_by(BLOCKS.c.number.desc())
        .limit(limit)
    )
    return [(r[0], r[1]) for r in rows]


def has_rows_above(conn: Connection, block_number: int) -> bool:
    """Whether anything is stored above ``block_number`` (a checkpoint ahead of its data never is)."""
    for table in (RAW_LOGS, BLOCKS):
        column = table.c.block_number if table is RAW_LOGS else table.c.number
        if conn.execute(select(column).where(column > block_number).limit(1)).first() is not None:
            return True
    return False


def delete_above(conn: Connection, block_number: int) -> int:
    """Deletes raw logs, decoded events and blocks above ``block_number``; returns logs deleted."""
    conn.execute(delete(DECODED).where(DECODED.c.block_number > block_number))
    deleted = conn.execute(delete(RAW_LOGS).where(RAW_LOGS.c.block_number > block_number)).rowcount
    conn.execute(delete(BLOCKS).where(BLOCKS.c.number > block_number))
    return int(deleted or 0)
