"""Pure checks of a Pi payment and its blockchain transaction against the payment's quote.

Each returns the reason a customer's payment must be refused, or None when it matches. They read
nothing and change nothing, so the flow can run them before any side effect and tests can state
every rule on its own. The rules (issue #6): the Pi platform's payment is a user-to-app payment
to the platform's account for the quote's exact amount; its transaction is successful, has the
payment identifier as text memo, and is exactly one native payment from the payment's
``from_address`` to the platform's account of exactly the quoted amount, made before the
payment's deadline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from settlement.pi.amounts import to_stellar_amount
from settlement.pi.horizon import PiOperation, PiTransaction
from settlement.pi.platform_client import PiPayment


@dataclass(frozen=True)
class ExpectedTransfer:
    """What the customer's Pi transaction must be."""

    memo: str
    from_address: str
    to_address: str
    amount: int
    deadline: datetime


def pi_payment_mismatch(pi: PiPayment, *, pi_payment_id: str, amount: int, app_address: str) -> str | None:
    """Why the Pi platform's payment does not match our record and quote, or None."""
    if pi.identifier != pi_payment_id:
        return f"the Pi platform answered payment {pi.identifier}, not {pi_payment_id}"
    if pi.direction != "user_to_app":
        return f"Pi payment {pi.identifier} is {pi.direction}, not user_to_app"
    if pi.amount != amount:
        return (
            f"Pi payment amount {to_stellar_amount(pi.amount)} Pi differs from the quote's "
            f"{to_stellar_amount(amount)} Pi"
        )
    if pi.to_address != app_address:
        return f"Pi payment pays {pi.to_address}, not the platform's account {app_address}"
    return None


def transaction_mismatch(
    tx: PiTransaction, operations: list[PiOperation], expected: ExpectedTransfer
) -> str | None:
    """Why ``tx`` does not pay ``expected``, or None."""
    if not tx.successful:
        return f"Pi transaction {tx.hash} failed on the ledger"
    if tx.memo_type != "text" or tx.memo != expected.memo:
        return f"Pi transaction memo {tx.memo!r} is not the payment identifier {expected.memo!r}"
    if len(operations) != 1:
        return f"Pi transaction has {len(operations)} operations; exactly one native payment is required"
    op = operations[0]
    if op.type != "payment" or not op.is_native_move:
        return f"Pi transaction's operation is a {op.type} of {op.asset_type}, not a native payment"
    if op.to_address != expected.to_address:
        return f"Pi transaction pays {op.to_address}, not the platform's account {expected.to_address}"
    if op.from_address != expected.from_address:
        return f"Pi transaction is paid from {op.from_address}, not the payment's {expected.from_address}"
    assert op.amount is not None  # is_native_move
    if op.amount != expected.amount:
        return (
            f"Pi transaction amount {to_stellar_amount(op.amount)} Pi is not the quoted "
            f"{to_stellar_amount(expected.amount)} Pi"
        )
    closed_at = datetime.fromisoformat(tx.created_at)
    if closed_at > expected.deadline:
        return (
            f"Pi transaction was made at {closed_at.isoformat()}, after the payment's deadline "
            f"{expected.deadline.isoformat()}"
        )
    return None
