"""``/v1/payments/{payment_id}/refunds``: a merchant refunds a payment in full or in part.

While the payment is held in escrow the refund is the escrow merchant's signed
``RefundAuthorization``: the platform signs it for a custodial wallet; a merchant with its own
wallet gets the typed data from ``GET .../refunds/typed-data`` and sends the signature. After
release the guarantee fund pays (the merchant owes it). The platform relays, written ahead and
resumable (see :mod:`merchant_refunds`). A merchant sees only its own payments (others are 404).
"""

from __future__ import annotations

import secrets
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request

from api.auth import Principal, require_role
from api.errors import error_responses
from api.models import Role
from api.refunds.schemas import RefundCreate, RefundRead
from chain import eip712
from common.errors import ValidationError
from merchant_refunds.assembly import app_refunds
from merchant_refunds.service import MerchantRefundService, RefundRequest, WalletAuthorization

router = APIRouter(prefix="/v1/payments", tags=["refunds"])
UINT96_MAX = 2**96 - 1
Merchant = Annotated[Principal, Depends(require_role(Role.MERCHANT))]


def get_refunds(request: Request) -> MerchantRefundService:
    """The app's refund service (``app.state.refunds``; 503 when no platform signer is set)."""
    return app_refunds(request.app.state)


Refunds = Annotated[MerchantRefundService, Depends(get_refunds)]


class RefundIdempotencyKeyRequiredError(ValidationError):
    """A refund moves money: a retry must not refund twice, so the key is required."""

    code = "idempotency_key_required"
    status_code = 400

    def __init__(self) -> None:
        super().__init__("a refund needs an Idempotency-Key header")


def _merchant(principal: Principal) -> uuid.UUID:
    assert principal.merchant_id is not None  # merchant keys always have one
    return principal.merchant_id


@router.get(
    "/{payment_id}/refunds/typed-data",
    responses=error_responses(401, 403, 404, 409, 422, 503),
    summary="The RefundAuthorization an own wallet signs (merchant)",
)
def refund_typed_data(
    payment_id: uuid.UUID,
    amount: Annotated[int, Query(gt=0, le=UINT96_MAX)],
    principal: Merchant,
    refunds: Refunds,
) -> dict[str, Any]:
    """EIP-712 typed data of a refund of `amount` sen, with a fresh nonce: sign it with the
    payment's escrow address (`eth_signTypedData_v4`) and post the signature with the refund."""
    with refunds.sessions() as session:
        typed = refunds.typed_data(session, _merchant(principal), payment_id, amount, secrets.token_bytes(32))
    return eip712.as_json(typed)


@router.post(
    "/{payment_id}/refunds",
    status_code=201,
    response_model=RefundRead,
    responses=error_responses(400, 401, 403, 404, 409, 413, 422, 503),
    summary="Refund a payment in full or in part (merchant)",
)
def create_refund(
    payment_id: uuid.UUID,
    data: RefundCreate,
    principal: Merchant,
    refunds: Refunds,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=100)] = None,
) -> RefundRead:
    """Records the refund and takes it to the chain as far as it goes now.

    Requires `Idempotency-Key`: the same key refunds once (the same refund is answered again;
    another amount or payment with the key is 409). Every check (the payment is yours and in the
    escrow, the amount is refundable now, the reason, an own wallet's signature) happens before
    anything is recorded or sent; a refusal is a 4xx that changes nothing. `GET` the payment's
    refunds to follow one still under way.
    """
    if not idempotency_key:
        raise RefundIdempotencyKeyRequiredError()
    auth = data.authorization
    view = refunds.submit(
        RefundRequest(
            merchant_id=_merchant(principal),
            payment_id=payment_id,
            amount=data.amount,
            reason=data.reason,
            idempotency_key=f"api:{principal.api_key_id}:{idempotency_key}",
            requested_by_api_key_id=principal.api_key_id,
            authorization=WalletAuthorization(
                bytes.fromhex(auth.nonce[2:]), auth.valid_before, bytes.fromhex(auth.signature[2:])
            )
            if auth is not None
            else None,
        )
    )
    return RefundRead.of(view)


@router.get(
    "/{payment_id}/refunds",
    response_model=list[RefundRead],
    responses=error_responses(401, 403, 404, 503),
    summary="A payment's refunds (merchant)",
)
def list_refunds(payment_id: uuid.UUID, principal: Merchant, refunds: Refunds) -> list[RefundRead]:
    """The payment's refunds, oldest first."""
    with refunds.sessions() as session:
        views = refunds.refunds_of(session, _merchant(principal), payment_id)
    return [RefundRead.of(v) for v in views]
