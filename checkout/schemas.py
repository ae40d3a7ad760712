"""Bodies of the checkout page's calls (made by checkout.js, from the Pi SDK's callbacks)."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.payments.schemas import PiPaymentId, Txid

AccessToken = Annotated[str, StringConstraints(min_length=1, max_length=4096, pattern=r"^[\x21-\x7e]+$")]
"""The access token ``Pi.authenticate`` returned (printable ASCII, no spaces)."""


class ApproveRequest(BaseModel):
    """``onReadyForServerApproval``: the Pi payment, the quote the page showed, who signed in."""

    model_config = ConfigDict(extra="forbid")

    pi_payment_id: PiPaymentId
    quote_id: uuid.UUID
    access_token: AccessToken


class CompleteRequest(BaseModel):
    """``onReadyForServerCompletion``: the Pi payment and its blockchain transaction."""

    model_config = ConfigDict(extra="forbid")

    pi_payment_id: PiPaymentId
    txid: Txid
    access_token: AccessToken


class PiPaymentRequest(BaseModel):
    """``onIncompletePaymentFound`` and ``onCancel``: a Pi payment of the signed-in Pioneer."""

    model_config = ConfigDict(extra="forbid")

    pi_payment_id: PiPaymentId
    access_token: AccessToken


class QuoteRenewal(BaseModel):
    """A fresh firm quote for the same merchant, amount and request as an expired one."""

    model_config = ConfigDict(extra="forbid")

    quote_id: uuid.UUID


class PaymentProgress(BaseModel):
    """Where a checkout payment is, for the page that follows it."""

    payment_id: uuid.UUID | None = Field(description="Our payment, if one is recorded.")
    status: str | None
    paid: bool = Field(description="The Pi is verified on the ledger and credited.")
    in_escrow: bool = Field(description="The merchant's MSC is minted into the escrow.")
    failed: bool
    receipt_url: str | None
    message: str = Field(description="What to tell the customer, in their language.")
