"""Request and response shapes of redemptions (amounts are JSON integers of sen)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.types import Bigint, CleanName, CleanText
from settlement.payouts.models import Payout, PayoutStatus, PayoutStatusChange
from settlement.redemption.models import Redemption

Hex32 = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-fA-F]{64}$")]
Hex65 = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-fA-F]{130}$")]
BankAccount = CleanName
Text = CleanText


class SignedAuthorization(BaseModel):
    """The merchant's EIP-3009 ``ReceiveWithAuthorization`` of the amount to the redeemer."""

    model_config = ConfigDict(extra="forbid")

    valid_after: Bigint = Field(description="Unix time after which it is valid.")
    valid_before: Bigint = Field(gt=0, description="Unix time before which it is valid.")
    nonce: Hex32 = Field(description="32 random bytes as 0x-hex, chosen by the merchant.")
    signature: Hex65 = Field(description="65-byte `r || s || v` signature as 0x-hex.")


class RedemptionCreate(BaseModel):
    """Redeem `amount` sen of MSC to a bank account."""

    model_config = ConfigDict(extra="forbid")

    amount: Bigint = Field(gt=0, description="Sen of MSC to redeem (burned).")
    bank_account: BankAccount = Field(description="Destination bank account reference.")
    authorization: SignedAuthorization


class BankPaid(BaseModel):
    """The bank confirmed the transfer."""

    model_config = ConfigDict(extra="forbid")

    bank_reference: Text


class BankFailed(BaseModel):
    """The bank rejected the transfer."""

    model_config = ConfigDict(extra="forbid")

    reason: Text


class StatusChangeRead(BaseModel):
    """One status move of a payout."""

    from_status: str
    to_status: str
    reason: str
    at: datetime


class RedemptionRead(BaseModel):
    """A redemption payout, its on-chain side and its history."""

    id: uuid.UUID
    merchant_id: str
    amount: int = Field(description="Sen of MSC redeemed (burned).")
    fee: int
    net_amount: int = Field(description="Sen transferred to the bank account.")
    bank_account: str
    bank_reference: str | None
    status: PayoutStatus
    failure_reason: str | None
    redeemer: str
    transfer_tx_hash: str
    burn_tx_hash: str | None
    reissue_tx_hash: str | None
    created_at: datetime
    updated_at: datetime
    history: list[StatusChangeRead]

    @classmethod
    def of(cls, payout: Payout, redemption: Redemption, history: list[PayoutStatusChange]) -> RedemptionRead:
        """The view of a payout with its redemption."""
        burned = redemption.burn_tx_hash if redemption.burned_at is not None else None
        reissued = redemption.reissue_tx_hash if redemption.reissued_at is not None else None
        return cls(
            id=payout.id,
            merchant_id=payout.merchant_id,
            amount=payout.amount,
            fee=payout.fee,
            net_amount=payout.net_amount,
            bank_account=payout.bank_account,
            bank_reference=payout.bank_reference,
            status=PayoutStatus(payout.status),
            failure_reason=payout.failure_reason,
            redeemer=redemption.redeemer,
            transfer_tx_hash=redemption.transfer_tx_hash,
            burn_tx_hash=burned,
            reissue_tx_hash=reissued,
            created_at=payout.created_at,
            updated_at=payout.updated_at,
            history=[
                StatusChangeRead(from_status=h.from_status, to_status=h.to_status, reason=h.reason, at=h.at)
                for h in history
            ],
        )
