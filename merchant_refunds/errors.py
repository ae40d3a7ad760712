"""Errors of merchant refunds, each built from the payment or refund it is about."""

from __future__ import annotations

import uuid

from common.errors import ConflictError, MSCError, NotFoundError, ValidationError


class RefundPaymentNotFoundError(NotFoundError):
    """The payment does not exist or is not this merchant's (the two look the same to a caller)."""

    code = "refund_payment_not_found"

    def __init__(self, payment_id: uuid.UUID) -> None:
        super().__init__(f"no payment {payment_id} of this merchant", payment_id=str(payment_id))


class RefundNotPossibleError(ConflictError):
    """The payment cannot be refunded now (not settled into the escrow, or nothing is left)."""

    code = "refund_not_possible"

    def __init__(self, payment_id: uuid.UUID, why: str) -> None:
        super().__init__(f"payment {payment_id} cannot be refunded: {why}", payment_id=str(payment_id))


class RefundInProgressError(ConflictError):
    """Another refund of the payment is under way; the next one waits for its outcome."""

    code = "refund_in_progress"

    def __init__(self, payment_id: uuid.UUID) -> None:
        super().__init__(
            f"a refund of payment {payment_id} is under way; try again when it is done",
            payment_id=str(payment_id),
        )


class RefundAmountError(ValidationError):
    """The amount is not positive or is above what is refundable."""

    code = "refund_amount_invalid"

    def __init__(self, amount: int, refundable: int) -> None:
        super().__init__(
            f"a refund of {amount} sen is not possible: 1 to {refundable} sen is refundable",
            amount=amount,
            refundable=refundable,
        )


class RefundReasonError(ValidationError):
    """The reason is missing or not plain text."""

    code = "refund_reason_invalid"

    def __init__(self, why: str) -> None:
        super().__init__(f"the refund's reason {why}")


class RefundSignatureError(ValidationError):
    """The merchant's own wallet must sign this refund, and the signature given is missing or wrong."""

    code = "refund_signature_invalid"

    def __init__(self, why: str) -> None:
        super().__init__(f"the refund authorization {why}")


class RefundReplayMismatchError(ConflictError):
    """The idempotency key was used for a different refund."""

    code = "refund_idempotency_mismatch"

    def __init__(self, refund_id: uuid.UUID) -> None:
        super().__init__(
            f"this idempotency key already asked for refund {refund_id}, with other values",
            refund_id=str(refund_id),
        )


class RefundNotFoundError(NotFoundError):
    """No refund has this id."""

    code = "refund_not_found"

    def __init__(self, refund_id: uuid.UUID) -> None:
        super().__init__(f"no refund {refund_id}", refund_id=str(refund_id))


class RefundsUnavailableError(MSCError):
    """This process has no platform signer or no deployed platform: refunds cannot be sent."""

    code = "refunds_unavailable"
    status_code = 503

    def __init__(self) -> None:
        super().__init__("refunds are not available: no platform signer or no deployed platform")
