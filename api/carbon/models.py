"""SQL tables of relayed carbon retirements: the signed transaction, written before it is sent.

A retirement is irreversible once mined, and a custodial one (``retire`` from the platform's own
account) has no nonce of its own to stop a second one. So every retirement the API sends is first
signed and committed here as a :class:`CarbonRelay` (its raw transaction and hash), and only then
broadcast. A retry of the same ``Idempotency-Key`` finds the row and rebroadcasts that same raw
transaction (same hash, same nonce: the chain takes it at most once) or reads its receipt, and
answers with the same certificate. ``migrations/env.py`` lists this module.

Invariant: every retirement transaction the API's relayer broadcasts is the ``raw_tx`` of a
committed row at the moment of broadcast; a row leaves ``pending`` only by a conditional move,
recorded in :class:`CarbonRelayChange`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from common.sql.base import Base
from common.sql.helpers import BigId, UtcDateTime
from common.sql.types import Uint256


class CarbonRelayKind(StrEnum):
    """Which contract function retires the credits."""

    SIGNED = "signed"
    """``retireWithSig``: a holder's EIP-712 signed retirement; its signature nonce also guards it."""
    CUSTODIAL = "custodial"
    """``retire`` from the platform's custody account (the relayer): only this row guards it."""


class CarbonRelayStatus(StrEnum):
    """Where a written-ahead retirement is."""

    PENDING = "pending"
    """Signed and committed; it may or may not have been broadcast or mined (the chain says)."""
    RETIRED = "retired"
    """Mined and successful: ``certificate_id`` and ``block_number`` are set; final."""
    FAILED = "failed"
    """Mined and reverted, or refused when re-signed: nothing was retired; the key may be retried."""


class CarbonRelay(Base):
    """One retirement the API sends, committed before its transaction is broadcast."""

    __tablename__ = "carbon_relays"
    __table_args__ = (
        UniqueConstraint("api_key_id", "idempotency_key"),
        UniqueConstraint("tx_hash"),
        Index("ix_carbon_relays_status", "status", "updated_at"),
        CheckConstraint("kind IN ('signed', 'custodial')", name="kind_known"),
        CheckConstraint("status IN ('pending', 'retired', 'failed')", name="status_known"),
        CheckConstraint(
            "(status = 'retired') = (certificate_id IS NOT NULL AND block_number IS NOT NULL)",
            name="retired_has_certificate",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    api_key_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("api_keys.id"), nullable=False, doc="The idempotency scope: the caller's API key."
    )
    idempotency_key: Mapped[str | None] = mapped_column(
        String(255), nullable=True, doc="The request's ``Idempotency-Key``; null when it sent none."
    )
    request_hash: Mapped[str] = mapped_column(
        String(64), nullable=False, doc="SHA-256 of method, path and canonical body: the same request?"
    )
    kind: Mapped[str] = mapped_column(String(16), nullable=False, doc="A :class:`CarbonRelayKind`.")
    holder: Mapped[str] = mapped_column(String(42), nullable=False, doc="EIP-55; whose credits are burned.")
    token_id: Mapped[int] = mapped_column(Uint256, nullable=False)
    tonnes: Mapped[int] = mapped_column(Uint256, nullable=False, doc="Tonnes retired (a uint64).")
    raw_tx: Mapped[str] = mapped_column(
        Text, nullable=False, doc="0x hex of the signed transaction, committed before its broadcast."
    )
    tx_hash: Mapped[str] = mapped_column(String(66), nullable=False, doc="Hash of ``raw_tx``.")
    status: Mapped[str] = mapped_column(String(16), nullable=False, doc="A :class:`CarbonRelayStatus`.")
    certificate_id: Mapped[int | None] = mapped_column(
        Uint256, nullable=True, doc="From the receipt's ``CreditsRetired`` once retired."
    )
    block_number: Mapped[int | None] = mapped_column(BigInteger, nullable=True, doc="Block it was mined in.")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class CarbonRelayChange(Base):
    """One status move (or re-signing) of a carbon relay, and why."""

    __tablename__ = "carbon_relay_history"
    __table_args__ = (Index("ix_carbon_relay_history_relay_id", "relay_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    relay_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("carbon_relays.id"), nullable=False)
    from_status: Mapped[str] = mapped_column(String(16), nullable=False)
    to_status: Mapped[str] = mapped_column(String(16), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
