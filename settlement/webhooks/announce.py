"""Which status moves a merchant hears about, and what each event says.

Payments and payouts call these from their repository's ``move`` — the one function every status
change goes through — in the transaction of the move itself. So an event exists exactly when its
move committed (the transactional outbox), whoever made the move: the Pi flow, the minter, the
redemption service or an operator. The dedupe key (one per row and status) makes a retried move
that somehow reaches here twice announce once.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from settlement.minting.ids import escrow_payment_id
from settlement.payments.models import Payment, PaymentStatus
from settlement.payouts.models import Payout, PayoutStatus
from settlement.redemption.models import Redemption
from settlement.webhooks.events import EventType
from settlement.webhooks.service import emit

_PAYMENT_FAILED = frozenset({PaymentStatus.ERROR, PaymentStatus.EXPIRED, PaymentStatus.REFUNDED})


def announce_payment(session: Session, payment_id: uuid.UUID, to_status: str) -> str | None:
    """Emits ``payment.completed`` / ``payment.failed`` for a move to such a status; else nothing.

    Returns:
        The event id, or None when the move is not announced.
    """
    if to_status == PaymentStatus.COMPLETED:
        kind = EventType.PAYMENT_COMPLETED
    elif to_status in _PAYMENT_FAILED:
        kind = EventType.PAYMENT_FAILED
    else:
        return None
    payment = session.get(Payment, payment_id, populate_existing=True)
    if payment is None:
        return None
    common = {
        "payment_id": str(payment.id),
        "pi_payment_id": payment.pi_payment_id,
        "amount_pi_minor": payment.pi_amount,
    }
    if kind is EventType.PAYMENT_COMPLETED:
        data = {
            **common,
            "amount_idr_minor": payment.idr_amount,
            "quote_id": str(payment.quote_id),
            "txid": payment.txid or "",
            "escrow_payment_id": "0x" + escrow_payment_id(payment.id).hex(),
        }
    else:
        data = {**common, "reason": to_status, "message": payment.error_reason or to_status}
    return emit(session, payment.merchant_id, kind, data, dedupe_key=f"payment:{payment.id}:{to_status}")


def announce_payout(session: Session, payout_id: uuid.UUID, to_status: str) -> str | None:
    """Emits ``payout.paid`` / ``payout.failed`` for a move to such a status; else nothing."""
    if to_status == PayoutStatus.PAID:
        kind = EventType.PAYOUT_PAID
    elif to_status == PayoutStatus.FAILED:
        kind = EventType.PAYOUT_FAILED
    else:
        return None
    payout = session.get(Payout, payout_id, populate_existing=True)
    if payout is None:
        return None
    common = {"payout_id": str(payout.id), "amount_idr_minor": payout.amount - payout.fee}
    if kind is EventType.PAYOUT_PAID:
        redemption = session.get(Redemption, payout.id)
        burn = redemption.burn_tx_hash if redemption is not None else None
        data = {**common, "bank_reference": payout.bank_reference or "", "burn_tx_hash": burn or ""}
    else:
        reason = payout.failure_reason or "bank transfer failed"
        data = {**common, "reason": "bank_transfer_failed", "message": reason}
    return emit(session, payout.merchant_id, kind, data, dedupe_key=f"payout:{payout.id}:{to_status}")
