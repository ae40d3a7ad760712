"""Who asked for each quote, so a merchant sees only its own quotes.

``settlement.quotes`` has no notion of callers; this side table (one row per quote made through
the API) keeps that package free of API concerns.
"""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from common.sql.base import Base


class QuoteOwner(Base):
    """The API key (and its merchant, if any) that created a quote."""

    __tablename__ = "api_quote_owners"

    quote_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("quotes.id"), primary_key=True)
    api_key_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("api_keys.id"), nullable=False)
    merchant_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("merchants.id"), nullable=True, index=True, doc="Null for operator-made quotes."
    )
