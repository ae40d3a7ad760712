"""Errors of payments, each built from the payment it is about."""

from __future__ import annotations

import uuid

from common.errors import ConflictError, NotFoundError
from settlement.payments.statemachine import InvalidTransitionError

__all__ = ["InvalidTransitionError", "PaymentConflictError", "PaymentNotFoundError", "TxidAlreadyUsedError"]


class PaymentNotFoundError(NotFoundError):
    """No payment has this id."""

    code = "payment_not_found"

    def __init__(self, payment_id: uuid.UUID) -> None:
        super().__init__(f"payment {payment_id} does not exist", payment_id=str(payment_id))


class PaymentConflictError(ConflictError):
    """A Pi payment id is already recorded with another merchant or quote.

    The recorded payment may be another merchant's, so its id is kept for the server
    (``existing_id``) and never put in the message or details the caller sees.
    """

    code = "payment_conflict"

    def __init__(self, pi_payment_id: str, existing_id: uuid.UUID) -> None:
        super().__init__(
            f"Pi payment {pi_payment_id!r} is already recorded with a different merchant or quote",
            pi_payment_id=pi_payment_id,
        )
        self.existing_id = existing_id


class TxidAlreadyUsedError(ConflictError):
    """A Pi transaction is already recorded for another payment: one transaction pays once.

    The other payment may be another merchant's, so its id is kept for the server
    (``other_payment_id``) and never put in the message or details the caller sees.
    """

    code = "txid_already_used"

    def __init__(self, txid: str, payment_id: uuid.UUID, other_payment_id: uuid.UUID | None) -> None:
        super().__init__(
            f"Pi transaction {txid} cannot pay payment {payment_id}: it is already recorded for another "
            "payment",
            txid=txid,
            payment_id=str(payment_id),
        )
        self.other_payment_id = other_payment_id
