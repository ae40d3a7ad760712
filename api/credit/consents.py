"""A merchant's consents: ``/v1/merchants/me/consents`` (read, grant, revoke) and ``/v1/lenders``.

The merchant (its API key; the portal's owner uses the "Data & kredit" page over the same
service, :mod:`city.credit.consent`) sees its active consents and its whole log, reads by lenders
included, and may grant or revoke at any time. Another merchant's consent id answers 404.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from sqlalchemy.orm import Session, sessionmaker

from api.auth import Principal, require_role
from api.credit.schemas import (
    ConsentCreate,
    ConsentOverview,
    ConsentRevoked,
    ConsentView,
    LenderList,
    consent_view,
    event_view,
    lender_view,
)
from api.db import get_sessions
from api.errors import error_responses
from api.idempotency import Idempotency, idempotency
from api.models import Role
from city.credit import consent
from common.sql.helpers import utcnow

router = APIRouter(tags=["consents"])

Sessions = Annotated[sessionmaker[Session], Depends(get_sessions)]
MerchantKey = Annotated[Principal, Depends(require_role(Role.MERCHANT))]
LenderReader = Annotated[Principal, Depends(require_role(Role.MERCHANT, Role.OPERATOR, Role.AUDITOR))]


def _merchant(principal: Principal) -> uuid.UUID:
    assert principal.merchant_id is not None  # merchant keys always have one (a CHECK constraint)
    return principal.merchant_id


@router.get(
    "/v1/merchants/me/consents",
    response_model=ConsentOverview,
    responses=error_responses(401, 403),
    summary="Your consents and their log, reads by lenders included (merchant)",
)
def list_consents(principal: MerchantKey, sessions: Sessions) -> ConsentOverview:
    """Active consents, and every grant, revocation and lender read of your data, newest first."""
    merchant_id = _merchant(principal)
    with sessions() as session:
        return ConsentOverview(
            active=[consent_view(c) for c in consent.active_consents(session, merchant_id, utcnow())],
            events=[event_view(e) for e in consent.events(session, merchant_id)],
        )


@router.post(
    "/v1/merchants/me/consents",
    status_code=201,
    response_model=ConsentView,
    responses=error_responses(400, 401, 403, 409, 413, 422),
    summary="Grant a consent: scoring, or sharing with a lender (merchant)",
)
def grant_consent(
    data: ConsentCreate,
    principal: MerchantKey,
    idem: Annotated[Idempotency, Depends(idempotency)],
    sessions: Sessions,
) -> Response:
    """Grants `scoring`, or `sharing` with `lender_id` (409 `scoring_consent_required` without an
    active scoring consent). Granting what is already granted returns the active consent. With
    `Idempotency-Key`, a retry returns the same answer."""
    merchant_id = _merchant(principal)

    def effect(session: Session) -> ConsentView:
        row = consent.grant(
            session,
            merchant_id,
            data.purpose,
            data.lender_id,
            consent.api_key_actor(principal.api_key_id),
            utcnow(),
        )
        return consent_view(row)

    return idem.run(sessions, effect, status_code=201)


@router.delete(
    "/v1/merchants/me/consents/{consent_id}",
    response_model=ConsentRevoked,
    responses=error_responses(401, 403, 404, 422),
    summary="Revoke a consent (merchant)",
)
def revoke_consent(consent_id: uuid.UUID, principal: MerchantKey, sessions: Sessions) -> ConsentRevoked:
    """Revokes it now (revoking twice is harmless); revoking `scoring` revokes every sharing grant
    too. Each revocation is in your log."""
    merchant_id = _merchant(principal)
    with sessions.begin() as session:
        done = consent.revoke(
            session, merchant_id, consent_id, consent.api_key_actor(principal.api_key_id), utcnow()
        )
        return ConsentRevoked(
            consent=consent_view(done.consent), also_revoked=[consent_view(c) for c in done.cascaded]
        )


@router.get(
    "/v1/lenders",
    response_model=LenderList,
    responses=error_responses(401, 403),
    summary="The lenders a merchant may share with (merchant, operator, auditor)",
)
def list_lenders(principal: LenderReader, sessions: Sessions) -> LenderList:
    """Every lender's id and name, by name."""
    with sessions() as session:
        return LenderList(items=[lender_view(row) for row in consent.lenders(session)])
