"""``/v1/merchants``: onboarding (operators) and profiles."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3

from accounts.seeds import SeedBox
from accounts.service import AccountService
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
    OwnerInvitationCreate,
    OwnerInvitationCreated,
)
from api.models import Role
from api.wallets.service import ContractsNotDeployedError
from custody.keystore import EnvelopeKeyManager, KeyManager
from custody.settings import CustodySettings

router = APIRouter(prefix="/v1/merchants", tags=["merchants"])

Sessions = Annotated[sessionmaker[Session], Depends(get_sessions)]
INVITE_PATH = "/portal/invite/"


def get_custody_keys(request: Request) -> KeyManager | None:
    """The custodial key store: ``app.state.custody_keys``, else built once from ``MSC_CUSTODY_*``;
    None when no master key is configured (development): custodial onboarding is then refused
    rather than protected by the published development key."""
    keys: KeyManager | None = getattr(request.app.state, "custody_keys", None)
    if keys is None:
        settings = CustodySettings.from_env()
        if not settings.master_key.get_secret_value():
            return None
        keys = EnvelopeKeyManager(settings.key_ring())
        request.app.state.custody_keys = keys
    return keys


def get_accounts(request: Request) -> AccountService:
    """Merchant accounts: the portal's service when the portal is installed, else one built from
    ``MSC_ACCOUNTS_*`` and the custody master key (which seals TOTP seeds)."""
    portal = getattr(request.app.state, "portal", None)
    accounts: AccountService | None = getattr(portal, "accounts", None) or getattr(
        request.app.state, "accounts", None
    )
    if accounts is None:
        accounts = AccountService(
            request.app.state.sessions, seeds=SeedBox(CustodySettings.from_env().key_ring())
        )
        request.app.state.accounts = accounts
    return accounts


def platform_addresses(request: Request) -> frozenset[str]:
    """The deployed contracts' addresses (none before the contracts are deployed)."""
    try:
        contracts = request.app.state.contracts.current()
    except ContractsNotDeployedError:
        return frozenset()
    return frozenset(Web3.to_checksum_address(c.address) for c in contracts.contracts)


def invitation_base(request: Request) -> str:
    """The origin of invitation links: the portal's public base URL, else this request's origin."""
    portal = getattr(request.app.state, "portal", None)
    base = str(getattr(getattr(portal, "settings", None), "public_base_url", "") or request.base_url)
    return base.rstrip("/")


@router.post(
    "",
    status_code=201,
    response_model=MerchantCreated,
    responses=error_responses(400, 401, 403, 409, 413, 422),
    summary="Onboard a merchant (operator)",
)
def create_merchant(
    data: MerchantCreate,
    request: Request,
    principal: Annotated[Principal, Depends(require_role(Role.OPERATOR))],
    idem: Annotated[Idempotency, Depends(idempotency)],
    sessions: Sessions,
) -> Response:
    """Creates the merchant and returns it with its API key, shown this once.

    With `custody: true` (and no `evm_address`) the platform creates the merchant's wallet in the
    same transaction; its address is the merchant's `evm_address` and its key never leaves the
    platform. An address that is the zero address or a platform contract is refused (422).

    Idempotent with `Idempotency-Key`; a replay returns the same merchant with `api_key: null`,
    because keys are never stored in a retrievable form.
    """
    keys = get_custody_keys(request) if data.custody else None
    contracts = platform_addresses(request)

    def effect(session: Session) -> MerchantCreated:
        merchant, key = service.create(session, data, keys=keys, platform_addresses=contracts)
        return MerchantCreated(merchant=MerchantRead.model_validate(merchant), api_key=key.secret)

    return idem.run(sessions, effect, status_code=201, redact=_without_key)


def _without_key(body: Any) -> Any:
    return {**body, "api_key": None}


@router.post(
    "/{merchant_id}/owner-invitations",
    status_code=201,
    response_model=OwnerInvitationCreated,
    responses=error_responses(401, 403, 404, 413, 422),
    summary="Invite a merchant's owner to the portal (operator)",
)
def invite_owner(
    merchant_id: uuid.UUID,
    data: OwnerInvitationCreate,
    request: Request,
    principal: Annotated[Principal, Depends(require_role(Role.OPERATOR))],
    sessions: Sessions,
) -> OwnerInvitationCreated:
    """Creates an invitation for the merchant's owner and returns its link, shown this once (only
    the token's hash is stored). The owner opens it, sets a password and a second factor."""
    with sessions() as session:
        service.get(session, merchant_id)
    issued = get_accounts(request).invite_owner(merchant_id, data.email, operator=str(principal.api_key_id))
    return OwnerInvitationCreated(
        invitation_id=issued.invitation_id,
        expires_at=issued.expires_at,
        link=invitation_base(request) + INVITE_PATH + issued.token,
    )


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
