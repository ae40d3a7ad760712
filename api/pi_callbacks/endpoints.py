"""``/v1/pi/payments/{pi_payment_id}/...``: the Pi SDK's ``onReadyForServerApproval`` and
``onReadyForServerCompletion``, forwarded by the merchant's Pi app server with its API key.

Pi delivers callbacks at least once, possibly concurrently. Each endpoint is idempotent without
any header: approving queues the (idempotent) approval again; completing records the txid under
its unique constraint with the Pi flow's rules (``PiPaymentFlow.submit_txid``: the same txid again
is a no-op, another txid for the payment or a txid already paying another payment is 409) and
queues verification. Answers are 202 with the payment's status.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session, sessionmaker

from api.auth import Principal, require_role
from api.db import get_sessions
from api.errors import error_responses
from api.merchants import service as merchants
from api.models import Role
from api.payments import service
from api.payments.endpoints import Payments, Tasks, get_pi_check
from api.payments.precheck import PiPaymentCheck
from api.payments.schemas import PaymentView, PiPaymentId, TxidRequest, view
from settlement.flow.approval import approved_on_pi, catch_up_approval
from settlement.flow.binding import binding_of
from settlement.flow.errors import TxidMismatchError
from settlement.flow.pi_flow import normalise_txid
from settlement.payments.errors import InvalidTransitionError, TxidAlreadyUsedError
from settlement.payments.models import Payment, PaymentStatus
from settlement.payments.service import PaymentService
from settlement.workers.steps import APPROVE, VERIFY

router = APIRouter(prefix="/v1/pi/payments", tags=["pi callbacks"])

Sessions = Annotated[sessionmaker[Session], Depends(get_sessions)]
Merchant = Annotated[Principal, Depends(require_role(Role.MERCHANT))]


@router.post(
    "/{pi_payment_id}/approve",
    status_code=202,
    response_model=PaymentView,
    responses=error_responses(401, 403, 404, 409, 422),
    summary="onReadyForServerApproval: queue the approval of a recorded payment",
)
def approve(
    pi_payment_id: PiPaymentId,
    principal: Merchant,
    sessions: Sessions,
    tasks: Tasks,
    pi_check: Annotated[PiPaymentCheck | None, Depends(get_pi_check)],
) -> PaymentView:
    """Queues the approval of the payment recorded for this Pi payment (`POST /v1/payments` records
    it). Approving an approved payment changes nothing; the answer shows its status. A payment
    still waiting for approval is refused while the merchant is suspended (409
    `merchant_suspended`), and is checked on Pi first (when the Pi network is configured): one whose
    metadata does not bind it to this merchant and its quote is refused (422) and nothing is queued."""
    with sessions() as session:
        payment = service.visible_by_pi_id(session, principal, pi_payment_id)
        if payment.status == PaymentStatus.INCOMPLETE and principal.merchant_id is not None:
            merchants.ensure_active(session, principal.merchant_id)  # suspended since it was recorded
    if pi_check is not None and payment.status == PaymentStatus.INCOMPLETE:
        pi_check(pi_payment_id, binding_of(payment))
    tasks.enqueue(APPROVE, str(payment.id))
    return view(payment, queued=APPROVE)


@router.post(
    "/{pi_payment_id}/complete",
    status_code=202,
    response_model=PaymentView,
    responses=error_responses(400, 401, 403, 404, 409, 413, 422),
    summary="onReadyForServerCompletion: record the txid and queue verification",
)
def complete(
    pi_payment_id: PiPaymentId,
    data: TxidRequest,
    principal: Merchant,
    sessions: Sessions,
    payments: Payments,
    tasks: Tasks,
    pi_check: Annotated[PiPaymentCheck | None, Depends(get_pi_check)],
) -> PaymentView:
    """Records the customer's Pi transaction (`pending_anchor`) and queues its verification on
    Horizon, the completion on the Pi platform and the MSC mint into the merchant's escrow.

    The txid is recorded before anything else happens, under a unique constraint: one Pi
    transaction pays one payment, once. A transaction that overtakes the recording of the
    payment's approval is accepted when the Pi platform shows the payment approved.
    """
    txid = normalise_txid(data.txid)
    try:
        payment = _record_txid(sessions, principal, payments, pi_payment_id, txid)
    except InvalidTransitionError:
        with sessions() as session:
            current = service.visible_by_pi_id(session, principal, pi_payment_id)
        if current.status == PaymentStatus.INCOMPLETE:
            if pi_check is None or not approved_on_pi(pi_check.platform, current, pi_check.app_address):
                raise
            catch_up_approval(sessions, payments, current.id)
        elif current.status != PaymentStatus.PENDING_USER_TRANSFER_START:
            raise
        # (or the approval step's move landed in between: the txid can be recorded now)
        payment = _record_txid(sessions, principal, payments, pi_payment_id, txid)
    tasks.enqueue(VERIFY, str(payment.id))
    return view(payment, queued=VERIFY)


def _record_txid(
    sessions: sessionmaker[Session],
    principal: Principal,
    payments: PaymentService,
    pi_payment_id: str,
    txid: str,
) -> Payment:
    """The txid's record and move (``PaymentService.record_txid``), or the payment if a concurrent
    delivery of the same callback recorded this very txid first."""
    try:
        with sessions.begin() as session:
            payment = service.visible_by_pi_id(session, principal, pi_payment_id)
            if payment.txid is not None and payment.txid != txid:
                raise TxidMismatchError(payment.id, payment.txid, txid)
            return payments.record_txid(session, payment.id, txid)
    except (InvalidTransitionError, TxidAlreadyUsedError):
        # The concurrent delivery lost the conditional UPDATE or the unique index: that is success,
        # not a conflict.
        with sessions() as session:
            payment = service.visible_by_pi_id(session, principal, pi_payment_id)
        if payment.txid != txid:
            if payment.txid is not None:
                raise TxidMismatchError(payment.id, payment.txid, txid) from None
            raise
        return payment
