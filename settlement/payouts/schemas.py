"""Request and read shapes of payouts (amounts as integers of sen)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, StrictInt

from settlement.payouts.models import PayoutStatus


class PayoutCreate(BaseModel):
    """A redemption request; the key makes retries safe."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    idempotency_key: str
    merchant_id: str
    amount: StrictInt
    """Sen of MSC to redeem."""
    fee: StrictInt = 0
    """Sen kept as fee."""
    bank_account: str


class PayoutRead(BaseModel):
    """A payout as the API shows it."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: uuid.UUID
    idempotency_key: str
    merchant_id: str
    amount: int
    fee: int
    bank_account: str
    bank_reference: str | None
    status: PayoutStatus
    failure_reason: str | None
    created_at: datetime
    updated_at: datetime
