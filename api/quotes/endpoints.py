"""``/v1/quotes``: firm Pi -> IDR quotes (SEP-38 ``POST /quote`` and ``GET /quote/:id``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session, sessionmaker

from api.auth import Principal, require_role
from api.db import get_sessions
from api.errors import error_responses
from api.idempotency import Idempotency, idempotency
from api.merchants import service as merchants
from api.models import Role
from api.quotes.models import QuoteOwner
from api.quotes.schemas import QuoteRequest, QuoteResponse
from settlement.quotes.errors import QuoteNotFoundError
from settlement.quotes.service import QuoteService

router = APIRouter(prefix="/v1/quotes", tags=["quotes"])

Sessions = Annotated[sessionmaker[Session], Depends(get_sessions)]


def get_quote_service(request: Request) -> QuoteService:
    """The app's quote service (fixed rate from settings)."""
    service: QuoteService = request.app.state.quotes
    return service


@router.post(
    "",
    status_code=201,
    response_model=QuoteResponse,
    responses=error_responses(400, 401, 403, 409, 413, 422, 503),
    summary="Request a firm quote",
)
def create_quote(
    data: QuoteRequest,
    principal: Annotated[Principal, Depends(require_role(Role.MERCHANT, Role.OPERATOR))],
    idem: Annotated[Idempotency, Depends(idempotency)],
    quotes: Annotated[QuoteService, Depends(get_quote_service)],
    sessions: Sessions,
) -> Response:
    """A firm quote for selling `sell_amount` Pi minor units or buying `buy_amount` sen.

    Idempotent with `Idempotency-Key`: a retry returns the same quote rather than a new one.
    A suspended merchant's keys get no quote (`merchant_suspended`, 409).
    """

    def effect(session: Session) -> QuoteResponse:
        if principal.merchant_id is not None:
            merchants.ensure_active(session, principal.merchant_id)
        quote = quotes.create(session, **data.model_dump())
        session.add(
            QuoteOwner(quote_id=quote.id, api_key_id=principal.api_key_id, merchant_id=principal.merchant_id)
        )
        session.flush()
        return QuoteResponse.of(quote)

    return idem.run(sessions, effect, status_code=201)


@router.get(
    "/{quote_id}",
    response_model=QuoteResponse,
    responses=error_responses(401, 403, 404, 422),
    summary="A quote by id",
)
def get_quote(
    quote_id: uuid.UUID,
    principal: Annotated[Principal, Depends(require_role(Role.MERCHANT, Role.OPERATOR, Role.AUDITOR))],
    quotes: Annotated[QuoteService, Depends(get_quote_service)],
    sessions: Sessions,
) -> QuoteResponse:
    """The quote; a merchant sees only quotes made with its own keys (others are 404)."""
    with sessions() as session:
        if principal.role == Role.MERCHANT:
            owner = session.get(QuoteOwner, quote_id)
            if owner is None or not principal.sees_merchant(owner.merchant_id):
                raise QuoteNotFoundError(quote_id)
        return QuoteResponse.of(quotes.get(session, quote_id))
