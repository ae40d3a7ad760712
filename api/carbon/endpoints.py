"""``/v1/carbon``: credits on offer, certificates, and relayed signed retirements.

Reads are public (the same facts are on chain). Relaying a retirement needs a merchant or operator
key, because the platform pays its gas; the holder's signature is what authorises it. Retiring
from the platform's custody account is for operators only.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response
from sqlalchemy.orm import Session, sessionmaker

from api.auth import Principal, require_role
from api.carbon import relays
from api.carbon.models import CarbonRelayKind
from api.carbon.schemas import (
    PUBLIC_DATA_WARNING,
    CertificateRead,
    CreditsRead,
    CustodialRetirementCreate,
    NonceRead,
    RetirementCreate,
    RetirementRead,
    VintageAnswer,
    VintageRead,
)
from api.carbon.service import CarbonGateway, SignedRetirement, get_carbon
from api.db import get_sessions
from api.errors import error_responses
from api.idempotency import Idempotency, idempotency
from api.merchants.schemas import EvmAddress
from api.models import Role
from api.types import UINT256_MAX

router = APIRouter(prefix="/v1/carbon", tags=["carbon"])

Sessions = Annotated[sessionmaker[Session], Depends(get_sessions)]
Carbon = Annotated[CarbonGateway, Depends(get_carbon)]
TokenId = Annotated[int, Path(ge=0, le=UINT256_MAX, description="`projectKey << 16 | year`.")]
CertificateId = Annotated[int, Path(ge=1, le=UINT256_MAX)]


@router.get(
    "/credits",
    response_model=CreditsRead,
    responses=error_responses(502, 503),
    summary="Carbon credits: projects and vintages with issued, retired and available tonnes",
)
def list_credits(carbon: Carbon, sessions: Sessions) -> CreditsRead:
    """Every verified vintage with its project, counters and metadata URI.

    From the indexer's mirror when it has the contract's vintages, else from the chain (`source`).
    """
    with sessions() as session:
        source, rows = carbon.vintages(session.connection())
    return CreditsRead(source=source, vintages=[VintageRead.model_validate(r) for r in rows])


@router.get(
    "/credits/{token_id}",
    response_model=VintageAnswer,
    responses=error_responses(404, 422, 502, 503),
    summary="One vintage",
)
def get_vintage(token_id: TokenId, carbon: Carbon, sessions: Sessions) -> VintageAnswer:
    """The vintage from the mirror, or from the chain when the mirror has no row for it yet."""
    with sessions() as session:
        source, row = carbon.vintage(session.connection(), token_id)
    return VintageAnswer.model_validate({**row, "source": source})


@router.get(
    "/certificates/{certificate_id}",
    response_model=CertificateRead,
    responses=error_responses(404, 422, 502, 503),
    summary="A retirement certificate",
)
def get_certificate(certificate_id: CertificateId, carbon: Carbon, sessions: Sessions) -> CertificateRead:
    """The certificate (mirror first, then chain) with the retired vintage's `ipfs://` metadata URI."""
    with sessions() as session:
        source, row = carbon.certificate(session.connection(), certificate_id)
    return CertificateRead.model_validate({**row, "source": source})


@router.get(
    "/retirements/nonce/{holder}",
    response_model=NonceRead,
    responses=error_responses(422, 502, 503),
    summary="What a holder signs a retirement with: nonce and EIP-712 domain",
)
def get_nonce(holder: Annotated[EvmAddress, Path()], carbon: Carbon) -> NonceRead:
    """The holder's next `retireWithSig` nonce and the contract's EIP-712 domain."""
    return NonceRead(holder=holder, nonce=carbon.nonce(holder), domain=carbon.domain())


@router.post(
    "/retirements",
    status_code=201,
    response_model=RetirementRead,
    responses=error_responses(400, 401, 403, 409, 413, 422, 502, 503),
    summary="Relay a holder's signed retirement (merchant, operator)",
    description=(
        "Relays an EIP-712 signed `Retirement` to `CarbonCredits.retireWithSig`; the platform pays the gas "
        "and the certificate is issued to the beneficiary.\n\n" + PUBLIC_DATA_WARNING + "\n\n"
        "`acknowledge_public_beneficiary: true` is required. The transaction is dry-run first: a "
        "malformed, expired or foreign signature, or more tonnes than the holder has, answers 422 "
        "`contract_reverted` with `details.error_name` the contract's custom error "
        "(`CarbonInvalidSignature`, `CarbonSignatureExpired`, `ERC1155InsufficientBalance`, ...) "
        "and nothing is sent. A `period_end` after the chain's latest block time answers 422 "
        "`validation_error` on `period_end` (the contract's `CarbonInvalidPeriod`) and nothing is sent.\n\n"
        "Idempotent with `Idempotency-Key`: the signed transaction is recorded before it is broadcast, so "
        "a retry of the key after any failure answers the same certificate (it never retires twice); "
        "without a key, a replay is refused by the contract (the signature's nonce is used)."
    ),
)
def relay_retirement(
    data: RetirementCreate,
    principal: Annotated[Principal, Depends(require_role(Role.MERCHANT, Role.OPERATOR))],
    idem: Annotated[Idempotency, Depends(idempotency)],
    carbon: Carbon,
    sessions: Sessions,
) -> Response:
    """Relays the retirement and returns its certificate id and transaction."""
    signed = SignedRetirement(
        holder=data.holder,
        token_id=data.token_id,
        tonnes=data.tonnes,
        beneficiary=data.beneficiary,
        beneficiary_name=data.beneficiary_name,
        reason=data.reason,
        period_start=data.period_start,
        period_end=data.period_end,
        deadline=data.deadline,
        signature=bytes.fromhex(data.signature[2:]),
    )

    return _retire(carbon, sessions, idem, CarbonRelayKind.SIGNED, signed)


@router.post(
    "/retirements/custodial",
    status_code=201,
    response_model=RetirementRead,
    responses=error_responses(400, 401, 403, 409, 413, 422, 502, 503),
    summary="Retire credits the platform holds in custody (operator)",
    description=(
        "Retires credits from the platform's custody account (the relayer's address, `holder` in the "
        "answer) with `CarbonCredits.retire`, for a customer who bought credits held by the platform.\n\n"
        + PUBLIC_DATA_WARNING
        + "\n\n`acknowledge_public_beneficiary: true` is required. Dry-run first: more tonnes than the "
        "custody account holds answers 422 `contract_reverted` (`ERC1155InsufficientBalance`) and "
        "nothing is sent; so is a `period_end` after the chain's latest block time (422 on `period_end`). "
        "Send an `Idempotency-Key`: the transaction is recorded under it before it is broadcast, so a "
        "retry of the key after any failure answers the same certificate and never retires twice; "
        "unlike a signed retirement, a repeat without a key retires again."
    ),
)
def retire_from_custody(
    data: CustodialRetirementCreate,
    principal: Annotated[Principal, Depends(require_role(Role.OPERATOR))],
    idem: Annotated[Idempotency, Depends(idempotency)],
    carbon: Carbon,
    sessions: Sessions,
) -> Response:
    """Retires custodial credits and returns the certificate id and transaction."""
    retirement = SignedRetirement(
        holder=carbon.custody_address,
        token_id=data.token_id,
        tonnes=data.tonnes,
        beneficiary=data.beneficiary,
        beneficiary_name=data.beneficiary_name,
        reason=data.reason,
        period_start=data.period_start,
        period_end=data.period_end,
        deadline=0,
        signature=b"",
    )
    return _retire(carbon, sessions, idem, CarbonRelayKind.CUSTODIAL, retirement)


def _retire(
    carbon: CarbonGateway,
    sessions: sessionmaker[Session],
    idem: Idempotency,
    kind: CarbonRelayKind,
    retirement: SignedRetirement,
) -> Response:
    """Sends the retirement written ahead (:mod:`api.carbon.relays`), then records the answer.

    The chain work happens before (not inside) the idempotency transaction: its own committed row
    is what makes a retry of the key find the same retirement, whatever fails after the broadcast.
    """
    replay = relays.stored_answer(sessions, idem)
    if replay is not None:
        return replay
    relayed = relays.retire(carbon, sessions, idem, kind, retirement)

    def effect(session: Session) -> RetirementRead:
        return RetirementRead(
            certificate_id=relayed.certificate_id,
            tx_hash=relayed.tx_hash,
            block_number=relayed.block_number,
            holder=retirement.holder,
            token_id=retirement.token_id,
            tonnes=retirement.tonnes,
        )

    return idem.run(sessions, effect, status_code=201)
