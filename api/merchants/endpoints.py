"""``/v1/merchants``: onboarding (operators) and profiles."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from sqlalchemy.orm import Session, sessionmaker

from api.auth import Principal, require_role
from api.db import get_sessions
from api.errors import error_responses
from api.idempotency import Idempotency, idempotency
from api.merchants import service
from api.merchants.schemas import (
    MerchantCreate,
    MerchantCreated,
    MerchantRead,
    MerchantStatusChangeRead,
    MerchantStatusMove,
    MerchantWithHistory,
)
from api.models import Role

router = APIRouter(prefix="/v1/merchants", tags=["merchants"])

Sessions = Annotated[sessionmaker[Session], Depends(get_sessions)]


@router.post(
    "",
    status_code=201,
    response_model=MerchantCreated,
    responses=error_responses(400, 401, 403, 409, 413, 422),
    summary="Onboard a merchant (operator)",
)
def create_merchant(
    data: MerchantCreate,
    principal: Annotated[Principal, Depends(require_role(Role.OPERATOR))],
    idem: Annotated[Idempotency, Depends(idempotency)],
    sessions: Sessions,
) -> Response:
    """Creates the merchant and returns it with its API key, shown this once.

    Idempotent with `Idempotency-Key`; a replay returns the same merchant with `api_key: null`,
    because keys are never stored in a retrievable form.
    """

    def effect(session: Session) -> MerchantCreated:
        merchant, key = service.create(session, data)
        return MerchantCreated(merchant=MerchantRead.model_validate(merchant), api_key=key.secret)

    return idem.run(sessions, effect, status_code=201, redact=_without_key)


def _without_key(body: Any) -> Any:
    return {**body, "api_key": None}


@router.get(
    "/me",
    response_model=MerchantRead,
    responses=error_responses(401, 403),
    summary="The calling merchant (merchant)",
)
def get_me(
    principal: Annotated[Principal, Depends(require_role(Role.MERCHANT))], sessions: Sessions
) -> MerchantRead:
    """The merchant the API key belongs to."""
    assert principal.merchant_id is not None  # merchant keys always have one (a CHECK constraint)
    with sessions() as session:
        return MerchantRead.model_validate(service.get(session, principal.merchant_id))


@router.get(
    "/{merchant_id}",
    response_model=MerchantRead,
    responses=error_responses(401, 403, 404, 422),
    summary="A merchant by id (operator)",
)
def get_merchant(
    merchant_id: uuid.UUID,
    principal: Annotated[Principal, Depends(require_role(Role.OPERATOR))],
    sessions: Sessions,
) -> MerchantRead:
    """Any merchant, for operators."""
    with sessions() as session:
        return MerchantRead.model_validate(service.get(session, merchant_id))


def _with_history(session: Session, merchant_id: uuid.UUID) -> MerchantWithHistory:
    merchant = service.get(session, merchant_id)
    moves = [MerchantStatusChangeRead.model_validate(m) for m in service.history(session, merchant_id)]
    return MerchantWithHistory(**MerchantRead.model_validate(merchant).model_dump(), history=moves)


@router.post(
    "/{merchant_id}/suspend",
    response_model=MerchantWithHistory,
    responses=error_responses(401, 403, 404, 422),
    summary="Suspend a merchant (operator)",
)
def suspend_merchant(
    merchant_id: uuid.UUID,
    data: MerchantStatusMove,
    principal: Annotated[Principal, Depends(require_role(Role.OPERATOR))],
    sessions: Sessions,
) -> MerchantWithHistory:
    """Stops the merchant being paid: its quotes, `POST /v1/payments` and its checkout pages and
    approvals are refused (`merchant_suspended`, 409) until it is reinstated. Payments already
    made settle as usual. Suspending a suspended merchant changes nothing."""
    with sessions.begin() as session:
        service.suspend(session, merchant_id, data.reason, principal.api_key_id)
        return _with_history(session, merchant_id)


@router.post(
    "/{merchant_id}/reinstate",
    response_model=MerchantWithHistory,
    responses=error_responses(401, 403, 404, 422),
    summary="Reinstate a suspended merchant (operator)",
)
def reinstate_merchant(
    merchant_id: uuid.UUID,
    data: MerchantStatusMove,
    principal: Annotated[Principal, Depends(require_role(Role.OPERATOR))],
    sessions: Sessions,
) -> MerchantWithHistory:
    """Lets the merchant be paid again. Reinstating an active merchant changes nothing."""
    with sessions.begin() as session:
        service.reinstate(session, merchant_id, data.reason, principal.api_key_id)
        return _with_history(session, merchant_id)
