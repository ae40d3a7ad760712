"""What the platform needs from the national registry (SRN-PPI) / exchange (IDXCarbon), as one Protocol.

A token on the ERC-1155 contract stands for one tonne CO2e held in the registry, so every on-chain
supply change is mirrored by a registry operation:

1. ``request_tokenisation``: before minting, the registry LOCKS the serials of verified units for a
   project + vintage and answers a reference; units locked can neither be sold on the registry nor
   tokenised twice.
2. ``confirm_mint``: after the mint transaction, the registry binds the reference to the token id
   and tx hash; the locked units are now live tokens.
3. ``report_retirement``: a holder burned tokens for an offset certificate; the registry retires the
   same number of the token's serials in the beneficiary's name.
4. ``request_bridge_back`` / ``bridge_back_status``: tokens burned to move units back to a registry
   account; the registry reviews the request and confirms it (units land in the account) or refuses
   it with a reason.

Every state change carries an idempotency key: the same key with the same request gives the same
result (and changes nothing the second time), whatever retries, crashes or duplicate deliveries
happen. Tonnes are always integers (1 token = 1 tonne); token ids are uint256 integers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from carbon.registry.errors import InvalidRegistryRequestError

MAX_TOKEN_ID = 2**256 - 1
MAX_TONNES = 10**12
"""Sanity bound on one operation (a trillion tonnes is far above any project)."""
MIN_VINTAGE = 1990
MAX_VINTAGE = 2100
_TX_HASH = re.compile(r"0x[0-9a-f]{64}")
_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}")


@dataclass(frozen=True, order=True)
class SerialRange:
    """Inclusive block of unit serial numbers within one project + vintage (``first..last``).

    The registry numbers the verified units of each project + vintage from 1 as it issues them; a
    range stands for ``last - first + 1`` tonnes.
    """

    first: int
    last: int

    def __post_init__(self) -> None:
        if isinstance(self.first, bool) or isinstance(self.last, bool):
            raise InvalidRegistryRequestError("serials must be integers")
        if self.first < 1 or self.last < self.first:
            raise InvalidRegistryRequestError(
                f"serial range {self.first}..{self.last} is empty or starts below 1",
                first=self.first,
                last=self.last,
            )

    @property
    def size(self) -> int:
        """Number of units (tonnes) in the range."""
        return self.last - self.first + 1

    def __str__(self) -> str:
        return f"{self.first}..{self.last}"


class TokenisationStatus(StrEnum):
    """Where a tokenisation stands on the registry."""

    LOCKED = "locked"
    """Units are locked on the registry; the mint has not been confirmed yet."""
    MINTED = "minted"
    """The mint was confirmed: the units are live as tokens of ``token_id``."""


@dataclass(frozen=True)
class TokenisationReceipt:
    """The registry's record of one tokenisation (answer of request_tokenisation and confirm_mint)."""

    reference: str
    project_id: str
    vintage: int
    tonnes: int
    serials: tuple[SerialRange, ...]
    status: TokenisationStatus
    locked_at: datetime
    token_id: int | None = None
    tx_hash: str | None = None
    minted_at: datetime | None = None


@dataclass(frozen=True)
class RetirementRecord:
    """A retirement the registry recorded, with the serials it retired."""

    retirement_id: str
    token_id: int
    project_id: str
    vintage: int
    tonnes: int
    beneficiary_name: str
    reason: str
    certificate_id: str
    tx_hash: str
    serials: tuple[SerialRange, ...]
    recorded_at: datetime


class BridgeBackStatus(StrEnum):
    """Decision state of a bridge-back request."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    REFUSED = "refused"


@dataclass(frozen=True)
class BridgeBackRequest:
    """A request to move burned tokens' units back into a registry account, and its decision."""

    request_id: str
    token_id: int
    tonnes: int
    registry_account: str
    status: BridgeBackStatus
    serials: tuple[SerialRange, ...]
    requested_at: datetime
    decided_at: datetime | None = None
    refusal_reason: str | None = None


@runtime_checkable
class RegistryAdapter(Protocol):
    """The registry operations the platform performs; implemented over HTTP and locally."""

    def request_tokenisation(
        self,
        project_id: str,
        vintage: int,
        tonnes: int,
        serial_range: SerialRange | None,
        idempotency_key: str,
    ) -> TokenisationReceipt:
        """Locks ``tonnes`` verified units (the given serials, or the lowest free ones) before a mint.

        Raises:
            UnknownProjectError, InsufficientVerifiedUnitsError, DuplicateSerialsError,
            IdempotencyKeyReusedError, InvalidRegistryRequestError, RegistryUnavailableError.
        """
        ...

    def confirm_mint(
        self, reference: str, token_id: int, tx_hash: str, idempotency_key: str | None = None
    ) -> TokenisationReceipt:
        """Binds a locked tokenisation to the token id and mint tx; repeating it is a no-op.

        ``idempotency_key`` defaults to one derived from the three arguments.

        Raises:
            UnknownTokenisationError, RegistryStateConflictError (already minted differently, or the
            token id belongs to another project + vintage), RegistryUnavailableError.
        """
        ...

    def report_retirement(
        self,
        token_id: int,
        tonnes: int,
        beneficiary_name: str,
        reason: str,
        certificate_id: str,
        tx_hash: str,
        idempotency_key: str,
    ) -> RetirementRecord:
        """Retires ``tonnes`` of the token's live units for the beneficiary (after the on-chain burn).

        Raises:
            UnknownTokenError, InsufficientTokenisedUnitsError, RegistryStateConflictError (the
            certificate was already reported with other facts), RegistryUnavailableError.
        """
        ...

    def request_bridge_back(
        self,
        token_id: int,
        tonnes: int,
        registry_account: str,
        request_id: str,
        idempotency_key: str,
    ) -> BridgeBackRequest:
        """Asks the registry to move ``tonnes`` burned units into ``registry_account``; answers pending.

        Raises:
            UnknownTokenError, UnknownRegistryAccountError, InsufficientTokenisedUnitsError,
            RegistryStateConflictError, RegistryUnavailableError.
        """
        ...

    def bridge_back_status(self, request_id: str) -> BridgeBackRequest:
        """The request as it stands: pending, confirmed, or refused with a reason.

        Raises:
            UnknownBridgeBackError, RegistryUnavailableError.
        """
        ...


def check_tonnes(tonnes: int) -> int:
    """``tonnes`` if it is a positive integer within bounds.

    Raises:
        InvalidRegistryRequestError: not an int, not positive, or absurdly large.
    """
    if isinstance(tonnes, bool) or not isinstance(tonnes, int) or not 0 < tonnes <= MAX_TONNES:
        raise InvalidRegistryRequestError(f"tonnes must be a positive integer, got {tonnes!r}", tonnes=tonnes)
    return tonnes


def check_vintage(vintage: int) -> int:
    """``vintage`` if it is a plausible year.

    Raises:
        InvalidRegistryRequestError: not an int between 1990 and 2100.
    """
    if isinstance(vintage, bool) or not isinstance(vintage, int) or not MIN_VINTAGE <= vintage <= MAX_VINTAGE:
        raise InvalidRegistryRequestError(
            f"vintage must be a year {MIN_VINTAGE}..{MAX_VINTAGE}, got {vintage!r}", vintage=vintage
        )
    return vintage


def check_token_id(token_id: int) -> int:
    """``token_id`` if it is a uint256.

    Raises:
        InvalidRegistryRequestError: not an int in 0..2**256-1.
    """
    if isinstance(token_id, bool) or not isinstance(token_id, int) or not 0 <= token_id <= MAX_TOKEN_ID:
        raise InvalidRegistryRequestError(
            f"token id must be a uint256, got {token_id!r}", token_id=str(token_id)
        )
    return token_id


def check_tx_hash(tx_hash: str) -> str:
    """``tx_hash`` if it is a lowercase 0x-prefixed 32-byte hex string.

    Raises:
        InvalidRegistryRequestError: anything else.
    """
    if not isinstance(tx_hash, str) or not _TX_HASH.fullmatch(tx_hash):
        raise InvalidRegistryRequestError(f"tx hash must be 0x + 64 lowercase hex digits, got {tx_hash!r}")
    return tx_hash


def check_identifier(value: str, what: str) -> str:
    """``value`` if it is a 1..128 character identifier (letters, digits, ``. _ : -``).

    Raises:
        InvalidRegistryRequestError: empty, too long, or other characters.
    """
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        raise InvalidRegistryRequestError(
            f"{what} must be 1-128 characters of A-Z a-z 0-9 . _ : -, got {value!r}"
        )
    return value


def check_text(value: str, what: str, max_length: int = 500) -> str:
    """``value`` if it is non-blank text of at most ``max_length`` characters.

    Raises:
        InvalidRegistryRequestError: blank or too long.
    """
    if not isinstance(value, str) or not value.strip() or len(value) > max_length:
        raise InvalidRegistryRequestError(f"{what} must be 1-{max_length} characters of text")
    return value
