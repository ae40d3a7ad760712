"""SQL table of the registry outbox (``carbon_registry_outbox``).

Declared on the platform's one :class:`common.sql.base.Base`, so Alembic sees it; the migration that
creates it is still to be written (``create_outbox_table`` creates it directly for tests and the demo
until then). ``UtcDateTime`` mirrors ``settlement.ledger.sql.UtcDateTime``: carbon must not import
settlement, and both are candidates for ``common/sql/types.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Engine,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from common.errors import ValidationError
from common.sql.base import Base

BigId = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC timestamp on both backends (SQLite stores it naive in UTC: text order is time order)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        """Converts to UTC (naive on SQLite).

        Raises:
            ValidationError: a naive datetime.
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
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class OutboxKind(StrEnum):
    """What a row reports to the registry."""

    RETIREMENT = "retirement"
    BRIDGE_BACK = "bridge_back"


class OutboxStatus(StrEnum):
    """Where a row is in its delivery."""

    PENDING = "pending"
    """Waiting to be sent (first time, or again after a transient failure at ``next_attempt_at``)."""
    SENDING = "sending"
    """Claimed by a dispatcher until ``lease_until``; after that any dispatcher may claim it again."""
    SENT = "sent"
    """The registry answered with its record (``result``); done."""
    FAILED = "failed"
    """The registry refused it (4xx): retrying cannot help, an operator must look (``last_error``)."""


class RegistryOutboxRow(Base):
    """A chain event waiting to be (or already) reported to the registry, written with its bookkeeping."""

    __tablename__ = "carbon_registry_outbox"
    __table_args__ = (
        UniqueConstraint("idempotency_key"),
        Index("ix_carbon_registry_outbox_status_next_attempt_at", "status", "next_attempt_at"),
        CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed')", name="status_valid"),
        CheckConstraint("kind IN ('retirement', 'bridge_back')", name="kind_valid"),
        CheckConstraint("attempts >= 0", name="attempts_valid"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    idempotency_key: Mapped[str] = mapped_column(
        String(255), nullable=False, doc="Sent as Idempotency-Key on every attempt; one row per chain event."
    )
    payload: Mapped[str] = mapped_column(Text, nullable=False, doc="Canonical JSON of the call's arguments.")
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=OutboxStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    claim_token: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    result: Mapped[str | None] = mapped_column(Text, nullable=True, doc="JSON of the registry's answer.")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


def create_outbox_table(engine: Engine) -> None:
    """Creates the outbox table if missing (stand-in for its Alembic migration)."""
    RegistryOutboxRow.metadata.create_all(engine, tables=[RegistryOutboxRow.__table__])  # type: ignore[list-item]
