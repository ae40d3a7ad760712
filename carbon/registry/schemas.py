"""The JSON bodies of the registry API (API.md), shared by the FastAPI server and the httpx client.

Token ids travel as decimal strings (a uint256 does not fit a JSON number that every client parses
exactly); tonnes, vintages and serials are JSON integers (strict: ``"5"`` or ``5.0`` are refused);
times are ISO-8601 UTC with a ``Z``. Requests forbid unknown fields so a typo is an error, not a
silently ignored option; responses ignore unknown fields so the registry can add some.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, overload

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt

from carbon.registry.interface import (
    BridgeBackRequest,
    BridgeBackStatus,
    RetirementRecord,
    SerialRange,
    TokenisationReceipt,
    TokenisationStatus,
)

TokenIdText = Annotated[str, Field(pattern=r"^(0|[1-9][0-9]{0,77})$", description="uint256 as decimal")]
TxHash = Annotated[str, Field(pattern=r"^0x[0-9a-f]{64}$")]
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$")]
Tonnes = Annotated[StrictInt, Field(gt=0)]


@overload
def _utc(value: datetime) -> datetime: ...
@overload
def _utc(value: None) -> None: ...
def _utc(value: datetime | None) -> datetime | None:
    """``value`` with the standard ``UTC`` tzinfo (pydantic parses ``Z`` into its own tz object)."""
    return None if value is None else value.astimezone(UTC)


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Response(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class SerialRangeBody(BaseModel):
    """``{"first": 1, "last": 100}``: inclusive serials of one project + vintage."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    first: Annotated[StrictInt, Field(ge=1)]
    last: Annotated[StrictInt, Field(ge=1)]

    def to_domain(self) -> SerialRange:
        """The range as the interface's type (validates ``first <= last``)."""
        return SerialRange(self.first, self.last)

    @classmethod
    def of(cls, serial_range: SerialRange) -> SerialRangeBody:
        """The wire form of a range."""
        return cls(first=serial_range.first, last=serial_range.last)


class TokenisationRequestBody(_Request):
    """Body of ``POST /v1/tokenisations``."""

    project_id: Identifier
    vintage: StrictInt
    tonnes: Tonnes
    serial_range: SerialRangeBody | None = None


class MintConfirmationBody(_Request):
    """Body of ``POST /v1/tokenisations/{reference}/mint-confirmation``."""

    token_id: TokenIdText
    tx_hash: TxHash


class RetirementRequestBody(_Request):
    """Body of ``POST /v1/retirements``."""

    token_id: TokenIdText
    tonnes: Tonnes
    beneficiary_name: Annotated[str, Field(min_length=1, max_length=200)]
    reason: Annotated[str, Field(min_length=1, max_length=500)]
    certificate_id: Identifier
    tx_hash: TxHash


class BridgeBackRequestBody(_Request):
    """Body of ``POST /v1/bridge-backs``."""

    request_id: Identifier
    token_id: TokenIdText
    tonnes: Tonnes
    registry_account: Identifier


class TokenisationBody(_Response):
    """A tokenisation as the registry answers it."""

    reference: str
    project_id: str
    vintage: int
    tonnes: int
    serials: list[SerialRangeBody]
    status: TokenisationStatus
    locked_at: AwareDatetime
    token_id: TokenIdText | None = None
    tx_hash: str | None = None
    minted_at: AwareDatetime | None = None

    @classmethod
    def of(cls, receipt: TokenisationReceipt) -> TokenisationBody:
        """Wire form of a receipt."""
        return cls(
            reference=receipt.reference,
            project_id=receipt.project_id,
            vintage=receipt.vintage,
            tonnes=receipt.tonnes,
            serials=[SerialRangeBody.of(part) for part in receipt.serials],
            status=receipt.status,
            locked_at=receipt.locked_at,
            token_id=None if receipt.token_id is None else str(receipt.token_id),
            tx_hash=receipt.tx_hash,
            minted_at=receipt.minted_at,
        )

    def to_domain(self) -> TokenisationReceipt:
        """The receipt as the interface's type."""
        return TokenisationReceipt(
            reference=self.reference,
            project_id=self.project_id,
            vintage=self.vintage,
            tonnes=self.tonnes,
            serials=tuple(part.to_domain() for part in self.serials),
            status=self.status,
            locked_at=_utc(self.locked_at),
            token_id=None if self.token_id is None else int(self.token_id),
            tx_hash=self.tx_hash,
            minted_at=_utc(self.minted_at),
        )


class RetirementBody(_Response):
    """A retirement as the registry answers it."""

    retirement_id: str
    token_id: TokenIdText
    project_id: str
    vintage: int
    tonnes: int
    beneficiary_name: str
    reason: str
    certificate_id: str
    tx_hash: str
    serials: list[SerialRangeBody]
    recorded_at: AwareDatetime

    @classmethod
    def of(cls, record: RetirementRecord) -> RetirementBody:
        """Wire form of a retirement."""
        return cls(
            retirement_id=record.retirement_id,
            token_id=str(record.token_id),
            project_id=record.project_id,
            vintage=record.vintage,
            tonnes=record.tonnes,
            beneficiary_name=record.beneficiary_name,
            reason=record.reason,
            certificate_id=record.certificate_id,
            tx_hash=record.tx_hash,
            serials=[SerialRangeBody.of(part) for part in record.serials],
            recorded_at=record.recorded_at,
        )

    def to_domain(self) -> RetirementRecord:
        """The retirement as the interface's type."""
        return RetirementRecord(
            retirement_id=self.retirement_id,
            token_id=int(self.token_id),
            project_id=self.project_id,
            vintage=self.vintage,
            tonnes=self.tonnes,
            beneficiary_name=self.beneficiary_name,
            reason=self.reason,
            certificate_id=self.certificate_id,
            tx_hash=self.tx_hash,
            serials=tuple(part.to_domain() for part in self.serials),
            recorded_at=_utc(self.recorded_at),
        )


class BridgeBackBody(_Response):
    """A bridge-back request as the registry answers it."""

    request_id: str
    token_id: TokenIdText
    tonnes: int
    registry_account: str
    status: BridgeBackStatus
    serials: list[SerialRangeBody]
    requested_at: AwareDatetime
    decided_at: AwareDatetime | None = None
    refusal_reason: str | None = None

    @classmethod
    def of(cls, request: BridgeBackRequest) -> BridgeBackBody:
        """Wire form of a bridge-back request."""
        return cls(
            request_id=request.request_id,
            token_id=str(request.token_id),
            tonnes=request.tonnes,
            registry_account=request.registry_account,
            status=request.status,
            serials=[SerialRangeBody.of(part) for part in request.serials],
            requested_at=request.requested_at,
            decided_at=request.decided_at,
            refusal_reason=request.refusal_reason,
        )

    def to_domain(self) -> BridgeBackRequest:
        """The request as the interface's type."""
        return BridgeBackRequest(
            request_id=self.request_id,
            token_id=int(self.token_id),
            tonnes=self.tonnes,
            registry_account=self.registry_account,
            status=self.status,
            serials=tuple(part.to_domain() for part in self.serials),
            requested_at=_utc(self.requested_at),
            decided_at=_utc(self.decided_at),
            refusal_reason=self.refusal_reason,
        )


class ErrorBody(_Response):
    """Every error answer: ``{"error": code, "message": text, "details": {...}}``."""

    error: str
    message: str
    details: dict[str, object] | None = None


# --- operator endpoints of the local registry (not part of the adapter) -------------------------------


class ProjectBody(_Request):
    """Body of ``POST /v1/admin/projects``."""

    project_id: Identifier
    name: Annotated[str, Field(min_length=1, max_length=500)]


class IssuanceBody(_Request):
    """Body of ``POST /v1/admin/projects/{project_id}/issuances``."""

    vintage: StrictInt
    tonnes: Tonnes


class AccountBody(_Request):
    """Body of ``POST /v1/admin/accounts``."""

    account_id: Identifier
    holder: Annotated[str, Field(min_length=1, max_length=500)]


class DecisionBody(_Request):
    """Body of ``POST /v1/admin/bridge-backs/{request_id}/decision``."""

    decision: BridgeBackStatus
    reason: Annotated[str, Field(min_length=1, max_length=500)] | None = None


class FaultBody(_Request):
    """Body of ``POST /v1/admin/faults``: arm the next ``count`` adapter requests to fail."""

    kind: Annotated[str, Field(pattern=r"^(status|timeout)$")]
    count: Annotated[StrictInt, Field(ge=1)]
    status: Annotated[StrictInt, Field(ge=400, le=599)] = 503
    retry_after: Annotated[StrictInt, Field(ge=0)] | None = None
    delay_seconds: Annotated[float, Field(ge=0, le=30)] = 1.0
    apply_first: bool = False
