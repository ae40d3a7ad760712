"""Request and response shapes of merchants."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from web3 import Web3

from api.merchants.models import MerchantStatus
from api.types import CleanName, CleanShortText, CleanText

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
    kelurahan: Kelurahan = Field(description="Sub-district (kelurahan) of Madiun.", examples=["Taman"])
    evm_address: EvmAddress = Field(
        description="Address MSC is paid to; returned EIP-55 checksummed.",
        examples=["0x5FbDB2315678afecb367f032d93F642f64180aa3"],
    )
    pi_username: PiUsername = Field(description="The merchant's Pi Network username.", examples=["warungsri"])


class MerchantRead(BaseModel):
    """A merchant."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    kelurahan: str
    evm_address: str = Field(description="EIP-55 checksummed.")
    pi_username: str
    created_at: datetime
    status: MerchantStatus = Field(description="`active`, or `suspended`: cannot be paid.")


class MerchantCreated(BaseModel):
    """A new merchant and its first API key."""

    merchant: MerchantRead
    api_key: str | None = Field(
        description="The merchant's API key, shown only in this response (only its SHA-256 is stored). "
        "`null` when the response is an idempotent replay."
    )


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
