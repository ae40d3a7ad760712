"""Errors of payment requests, each built from the request it is about.

Each has its own ``code`` so the checkout can tell the customer, in their language, exactly why
the request cannot be paid (already paid, being paid, expired, withdrawn).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from common.errors import ConflictError, NotFoundError


class PaymentRequestNotFoundError(NotFoundError):
    """No payment request has this id (or not one the caller may see)."""

    code = "payment_request_not_found"

    def __init__(self, request_id: uuid.UUID | str) -> None:
        super().__init__(f"payment request {request_id} does not exist", request_id=str(request_id))


class PaymentRequestPaidError(ConflictError):
    """A one-use request was paid already: it is never paid twice."""

    code = "payment_request_paid"

    def __init__(self, request_id: uuid.UUID) -> None:
        super().__init__(f"payment request {request_id} is already paid", request_id=str(request_id))


class PaymentRequestInProgressError(ConflictError):
    """Another customer's payment holds this one-use request right now."""

    code = "payment_request_in_progress"

    def __init__(self, request_id: uuid.UUID) -> None:
        super().__init__(
            f"payment request {request_id} is being paid by another payment", request_id=str(request_id)
        )


class PaymentRequestExpiredError(ConflictError):
    """The request's expiry passed."""

    code = "payment_request_expired"

    def __init__(self, request_id: uuid.UUID, expires_at: datetime | None) -> None:
        at = expires_at.isoformat() if expires_at is not None else "its expiry"
        super().__init__(f"payment request {request_id} expired at {at}", request_id=str(request_id))


class PaymentRequestCancelledError(ConflictError):
    """The merchant withdrew the request."""

    code = "payment_request_cancelled"

    def __init__(self, request_id: uuid.UUID) -> None:
        super().__init__(f"payment request {request_id} was cancelled", request_id=str(request_id))


class PaymentRequestNotCancellableError(ConflictError):
    """A request being paid, or paid, cannot be withdrawn."""

    code = "payment_request_not_cancellable"

    def __init__(self, request_id: uuid.UUID, status: str) -> None:
        super().__init__(
            f"payment request {request_id} is {status}; only an open request can be cancelled",
            request_id=str(request_id),
            status=status,
        )
