"""SQL table of redemptions: the on-chain side of a payout.

A row exists exactly when the merchant's MSC reached the redeeming account (the
``receiveWithAuthorization`` the API relayed), written in the same transaction as its payout.
The burn and, for a reversed payout, the re-issue are each written ahead as a signed raw
transaction before it is broadcast, so a restart rebroadcasts that same transaction (same hash,
same nonce) instead of signing a second one: a redemption burns once and re-issues once.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from common.sql.base import Base
from settlement.ledger.sql import UtcDateTime


class Redemption(Base):
    """The merchant's signed authorization, its relay, and the burn (and re-issue) of its MSC."""

    __tablename__ = "redemptions"
    __table_args__ = (UniqueConstraint("merchant_address", "auth_nonce"),)

    payout_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("payouts.id"), primary_key=True)
    merchant_address: Mapped[str] = mapped_column(String(42), nullable=False, doc="EIP-55; signed it.")
    redeemer: Mapped[str] = mapped_column(String(42), nullable=False, doc="Received the MSC and burns it.")
    auth_nonce: Mapped[str] = mapped_column(
        String(66), nullable=False, doc="The EIP-3009 nonce (0x-hex bytes32): one authorization, one payout."
    )
    valid_before: Mapped[int] = mapped_column(BigInteger, nullable=False)
    transfer_tx_hash: Mapped[str] = mapped_column(String(66), nullable=False)
    burn_tx_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    burn_raw_tx: Mapped[str | None] = mapped_column(Text, nullable=True, doc="Written before broadcast.")
    burned_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    reissue_tx_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    reissue_raw_tx: Mapped[str | None] = mapped_column(Text, nullable=True, doc="Written before broadcast.")
    reissued_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
