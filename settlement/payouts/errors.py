"""Errors of payouts, each built from the payout it is about."""

from __future__ import annotations

import uuid

from common.errors import ConflictError, NotFoundError
from settlement.payments.statemachine import InvalidTransitionError

__all__ = ["InvalidTransitionError", "PayoutIdempotencyConflictError", "PayoutNotFoundError"]


class PayoutNotFoundError(NotFoundError):
    """No payout has this id."""

    code = "payout_not_found"

    def __init__(self, payout_id: uuid.UUID) -> None:
        super().__init__(f"payout {payout_id} does not exist", payout_id=str(payout_id))


class PayoutIdempotencyConflictError(ConflictError):
    """An idempotency key was already used for a payout with other content."""

    code = "payout_idempotency_conflict"

    def __init__(self, key: str, existing_id: uuid.UUID) -> None:
        # The existing payout may be another merchant's: its id stays on the server (``existing_id``).
        super().__init__(
            f"idempotency key {key!r} was already used by a payout with a different merchant, "
            "amount, fee or bank account",
            idempotency_key=key,
        )
        self.existing_id = existing_id
