"""Status machines kept in SQL: legal moves, one conditional UPDATE per move, a history row each.

A move from ``a`` to ``b`` is ``UPDATE t SET status = b ... WHERE id = :id AND status = a``; the
database lets exactly one of any number of concurrent movers match, and the loser learns the
status that beat it. The history row is written in the same transaction, so a status never
changes without its record. Payments and payouts share this; their tables differ.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy import CursorResult, Table, update
from sqlalchemy.orm import Session

from common.errors import ConflictError, ValidationError


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
