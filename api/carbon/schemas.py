"""Request and response shapes of the carbon buyers' API."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator

from api.carbon.service import Source
from api.merchants.schemas import EvmAddress
from api.types import CleanText, Uint40, Uint64, Uint256

PUBLIC_DATA_WARNING = (
    "**Personal data warning**: this is written to a public blockchain, where it stays readable by "
    "anyone forever and can never be corrected or erased. Do not put a private person's name here "
    "without their informed consent; a business name or a pseudonym is safer."
)

HexSignature = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^0x([0-9a-fA-F]{2}){1,1024}$"),
]
Text = CleanText


class ProjectRead(BaseModel):
    """A registered carbon project."""

    project_key: int = Field(description="The contract's project key.")
    registry_id: str = Field(description="The project's id at its registry (SRN-PPI, Verra, Gold Standard).")
    project_type: str = Field(description="e.g. `mangrove`, `solar`.")
    standard: str = Field(description="`verra_vcs`, `gold_standard` or `srn_ppi`.")
    location: str


class VintageRead(BaseModel):
    """A project's vintage: one ERC-1155 token id, 1 token = 1 t CO2e."""

    token_id: int = Field(description="`projectKey << 16 | year`.")
    project: ProjectRead
    year: int
    verified_tonnes: int = Field(
        description="Tonnes the verifier's documents attest; issuance never exceeds it."
    )
    issued: int = Field(description="Tonnes minted so far.")
    retired: int = Field(description="Tonnes retired (burned with a certificate).")
    bridged: int = Field(description="Tonnes returned to the national registry (burned).")
    held_for_bridge: int = Field(description="Tonnes in the contract's custody awaiting the registry.")
    available: int = Field(
        description="Tonnes held by holders: issued - retired - bridged - held_for_bridge."
    )
    documents_sha256: str = Field(description="SHA-256 of the verification documents (0x hex).")
    documents_cid: str = Field(description="IPFS CID of the verification documents.")
    metadata_uri: str = Field(description="`ipfs://<CID>` of the token's metadata.")


class CreditsRead(BaseModel):
    """Every verified vintage."""

    source: Source = Field(description="`mirror` (the indexer's SQL mirror) or `chain` (read from the node).")
    vintages: list[VintageRead]


class VintageAnswer(VintageRead):
    """One vintage and where it was read."""

    source: Source


class _RetirementFields(BaseModel):
    """What every retirement states; it all goes on chain in the certificate."""

    model_config = ConfigDict(extra="forbid")

    token_id: Uint256
    tonnes: Uint64 = Field(gt=0)
    beneficiary: EvmAddress = Field(description="Who the offset is claimed for. " + PUBLIC_DATA_WARNING)
    beneficiary_name: Text = Field(description="Name on the certificate. " + PUBLIC_DATA_WARNING)
    reason: Text = Field(description="Why the credits are retired. " + PUBLIC_DATA_WARNING)
    period_start: Uint40 = Field(gt=0, description="Unix seconds: the period the offset covers.")
    period_end: Uint40 = Field(gt=0, description="Unix seconds, at least `period_start`.")
    acknowledge_public_beneficiary: Literal[True] = Field(
        description="Must be `true`: the caller confirms the beneficiary name, address and reason will be "
        "public on chain forever. " + PUBLIC_DATA_WARNING
    )

    @field_validator("period_end")
    @classmethod
    def _period_ordered(cls, period_end: int, info: ValidationInfo) -> int:
        """The contract refuses a period that ends before it starts (``CarbonInvalidPeriod``); say so on
        the field. (That it has ended is judged against the chain's time when it is sent.)"""
        start = info.data.get("period_start")
        if start is not None and period_end < start:
            raise ValueError(f"period_end must be at least period_start ({start})")
        return period_end


class RetirementCreate(_RetirementFields):
    """A holder's EIP-712 signed ``Retirement`` to relay to ``CarbonCredits.retireWithSig``.

    The holder signs the typed data `Retirement(address holder,uint256 tokenId,uint64 tonnes,address
    beneficiary,string beneficiaryName,string reason,uint40 periodStart,uint40 periodEnd,uint256 nonce,
    uint256 deadline)` in the domain of `GET /v1/carbon/retirements/nonce/{holder}`.
    """

    holder: EvmAddress = Field(description="Whose credits are retired (the signer).")
    deadline: Uint256 = Field(description="Unix seconds after which the signature is void.")
    signature: HexSignature = Field(
        description="0x hex of the holder's signature (65 bytes r||s||v, or an ERC-1271 wallet's)."
    )


class CustodialRetirementCreate(_RetirementFields):
    """A retirement of credits the platform holds in custody (its relayer account) for its customers."""


class RetirementRead(BaseModel):
    """A relayed retirement, mined."""

    certificate_id: int
    tx_hash: str
    block_number: int
    holder: str
    token_id: int
    tonnes: int


class NonceRead(BaseModel):
    """What a holder needs to sign a retirement."""

    holder: str
    nonce: int = Field(description="The holder's next `retireWithSig` nonce.")
    domain: dict[str, str | int] = Field(description="The EIP-712 domain of CarbonCredits.")


class CertificateRead(BaseModel):
    """A retirement certificate: permanent, public, non-transferable."""

    source: Source
    certificate_id: int
    token_id: int
    tonnes: int
    retired_at: int | None = Field(
        description="Unix seconds: the contract's `retiredAt` (the retiring block's timestamp; the mirror "
        "reads it from that block's header)."
    )
    period_start: int
    period_end: int
    retired_by: str
    beneficiary: str
    beneficiary_name: str = Field(description="As written on chain. " + PUBLIC_DATA_WARNING)
    reason: str
    block_number: int | None = Field(description="Block of the retirement (null when read from the chain).")
    tx_hash: str | None
    metadata_uri: str = Field(description="`ipfs://<CID>` of the retired vintage's metadata.")
