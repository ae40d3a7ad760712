"""SQL tables of merchants and their status history.

Invariant: a merchant is ``active`` or ``suspended``; every move between the two is one
conditional UPDATE (``WHERE status = :from``) written with a ``merchant_status_history`` row in the
same transaction, so the history holds every move exactly once, with who made it and why.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, Uuid, false
from sqlalchemy.orm import Mapped, mapped_column

from common.sql.base import Base
from common.sql.helpers import BigId, UtcDateTime


class MerchantStatus(StrEnum):
    """Whether a merchant may be paid."""

    ACTIVE = "active"
    """Takes payments."""
    SUSPENDED = "suspended"
    """An operator stopped it: no quote, payment or checkout page for it until reinstated."""


class Merchant(Base):
    """A business that accepts Pi and is settled in MSC."""

    __tablename__ = "merchants"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200), nullable=False, doc="Trading name.")
    kelurahan: Mapped[str] = mapped_column(
        String(100), nullable=False, doc="Sub-district (kelurahan) the merchant trades in: its official name."
    )
    kelurahan_code: Mapped[str | None] = mapped_column(
        String(13),
        nullable=True,
        doc="The kelurahan's Kemendagri code (``35.77.03.1009``); null only for rows older than 0028 "
        "whose name matched none of the city's kelurahan.",
    )
    evm_address: Mapped[str] = mapped_column(
        String(42), nullable=False, unique=True, doc="EIP-55 checksummed address MSC is paid to."
    )
    pi_username: Mapped[str] = mapped_column(
        String(64), nullable=False, unique=True, doc="The merchant's Pi Network username."
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    status: Mapped[str] = mapped_column(
        String(16),
        nullable=False,
        default=MerchantStatus.ACTIVE,
        server_default=MerchantStatus.ACTIVE.value,
        doc="A :class:`MerchantStatus`.",
    )
    simulated: Mapped[bool] = mapped_column(
        Boolean,
        nullable=False,
        default=False,
        server_default=false(),
        doc="Created by the pilot simulator (``launcher/pilot.py``), not a real business.",
    )


class MerchantStatusChange(Base):
    """One move of a merchant between ``active`` and ``suspended``: who, why and when."""

    __tablename__ = "merchant_status_history"
    __table_args__ = (Index("ix_merchant_status_history_merchant_id", "merchant_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    merchant_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("merchants.id"), nullable=False)
    from_status: Mapped[str] = mapped_column(String(16), nullable=False)
    to_status: Mapped[str] = mapped_column(String(16), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    api_key_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False, doc="The operator's key.")
    at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
