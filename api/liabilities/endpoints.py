"""Proof of liabilities over HTTP.

``GET /v1/liabilities/{period}`` is public (the root, total, block and transaction anyone can
compare with the chain). ``GET /v1/merchants/me/liabilities/{period}/proof`` needs the merchant's
key and answers only its own leaf; a period before the merchant was owed anything answers 404.
The salt secret (``MSC_LIABILITIES_SALT_SECRET``) stays on the server: only derived salts leave.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from api.auth import Principal, require_role
from api.db import get_sessions
from api.errors import error_responses
from api.liabilities.schemas import LiabilityPeriodRead, LiabilityProofRead
from api.models import Role
from audit.liabilities.models import SnapshotStatus
from audit.liabilities.service import get_snapshot, merchant_proof
from audit.liabilities.settings import LiabilitySettings

router = APIRouter(tags=["liabilities"])

Sessions = Annotated[sessionmaker[Session], Depends(get_sessions)]
MerchantKey = Annotated[Principal, Depends(require_role(Role.MERCHANT))]


def get_salt_secret(request: Request) -> bytes:
    """The salt secret: ``app.state.liabilities_secret`` if set, else from the environment."""
    secret: bytes | None = getattr(request.app.state, "liabilities_secret", None)
    return secret if secret is not None else LiabilitySettings.from_env().secret()


@router.get(
    "/v1/liabilities/{period}",
    response_model=LiabilityPeriodRead,
    responses=error_responses(404, 422),
    summary="A period's proof-of-liabilities root (public)",
)
def get_period(period: str, sessions: Sessions) -> LiabilityPeriodRead:
    """The root, total, as-of block and publish transaction of ``period`` (YYYY-MM)."""
    with sessions() as session:
        snapshot = get_snapshot(session, period)
        published = snapshot.status == str(SnapshotStatus.CONFIRMED)
        return LiabilityPeriodRead(
            period=snapshot.period,
            root=snapshot.root,
            total=str(snapshot.total),
            block_number=snapshot.block_number,
            tx_hash=snapshot.tx_hash if published else None,
            published=published,
            leaves=snapshot.leaf_count,
        )


@router.get(
    "/v1/merchants/me/liabilities/{period}/proof",
    response_model=LiabilityProofRead,
    responses=error_responses(401, 403, 404, 409, 422),
    summary="The calling merchant's proof of liabilities (merchant)",
)
def get_my_proof(
    period: str, principal: MerchantKey, sessions: Sessions, request: Request
) -> LiabilityProofRead:
    """The merchant's salt, amounts, leaf and siblings in ``period``'s tree.

    The period is checked and its snapshot found before the salt secret is read: a malformed
    period is a 422 and a period never taken a 404 on any server, configured or not.
    """
    merchant_id = str(principal.merchant_id)
    with sessions() as session:
        get_snapshot(session, period)
        proof = merchant_proof(session, period, merchant_id, get_salt_secret(request))
    return LiabilityProofRead.model_validate(proof.to_json())
