"""SQL side of the pipeline: bulk writes, checkpoints and rollback, in Core (no ORM in the hot path).

Every write here runs inside the caller's transaction, so a range's logs, decoded events, derived
rows and checkpoint commit together or not at all. Inserts are set-based (``executemany`` through
SQLAlchemy's insertmanyvalues) and ``ON CONFLICT DO NOTHING``, so replaying a range stores nothing
twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Connection, Table, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

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


def bulk_insert_ignore(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Like :func:`insert_ignore`, through COPY on PostgreSQL (the hot path for logs and events).

    psycopg's executemany costs one round of protocol work per row; COPY into a per-session
    staging table then one ``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` keeps the replay
    safety of the plain insert at a fraction of the cost. Values are converted here, not by the
    column types' bind processors: hex text to bytes, JSON to text.
    """
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        insert_ignore(conn, table, rows)
        return
    columns = list(rows[0])
    converters = [_copy_converter(table.c[name].type) for name in columns]
    names = ", ".join(columns)
    stage = f"_stage_{table.name}"
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS SELECT {names} FROM {table.name} "
        "WITH NO DATA"
    )
    with cursor.copy(f"COPY {stage} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([convert(row[name]) for name, convert in zip(columns, converters, strict=True)])
    cursor.execute(f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {stage} ON CONFLICT DO NOTHING")
    cursor.execute(f"TRUNCATE {stage}")


def _copy_converter(column_type: Any) -> Any:
    if isinstance(column_type, HexBytes):
        return lambda v: None if v is None else bytes.fromhex(v[2:])
    if isinstance(column_type, JSON):
        return lambda v: json.dumps(v, separators=(",", ":"))
    return lambda v: v


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
