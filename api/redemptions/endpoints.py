"""``/v1/redemptions``: a merchant redeems MSC for Rupiah; operators record the bank's answer.

The merchant signs an EIP-3009 ``ReceiveWithAuthorization`` of the amount to the redeemer (the
platform's settlement key); the API relays it, the MSC is burned and a payout is created for the
bank transfer (see :mod:`settlement.redemption.service`). A merchant sees only its own payouts
(others answer 404).
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session, sessionmaker

from api.auth import Principal, require_role
from api.db import get_sessions
from api.errors import error_responses
from api.idempotency import Idempotency, idempotency
from api.models import Merchant, Role
from api.redemptions.schemas import BankFailed, BankPaid, RedemptionCreate, RedemptionRead
from chain.errors import ChainError
from chain.platform import load_platform
from chain.settings import ChainSettings
from chain.signer import Signer
from common.errors import ValidationError
from settlement.payouts.errors import PayoutNotFoundError
from settlement.payouts.models import Payout
from settlement.redemption.service import Authorization, RedemptionRequest, RedemptionService
from settlement.workers.settings import WorkerSettings

router = APIRouter(prefix="/v1/redemptions", tags=["redemptions"])
log = logging.getLogger(__name__)

Sessions = Annotated[sessionmaker[Session], Depends(get_sessions)]
Operator = Annotated[Principal, Depends(require_role(Role.OPERATOR))]


class IdempotencyKeyRequiredError(ValidationError):
    """Redemptions move money: a retry must not redeem twice, so the key is required."""

    code = "idempotency_key_required"
    status_code = 400

    def __init__(self) -> None:
        super().__init__("a redemption needs an Idempotency-Key header")


def get_redemptions(request: Request) -> RedemptionService:
    """The app's redemption service: set on ``app.state.redemptions``, or built once from the
    ``MSC_*`` settings. The redeemer is ``MSC_WORKER_REDEEMER_KEY`` (the key the settlement
    workers burn with), else the platform signer (the minter then leaves redeemed MSC alone)."""
    service: RedemptionService | None = getattr(request.app.state, "redemptions", None)
    if service is None:
        chain = ChainSettings.from_env()
        redeemer_key = WorkerSettings.from_env().worker_redeemer_key
        redeemer = (
            Signer.from_key(redeemer_key.get_secret_value()) if redeemer_key else Signer.from_settings(chain)
        )
        service = RedemptionService(
            request.app.state.sessions,
            load_platform(chain),
            redeemer,
            max_valid_seconds=WorkerSettings.from_env().worker_redemption_max_valid_seconds,
        )
        request.app.state.redemptions = service
    return service


Redemptions = Annotated[RedemptionService, Depends(get_redemptions)]


@router.post(
    "",
    status_code=201,
    response_model=RedemptionRead,
    responses=error_responses(400, 401, 403, 409, 413, 422, 503),
    summary="Redeem MSC for Rupiah (merchant)",
)
def redeem(
    data: RedemptionCreate,
    principal: Annotated[Principal, Depends(require_role(Role.MERCHANT))],
    idem: Annotated[Idempotency, Depends(idempotency)],
    redemptions: Redemptions,
    sessions: Sessions,
) -> Response:
    """Relays the merchant's signed authorization, records the payout, then burns the MSC.

    Requires `Idempotency-Key`: the same key and body replay the first response; another body
    with the same key is 409. Every field is checked (integers against SQL and the contract,
    `valid_before` at most `MSC_WORKER_REDEMPTION_MAX_VALID_SECONDS` ahead of the chain's time)
    before anything is sent; a refusal is a 4xx that changes nothing. The response shows the
    payout as recorded; `GET` it to follow the burn and the bank transfer.
    """
    if idem.key is None:
        raise IdempotencyKeyRequiredError()
    assert principal.merchant_id is not None  # merchant keys always have one
    merchant_id = principal.merchant_id
    with sessions() as session:
        merchant = session.get(Merchant, merchant_id)
        assert merchant is not None  # a key's merchant exists (foreign key)
        address = merchant.evm_address
    auth = data.authorization
    request = RedemptionRequest(
        idempotency_key=str(idem.key),
        merchant_id=str(merchant_id),
        merchant_address=address,
        amount=data.amount,
        bank_account=data.bank_account,
        authorization=Authorization(
            sender=address,
            value=data.amount,
            valid_after=auth.valid_after,
            valid_before=auth.valid_before,
            nonce=bytes.fromhex(auth.nonce[2:]),
            signature=bytes.fromhex(auth.signature[2:]),
        ),
    )
    # Write-ahead: the intent is committed and the relay sent in transactions of their own,
    # before the idempotency transaction takes SQLite's one write lock; the payout follows in it.
    redemptions.prepare(request)

    def effect(session: Session) -> RedemptionRead:
        payout = redemptions.request(session, request)
        return _read(redemptions, session, payout)

    response = idem.run(sessions, effect, status_code=201)
    payout_id = uuid.UUID(json.loads(bytes(response.body))["id"])
    try:
        redemptions.process(payout_id)
    except ChainError as exc:  # recorded; the settlement worker burns it later
        log.warning("redemption %s recorded, burn deferred: %s", payout_id, exc)
    return response


@router.get(
    "/{payout_id}",
    response_model=RedemptionRead,
    responses=error_responses(401, 403, 404, 422, 503),
    summary="A redemption payout with its history",
)
def get_redemption(
    payout_id: uuid.UUID,
    principal: Annotated[Principal, Depends(require_role(Role.MERCHANT, Role.OPERATOR, Role.AUDITOR))],
    redemptions: Redemptions,
    sessions: Sessions,
) -> RedemptionRead:
    """The payout; a merchant sees only its own."""
    with sessions() as session:
        payout = _visible(session, principal, payout_id)
        return _read(redemptions, session, payout)


@router.post(
    "/{payout_id}/paid",
    response_model=RedemptionRead,
    responses=error_responses(400, 401, 403, 404, 409, 413, 422, 503),
    summary="Mark the bank transfer paid (operator)",
)
def mark_paid(
    payout_id: uuid.UUID, data: BankPaid, principal: Operator, redemptions: Redemptions, sessions: Sessions
) -> RedemptionRead:
    """`processing -> paid`; the ledger books the transfer from the bank account."""
    redemptions.mark_paid(payout_id, data.bank_reference)
    return _fresh(redemptions, sessions, payout_id)


@router.post(
    "/{payout_id}/failed",
    response_model=RedemptionRead,
    responses=error_responses(400, 401, 403, 404, 409, 413, 422, 503),
    summary="Mark the bank transfer failed (operator)",
)
def mark_failed(
    payout_id: uuid.UUID, data: BankFailed, principal: Operator, redemptions: Redemptions, sessions: Sessions
) -> RedemptionRead:
    """`processing -> failed`; the Rupiah stays owed until the payout is reversed."""
    redemptions.mark_failed(payout_id, data.reason)
    return _fresh(redemptions, sessions, payout_id)


@router.post(
    "/{payout_id}/reversed",
    response_model=RedemptionRead,
    responses=error_responses(400, 401, 403, 404, 409, 413, 422, 503),
    summary="Reverse a failed payout (operator)",
)
def reverse(
    payout_id: uuid.UUID, principal: Operator, redemptions: Redemptions, sessions: Sessions
) -> RedemptionRead:
    """`failed -> reversed`: the full amount is re-issued as MSC to the merchant."""
    redemptions.reverse(payout_id)
    return _fresh(redemptions, sessions, payout_id)


def _visible(session: Session, principal: Principal, payout_id: uuid.UUID) -> Payout:
    payout = session.get(Payout, payout_id)
    if payout is None or (
        principal.role == Role.MERCHANT and payout.merchant_id != str(principal.merchant_id)
    ):
        raise PayoutNotFoundError(payout_id)
    return payout


def _read(redemptions: RedemptionService, session: Session, payout: Payout) -> RedemptionRead:
    return RedemptionRead.of(
        payout, redemptions.redemption(session, payout.id), redemptions.payouts.history(session, payout.id)
    )


def _fresh(
    redemptions: RedemptionService, sessions: sessionmaker[Session], payout_id: uuid.UUID
) -> RedemptionRead:
    with sessions() as session:
        payout = session.get(Payout, payout_id)
        if payout is None:
            raise PayoutNotFoundError(payout_id)
        return _read(redemptions, session, payout)
