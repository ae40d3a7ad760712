"""Request and response shapes of payments (amounts are JSON integers of minor units)."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from settlement.payments.models import Payment
from settlement.payments.schemas import PaymentRead, StatusChangeRead

PiPaymentId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_-]+$"),
]
"""The Pi platform's payment identifier (letters, digits, ``_`` and ``-``)."""

Txid = Annotated[str, StringConstraints(min_length=64, max_length=64, pattern=r"^[0-9a-fA-F]{64}$")]
"""A Pi blockchain transaction hash: 64 hex digits."""


class PaymentCreateRequest(BaseModel):
    """What a merchant's Pi app server forwards from ``onReadyForServerApproval``, with its quote."""

    model_config = ConfigDict(extra="forbid")

    quote_id: uuid.UUID = Field(description="A firm quote this merchant requested (`POST /v1/quotes`).")
    pi_payment_id: PiPaymentId = Field(description="The Pi SDK's payment identifier.", examples=["pi_abc123"])


class TxidRequest(BaseModel):
    """What ``onReadyForServerCompletion`` gives: the customer's Pi blockchain transaction."""

    model_config = ConfigDict(extra="forbid")

    txid: Txid = Field(description="The Pi transaction hash (64 hex digits).")


class PaymentView(PaymentRead):
    """A payment as the API shows it: amounts in minor units, the SEP-24 status and its reason."""

    queued: str | None = Field(
        default=None, description="The task queued by this request (`payments.approve`, ...), if any."
    )


class PaymentDetail(PaymentView):
    """A payment with every status move, oldest first."""

    history: list[StatusChangeRead]


class PaymentPage(BaseModel):
    """One page of payments, newest first."""

    items: list[PaymentView]
    next_offset: int | None = Field(description="Offset of the next page; null on the last page.")


def view(payment: Payment, queued: str | None = None) -> PaymentView:
    """The view of a stored payment."""
    return PaymentView(**PaymentRead.from_payment(payment).model_dump(), queued=queued)
