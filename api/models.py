"""SQL tables of the API: API keys and idempotency records (plus, by import, merchants and quote owners).

``migrations/env.py`` lists this module, so every API table is on the shared metadata.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from api.merchants.models import Merchant
from api.quotes.models import QuoteOwner
from city.credit.models import Lender
from common.sql.base import Base
from common.sql.helpers import UtcDateTime

__all__ = ["ApiKey", "IdempotencyRecord", "Lender", "Merchant", "QuoteOwner", "Role"]


class Role(StrEnum):
    """What an API key may do."""

    MERCHANT = "merchant"
    """A merchant's own key: its quotes, its profile; never another merchant's data."""
    OPERATOR = "operator"
    """The issuer's staff: onboards merchants, sees everything."""
    AUDITOR = "auditor"
    """Read-only access to everything."""
    LENDER = "lender"
    """A lender's key: only the lender routes, and only merchants who consented to share with it."""


class ApiKey(Base):
    """An API key, stored only as the SHA-256 of its secret (the secret is shown once)."""

    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint("(role = 'merchant') = (merchant_id IS NOT NULL)", name="merchant_key_has_merchant"),
        CheckConstraint("(role = 'lender') = (lender_id IS NOT NULL)", name="lender_key_has_lender"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    key_hash: Mapped[str] = mapped_column(
        String(64), nullable=False, unique=True, doc="Hex SHA-256 of the key; keys are 256-bit random."
    )
    prefix: Mapped[str] = mapped_column(
        String(16), nullable=False, doc="First characters of the key, to recognise it in listings."
    )
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    merchant_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("merchants.id"), nullable=True, doc="Set exactly for merchant keys."
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    lender_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("credit_lenders.id"), nullable=True, doc="Set exactly for lender keys."
    )


class IdempotencyRecord(Base):
    """The stored outcome of a POST made with an ``Idempotency-Key``.

    Written in the same transaction as the request's effect, so a record exists exactly when the
    effect happened; a failed request leaves none and may be retried with the same key.
    """

    __tablename__ = "api_idempotency_keys"
    __table_args__ = (UniqueConstraint("api_key_id", "key"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    api_key_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("api_keys.id"), nullable=False, doc="Keys are scoped per API key."
    )
    key: Mapped[str] = mapped_column(String(255), nullable=False)
    request_hash: Mapped[str] = mapped_column(
        String(64), nullable=False, doc="SHA-256 of method, path and canonical JSON body."
    )
    response_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_body: Mapped[str | None] = mapped_column(
        Text, nullable=True, doc="The exact JSON replayed (secrets such as new API keys redacted)."
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
