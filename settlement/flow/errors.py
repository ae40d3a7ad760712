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
