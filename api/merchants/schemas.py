"""Request and response shapes of merchants."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator
from web3 import Web3

from api.merchants.models import MerchantStatus
from api.types import CleanName, CleanShortText, CleanText, Email

_HEX_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def _checksummed(value: str) -> str:
    """An EVM address in EIP-55 form; a mixed-case address must already carry a valid checksum.

    ``Web3.is_address`` accepts mixed case with a wrong checksum, which hides typos, so the
    checksum is checked here.
    """
    digits = value[2:]
    if not _HEX_ADDRESS.fullmatch(value):
        raise ValueError("not an EVM address: 0x followed by 40 hex digits")
    if digits not in (digits.lower(), digits.upper()) and not Web3.is_checksum_address(value):
        raise ValueError("the address's EIP-55 checksum (its mixed case) is wrong; check for a typo")
    return Web3.to_checksum_address(value)


EvmAddress = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=42, max_length=42),
    AfterValidator(_checksummed),
]
Name = CleanName
Kelurahan = CleanShortText
PiUsername = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
]


class MerchantCreate(BaseModel):
    """A merchant to onboard."""

    model_config = ConfigDict(extra="forbid")

    name: Name = Field(description="Trading name.", examples=["Warung Bu Sri"])
    kelurahan: Kelurahan = Field(
        description="One of Kota Madiun's 27 kelurahan: its name (any case or spacing) or its Kemendagri "
        "code. Stored as the official name with its code; any other is refused (422 `unknown_kelurahan`).",
        examples=["Taman", "35.77.03.1009"],
    )
    evm_address: EvmAddress | None = Field(
        default=None,
        description="Address MSC is paid to (the merchant's own wallet); returned EIP-55 checksummed. "
        "Leave it out with `custody: true` for a platform-managed wallet.",
        examples=["0x5FbDB2315678afecb367f032d93F642f64180aa3"],
    )
    custody: bool = Field(
        default=False,
        description="`true`: the platform creates and keeps the merchant's wallet (its key stays "
        "encrypted on the platform; the owner confirms redemptions with a second factor) and its "
        "address becomes `evm_address`. Exactly one of `evm_address` and `custody: true`.",
    )
    pi_username: PiUsername = Field(description="The merchant's Pi Network username.", examples=["warungsri"])

    @model_validator(mode="after")
    def _one_wallet(self) -> MerchantCreate:
        """The merchant has its own address or a custodial wallet, never both or neither."""
        if (self.evm_address is None) == (not self.custody):
            raise ValueError("give either evm_address (the merchant's own wallet) or custody: true, not both")
        return self


class MerchantRead(BaseModel):
    """A merchant."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    kelurahan: str = Field(description="The kelurahan's official name.")
    kelurahan_code: str | None = Field(
        description="Its Kemendagri code (`35.77.03.1009`); null only for a merchant onboarded before "
        "kelurahan were checked whose name matches none of the city's."
    )
    evm_address: str = Field(description="EIP-55 checksummed.")
    pi_username: str
    created_at: datetime
    status: MerchantStatus = Field(description="`active`, or `suspended`: cannot be paid.")
    simulated: bool = Field(description="`true`: made by the pilot simulator, not a real business.")


class MerchantCreated(BaseModel):
    """A new merchant and its first API key."""

    merchant: MerchantRead
    api_key: str | None = Field(
        description="The merchant's API key, shown only in this response (only its SHA-256 is stored). "
        "`null` when the response is an idempotent replay."
    )


class OwnerInvitationCreate(BaseModel):
    """Whom the operator invites to own a merchant."""

    model_config = ConfigDict(extra="forbid")

    email: Email = Field(
        description="The owner's e-mail address (the invitation is for it).", examples=["sri@example.id"]
    )


class OwnerInvitationCreated(BaseModel):
    """An owner invitation; `link` is shown only in this response (only its hash is stored)."""

    invitation_id: uuid.UUID
    expires_at: datetime
    link: str = Field(description="Send it to the owner: `<base>/portal/invite/<token>`, usable once.")


class MerchantStatusMove(BaseModel):
    """Why an operator suspends or reinstates a merchant."""

    model_config = ConfigDict(extra="forbid")

    reason: CleanText = Field(
        description="Why, for the history (shown to operators and auditors).",
        examples=["KYC documents expired; suspended until renewed"],
    )


class MerchantStatusChangeRead(BaseModel):
    """One move of a merchant's status."""

    model_config = ConfigDict(from_attributes=True)

    from_status: MerchantStatus
    to_status: MerchantStatus
    reason: str
    at: datetime


class MerchantWithHistory(MerchantRead):
    """A merchant and every move of its status, oldest first."""

    history: list[MerchantStatusChangeRead]
