"""SQL helpers every package shares: UTC timestamps, big ids, insert-or-ignore.

``UtcDateTime`` keeps every timestamp an aware UTC ``datetime`` in Python on both backends:
PostgreSQL stores ``timestamptz``; SQLite drops the offset, so values are normalised to UTC before
they are written (which also keeps SQLite's text comparison of timestamps chronological) and get
their ``tzinfo`` back when read. ``BigId`` is a BIGINT key on PostgreSQL that SQLite still
auto-increments. ``insert_or_ignore`` is the race-free "create once" both backends support.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Connection, DateTime, Integer, Table
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

from common.errors import ValidationError

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for long-lived journals.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    """The current time as an aware UTC datetime (the default clock of the settlement services)."""
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC timestamp; naive datetimes are refused rather than guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        """Converts to UTC (and, on SQLite, to the naive form it stores).

        Raises:
            ValidationError: the datetime has no timezone.
        """
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValidationError(f"timestamps must be timezone-aware datetimes, got {value!r}")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """The stored timestamp as an aware UTC datetime."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def insert_or_ignore(session: Session, table: Table, values: dict[str, Any], conflict: list[str]) -> bool:
    """Inserts ``values`` unless a row with the same ``conflict`` columns exists.

    Uses ``INSERT ... ON CONFLICT DO NOTHING`` on both backends, so a duplicate (including one a
    concurrent transaction is inserting: PostgreSQL waits for it) is detected without an
    exception, which would otherwise abort the caller's whole transaction.

    Returns:
        Whether the row was inserted.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=conflict)
        # RETURNING tells reliably whether a row went in (rowcount is not dependable across drivers).
        .returning(table.c[conflict[0]])
    )
    return session.execute(statement).first() is not None


def read_snapshot(session: Session) -> Connection:
    """Makes ``session`` (before its first query) read one snapshot of the database: every later
    query sees the same commits, however many other processes (the indexer) commit meanwhile.

    PostgreSQL: a REPEATABLE READ transaction. SQLite: pysqlite opens no transaction for reads, so
    an explicit ``BEGIN``, which in WAL mode is a snapshot from the first read. End it with
    ``session.rollback()`` (or close the session).
    """
    dialect = session.get_bind().dialect.name
    options = {"isolation_level": "REPEATABLE READ"} if dialect == "postgresql" else {}
    conn = session.connection(execution_options=options)
    if dialect == "sqlite":
        conn.exec_driver_sql("BEGIN")
    return conn
