"""Read and request shapes of payments (amounts as integers of minor units)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from settlement.payments.models import Payment, PaymentStatus


class PaymentCreate(BaseModel):
    """What the Pi platform's ``onReadyForServerApproval`` callback gives, plus the quote."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    pi_payment_id: str
    merchant_id: str
    quote_id: uuid.UUID


class StatusChangeRead(BaseModel):
    """One status move."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    from_status: PaymentStatus
    to_status: PaymentStatus
    reason: str
    at: datetime


class PaymentRead(BaseModel):
    """A payment as the API shows it."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: uuid.UUID
    pi_payment_id: str
    merchant_id: str
    quote_id: uuid.UUID
    txid: str | None
    pi_amount: int
    """Pi minor units paid."""
    fee_pi: int
    """Pi minor units kept as fee."""
    idr_amount: int
    """Sen minted to escrow."""
    status: PaymentStatus
    error_reason: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_payment(cls, payment: Payment) -> PaymentRead:
        """The read model of a stored payment."""
        return cls.model_validate(payment)
