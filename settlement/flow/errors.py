"""Errors of the Pi flow, each built from the payment or refund it is about."""

from __future__ import annotations

import uuid

from common.errors import ConflictError, NotFoundError, ValidationError


class TxidMismatchError(ConflictError):
    """The payment already waits on another Pi transaction; one payment has one transaction."""

    code = "payment_txid_mismatch"

    def __init__(self, payment_id: uuid.UUID, recorded: str, offered: str) -> None:
        super().__init__(
            f"payment {payment_id} is already paid by Pi transaction {recorded}, not {offered}",
            payment_id=str(payment_id),
            recorded_txid=recorded,
            offered_txid=offered,
        )


class InvalidTxidError(ValidationError):
    """A txid that is not a transaction hash (64 hexadecimal characters)."""

    code = "invalid_txid"

    def __init__(self, txid: str) -> None:
        super().__init__(f"{txid!r} is not a Pi transaction hash (64 hex characters)", txid=txid)


class NothingToRefundError(ConflictError):
    """The payment cannot be refunded: it was credited, or no Pi arrived for it."""

    code = "nothing_to_refund"

    def __init__(self, payment_id: uuid.UUID, why: str) -> None:
        super().__init__(f"payment {payment_id} cannot be refunded: {why}", payment_id=str(payment_id))


class WalletBusyError(ConflictError):
    """Another payout from the app wallet is in flight; its sequence number must be used first."""

    code = "pi_wallet_busy"

    def __init__(self, wallet: str, refund_id: uuid.UUID) -> None:
        super().__init__(
            f"refund {refund_id} must wait: another payout from wallet {wallet} is in flight",
            wallet=wallet,
            refund_id=str(refund_id),
        )


class RefundNotFoundError(NotFoundError):
    """No refund has this id."""

    code = "refund_not_found"

    def __init__(self, refund_id: uuid.UUID) -> None:
        super().__init__(f"refund {refund_id} does not exist", refund_id=str(refund_id))


class PiPaymentMismatchError(ValidationError):
    """The Pi payment does not match the quote it is presented with (amount, direction, account)."""

    code = "pi_payment_mismatch"

    def __init__(self, pi_payment_id: str, reason: str) -> None:
        super().__init__(
            f"Pi payment {pi_payment_id} cannot be accepted: {reason}", pi_payment_id=pi_payment_id
        )


class PiPaymentNotBoundError(ValidationError):
    """The Pi payment's metadata does not bind it to this merchant and quote (see ``binding``).

    Also the answer when the Pi payment is recorded for another merchant: both say only that the
    payment is not the caller's, never whose it is.
    """

    code = "pi_payment_not_bound"

    def __init__(self, pi_payment_id: str, reason: str) -> None:
        super().__init__(
            f"Pi payment {pi_payment_id} cannot be accepted: {reason}", pi_payment_id=pi_payment_id
        )


class PiPaymentCancelledError(ConflictError):
    """The customer or the Pi platform cancelled the payment already."""

    code = "pi_payment_cancelled"

    def __init__(self, pi_payment_id: str) -> None:
        super().__init__(
            f"Pi payment {pi_payment_id} is cancelled on the Pi platform", pi_payment_id=pi_payment_id
        )
