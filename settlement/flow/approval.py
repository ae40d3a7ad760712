"""The approval move a customer's transaction can overtake.

The approval step approves on Pi first and records its move (``incomplete ->
pending_user_transfer_start``) after. A fast customer can pay in between — a Pi wallet pays only
an approved payment — so the completion callback may find the payment still ``incomplete``.
Refusing it would leave the payment to the reconciler; instead the callback asks Pi, and when Pi
shows the payment approved and open, makes the approval step's move itself and records the txid.
A payment Pi has not approved is still refused: no wallet can have paid it, and so is one Pi's
record does not bind to the payment's merchant and quote (:mod:`settlement.flow.binding`).
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session, sessionmaker

from settlement.flow.binding import binding_of, binding_refusal
from settlement.payments.errors import InvalidTransitionError
from settlement.payments.models import Payment
from settlement.payments.models import PaymentStatus as S
from settlement.payments.service import PaymentService
from settlement.pi.platform_client import PiPlatformClient, PiPlatformError

APPROVED_ON_ARRIVAL = "approved on the Pi platform (found approved when the customer's transaction arrived)"


def approved_on_pi(platform: PiPlatformClient, payment: Payment, app_address: str) -> bool:
    """Whether Pi shows the payment approved, still open and bound to the payment's merchant and
    quote (False when Pi cannot be asked)."""
    try:
        pi = platform.get_payment(payment.pi_payment_id)
    except PiPlatformError:
        return False
    if binding_refusal(pi, binding_of(payment), pi_payment_id=payment.pi_payment_id, app_address=app_address):
        return False
    return pi.status.developer_approved and not (pi.status.cancelled or pi.status.user_cancelled)


def catch_up_approval(
    sessions: sessionmaker[Session], payments: PaymentService, payment_id: uuid.UUID
) -> None:
    """Makes the approval step's move for a payment Pi approved; a move already made is fine."""
    try:
        with sessions.begin() as session:
            payments.transition(
                session, payment_id, S.INCOMPLETE, S.PENDING_USER_TRANSFER_START, APPROVED_ON_ARRIVAL
            )
    except InvalidTransitionError:
        pass  # the approval step (or another delivery) made it first, or the payment moved on
