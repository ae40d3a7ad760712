"""Request and response shapes of merchant refunds (amounts are JSON integers of sen)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.types import Bigint, CleanText
from merchant_refunds.service import RefundView

Hex32 = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-fA-F]{64}$")]
HexSignature = Annotated[str, StringConstraints(pattern=r"^0x(?:[0-9a-fA-F]{2}){65,500}$")]


class RefundAuthorizationIn(BaseModel):
    """The merchant wallet's EIP-712 ``RefundAuthorization`` (from ``GET .../refunds/typed-data``)."""

    model_config = ConfigDict(extra="forbid")

    nonce: Hex32 = Field(description="The typed data's nonce (32 bytes, 0x-hex).")
    valid_before: Bigint = Field(gt=0, description="The typed data's `validBefore` (Unix seconds).")
    signature: HexSignature = Field(description="`r || s || v` (or an ERC-1271 wallet's signature), 0x-hex.")


class RefundCreate(BaseModel):
    """Refund `amount` sen of the payment to the customer, with a reason."""

    model_config = ConfigDict(extra="forbid")

    amount: Bigint = Field(gt=0, description="Sen to refund; at most what is refundable now.")
    reason: CleanText = Field(description="Why, in plain text (3 to 500 characters); the customer reads it.")
    authorization: RefundAuthorizationIn | None = Field(
        default=None,
        description="Required when the payment's escrow address is the merchant's own wallet.",
    )


class RefundRead(BaseModel):
    """A refund and how far it got: requested, signed, sent, confirmed or failed."""

    id: uuid.UUID
    payment_id: uuid.UUID
    route: str = Field(description="`escrow` while held, `guarantee` after release.")
    amount: int
    reason: str
    state: str
    tx_hash: str | None
    failure: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, view: RefundView) -> RefundRead:
        """The response of a refund."""
        return cls(**view.__dict__)
