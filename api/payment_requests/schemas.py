"""Request and response shapes of payment requests (amounts are JSON integers of sen)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from api.types import Bigint, CleanName
from settlement.payments.models import Payment
from settlement.requests.models import PaymentRequest, PaymentRequestStatusChange
from settlement.requests.service import MAX_AMOUNT_SEN

MAX_EXPIRY_SECONDS = 366 * 24 * 3600
"""The longest a request may stay payable (a year and a day)."""


class PaymentRequestCreate(BaseModel):
    """A request for an amount in Rupiah, paid by customers through its checkout link and QR code."""

    model_config = ConfigDict(extra="forbid")

    amount: Annotated[Bigint, Field(gt=0, le=MAX_AMOUNT_SEN)] = Field(
        description="Sen the customer pays (Rp 12.000 is 1200000).", examples=[1_200_000]
    )
    reference: CleanName = Field(
        description="Your reference, shown to the customer and on the receipt (order number, item).",
        examples=["Pesanan #1042"],
    )
    reusable: StrictBool = Field(
        default=False,
        description="false: paid once, then closed; true: any number of payments (a menu item).",
    )
    expires_in_seconds: Annotated[Bigint, Field(ge=60, le=MAX_EXPIRY_SECONDS)] | None = Field(
        default=None, description="Seconds from now until no payment can start; null: no expiry."
    )


class PaymentRequestStatusChangeRead(BaseModel):
    """One status move of a request."""

    model_config = ConfigDict(from_attributes=True)

    from_status: str
    to_status: str
    reason: str
    at: datetime


class RequestPaymentRead(BaseModel):
    """A payment made against a request."""

    id: uuid.UUID
    status: str
    pi_amount: int = Field(description="Pi minor units (10^-7 Pi).")
    idr_amount: int = Field(description="Sen.")
    created_at: datetime


class PaymentRequestView(BaseModel):
    """A payment request with its checkout link and QR codes (paths on this API's origin)."""

    id: uuid.UUID
    merchant_id: uuid.UUID
    amount: int = Field(description="Sen.")
    reference: str
    reusable: bool
    expires_at: datetime | None
    status: str = Field(description="open, processing, paid, expired or cancelled.")
    payment_id: uuid.UUID | None = Field(description="One-use: the payment holding or paying it.")
    created_at: datetime
    updated_at: datetime
    checkout_url: str = Field(description="The customer's checkout page.", examples=["/pay/r/3f2c..."])
    qr_svg_url: str
    qr_png_url: str


class PaymentRequestDetail(PaymentRequestView):
    """A request with its status history and the payments made against it."""

    history: list[PaymentRequestStatusChangeRead]
    payments: list[RequestPaymentRead]


class PaymentRequestPage(BaseModel):
    """One page of requests, newest first."""

    items: list[PaymentRequestView]
    next_offset: int | None = Field(description="Offset of the next page; null on the last page.")


def view(request: PaymentRequest) -> PaymentRequestView:
    """The view of a stored request."""
    link = f"/pay/r/{request.id}"
    return PaymentRequestView(
        id=request.id,
        merchant_id=request.merchant_id,
        amount=request.amount,
        reference=request.reference,
        reusable=request.reusable,
        expires_at=request.expires_at,
        status=request.status,
        payment_id=request.payment_id,
        created_at=request.created_at,
        updated_at=request.updated_at,
        checkout_url=link,
        qr_svg_url=f"{link}/qr.svg",
        qr_png_url=f"{link}/qr.png",
    )


def detail(
    request: PaymentRequest, history: list[PaymentRequestStatusChange], payments: list[Payment]
) -> PaymentRequestDetail:
    """The detail view of a stored request."""
    return PaymentRequestDetail(
        **view(request).model_dump(),
        history=[PaymentRequestStatusChangeRead.model_validate(h) for h in history],
        payments=[
            RequestPaymentRead(
                id=p.id,
                status=p.status,
                pi_amount=p.pi_amount,
                idr_amount=p.idr_amount,
                created_at=p.created_at,
            )
            for p in payments
        ],
    )
