"""SQL table of the registry outbox (``carbon_registry_outbox``).

Declared on the platform's one :class:`common.sql.base.Base`, so Alembic sees it; migration 0005
creates it. Timestamps and ids use the shared types of :mod:`common.sql.helpers`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from common.sql.base import Base
from common.sql.helpers import BigId, UtcDateTime


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
