"""Status machines kept in SQL: legal moves, one conditional UPDATE per move, a history row each.

A move from ``a`` to ``b`` is ``UPDATE t SET status = b ... WHERE id = :id AND status = a``; the
database lets exactly one of any number of concurrent movers match, and the loser learns the
status that beat it. The history row is written in the same transaction, so a status never
changes without its record. Payments and payouts share this; their tables differ.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy import CursorResult, Table, select, update
from sqlalchemy.orm import Session

from common.errors import ConflictError, ValidationError
from common.sql.base import Base


class InvalidTransitionError(ConflictError):
    """A status move is not legal, or the row was not in the expected status."""

    code = "invalid_transition"

    def __init__(
        self, entity: str, entity_id: object, from_status: str, to_status: str, actual: str | None = None
    ) -> None:
        if actual is None:
            why = f"{from_status} -> {to_status} is not a legal transition"
        else:
            why = f"its status is {actual}, not {from_status}"
        super().__init__(
            f"{entity} {entity_id}: cannot move from {from_status} to {to_status}: {why}",
            entity=entity,
            id=str(entity_id),
            from_status=from_status,
            to_status=to_status,
            actual=actual,
        )


S = TypeVar("S", bound=StrEnum)


@dataclass(frozen=True)
class StateMachine(Generic[S]):
    """The legal moves between statuses of one kind of record."""

    entity: str
    initial: S
    moves: Mapping[S, frozenset[S]]

    def check(self, entity_id: object, from_status: S, to_status: S) -> None:
        """Raises :class:`InvalidTransitionError` unless ``from_status -> to_status`` is legal."""
        if to_status not in self.moves.get(from_status, frozenset()):
            raise InvalidTransitionError(self.entity, entity_id, from_status, to_status)

    def check_request(
        self,
        entity_id: object,
        from_status: S,
        to_status: S,
        reason: str,
        values: Mapping[str, Any],
        settable: frozenset[str],
    ) -> None:
        """Checks a requested move before any SQL: legal, setting only ``settable`` columns, with a reason.

        Raises:
            InvalidTransitionError: the move is not legal.
            ValidationError: another column is set, or the reason is empty.
        """
        self.check(entity_id, from_status, to_status)
        unknown = set(values) - settable
        if unknown:
            raise ValidationError(f"a status move cannot set {sorted(unknown)}")
        if not reason:
            raise ValidationError("a status move needs a reason")

    def is_terminal(self, status: S) -> bool:
        """Whether no move leaves ``status``."""
        return not self.moves.get(status)


def conditional_update(
    session: Session,
    table: Table,
    entity_id: object,
    from_status: str,
    to_status: str,
    now: datetime,
    values: Mapping[str, Any],
) -> bool:
    """``UPDATE table SET status = to ... WHERE id = :id AND status = from``; True if it matched.

    ``updated_at`` is set to ``now``; ``values`` sets further columns in the same statement.
    """
    statement = (
        update(table)
        .where(table.c.id == entity_id, table.c.status == from_status)
        .values(status=to_status, updated_at=now, **values)
    )
    result = session.execute(statement)
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


def move_with_history(
    session: Session,
    table: Table,
    entity_id: object,
    from_status: str,
    to_status: str,
    now: datetime,
    values: dict[str, Any],
    history_row: object,
) -> bool:
    """Conditionally moves the status and, only if it moved, adds ``history_row`` in the same
    transaction; True if it moved."""
    if not conditional_update(session, table, entity_id, from_status, to_status, now, values):
        return False
    session.add(history_row)
    session.flush()
    return True


R = TypeVar("R", bound=Base)
H = TypeVar("H", bound=Base)


@dataclass(frozen=True)
class StatusRecords(Generic[R, H]):
    """The SQL of one kind of record that moves through statuses (payments, payouts).

    Attributes:
        model: The records' table (an ``id`` primary key, ``status`` and ``updated_at`` columns).
        history_model: Its history table: one row per move (``from_status``, ``to_status``,
            ``reason``, ``at``), keyed by an autoincrement ``id`` and the record's id in
            ``owner_column``.
        owner_column: The history column holding the record's id (``payment_id``).
        announce: Called with ``(session, id, to_status)`` after each move, in its transaction
            (the merchant's webhook event, if the move is announced).
    """

    model: type[R]
    history_model: type[H]
    owner_column: str
    announce: Callable[[Session, uuid.UUID, str], object]

    def get(self, session: Session, record_id: uuid.UUID, *, fresh: bool = False) -> R | None:
        """The record with ``record_id``; ``fresh`` re-reads it from the database."""
        return session.get(self.model, record_id, populate_existing=fresh)

    def move(
        self,
        session: Session,
        record_id: uuid.UUID,
        from_status: str,
        to_status: str,
        reason: str,
        now: datetime,
        values: dict[str, Any],
    ) -> bool:
        """Conditionally moves the status and, if it moved, writes the history row and announces
        the move, all in the caller's transaction; True if it moved."""
        row = self.history_model(
            **{self.owner_column: record_id},
            from_status=from_status,
            to_status=to_status,
            reason=reason,
            at=now,
        )
        table: Table = self.model.__table__  # type: ignore[assignment]
        if not move_with_history(session, table, record_id, from_status, to_status, now, values, row):
            return False
        self.announce(session, record_id, to_status)
        return True

    def move_and_get(
        self,
        session: Session,
        record_id: uuid.UUID,
        from_status: str,
        to_status: str,
        reason: str,
        now: datetime,
        values: dict[str, Any],
    ) -> R | None:
        """:meth:`move` that returns the moved record, as the UPDATE left it, or None if it did not move.

        The conditional UPDATE returns the row (``RETURNING``) and refreshes the session's copy, so
        the caller needs no second read; the history row and the announcement follow as in
        :meth:`move`.
        """
        statement = (
            update(self.model)
            .where(self.model.id == record_id, self.model.status == from_status)  # type: ignore[attr-defined]
            .values(status=to_status, updated_at=now, **values)
            .returning(self.model)
            .execution_options(synchronize_session=False, populate_existing=True)
        )
        record = session.scalars(statement).one_or_none()
        if record is None:
            return None
        session.add(
            self.history_model(
                **{self.owner_column: record_id},
                from_status=from_status,
                to_status=to_status,
                reason=reason,
                at=now,
            )
        )
        session.flush()
        self.announce(session, record_id, to_status)
        return record

    def history(self, session: Session, record_id: uuid.UUID) -> list[H]:
        """Every status move of the record, in order."""
        owner = getattr(self.history_model, self.owner_column)
        ordered = getattr(self.history_model, "id")  # noqa: B009 (a column of any history model)
        statement = select(self.history_model).where(owner == record_id).order_by(ordered)
        return list(session.scalars(statement))
