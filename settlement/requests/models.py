"""SQL tables of payment requests, their status history and the quotes the hosted checkout made.

Invariant: a one-use request is held by at most one payment at a time and is ``paid`` at most once.
Both follow from every status move being one conditional UPDATE (``WHERE status = :from``), the
move into ``processing`` also requiring the request unexpired: of any number of customers paying it
at once, exactly one wins, and the others are refused before anything is recorded for them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from common.sql.base import Base
from common.sql.helpers import BigId, UtcDateTime


class RequestStatus(StrEnum):
    """Where a payment request is."""

    OPEN = "open"
    """Can be paid (a reusable request stays open after each payment)."""
    PROCESSING = "processing"
    """A one-use request a customer's payment holds (approved on Pi, not yet credited)."""
    PAID = "paid"
    """A one-use request whose payment was verified and credited; it is never paid again."""
    EXPIRED = "expired"
    """Its expiry passed before it was paid."""
    CANCELLED = "cancelled"
    """The merchant withdrew it."""


class PaymentRequest(Base):
    """A merchant's request for an amount in Rupiah, paid by customers through ``/pay/r/<id>``."""

    __tablename__ = "payment_requests"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_payment_requests_merchant_id_created_at", "merchant_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    merchant_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("merchants.id"), nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Sen the customer pays.")
    reference: Mapped[str] = mapped_column(
        String(200), nullable=False, doc="The merchant's own reference (order number, what is sold)."
    )
    reusable: Mapped[bool] = mapped_column(
        Boolean, nullable=False, doc="True: any number of payments; False: paid once, then closed."
    )
    expires_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime, nullable=True, doc="After this no payment starts; None: never expires."
    )
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    payment_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("payments.id"), nullable=True, doc="One-use: the payment holding or paying it."
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class PaymentRequestStatusChange(Base):
    """One status move of a payment request, written in the same transaction as the move."""

    __tablename__ = "payment_request_status_history"
    __table_args__ = (Index("ix_payment_request_status_history_request_id", "request_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    request_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("payment_requests.id"), nullable=False)
    from_status: Mapped[str] = mapped_column(String(16), nullable=False)
    to_status: Mapped[str] = mapped_column(String(16), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class HostedQuote(Base):
    """A firm quote the hosted checkout made: the merchant (and request) it prices, for whom.

    The checkout's own record of what a customer's Pi payment must be bound to
    (:class:`settlement.flow.binding.Binding`): the merchant, the quote and, for a request link,
    the request. Quotes made through the API keep theirs in ``api_quote_owners``.
    """

    __tablename__ = "checkout_quotes"
    __table_args__ = (Index("ix_checkout_quotes_request_id", "request_id"),)

    quote_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("quotes.id"), primary_key=True)
    merchant_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("merchants.id"), nullable=False)
    request_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("payment_requests.id"), nullable=True, doc="The request it pays, if any."
    )
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Sen the customer asked to pay.")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
