"""Errors of custody, each built from the key or merchant it is about.

No message or detail ever carries key material: only key ids, merchant ids and addresses.
"""

from __future__ import annotations

import uuid

from common.errors import ConflictError, MSCError, NotFoundError, ValidationError


class CustodyKeyNotFoundError(NotFoundError):
    """No custodial key has this id (or the merchant has no current one)."""

    code = "custody_key_not_found"

    def __init__(self, what: str, **details: object) -> None:
        super().__init__(f"no custodial key {what}", **details)


class CustodyKeyExistsError(ConflictError):
    """The merchant already has a current custodial key: rotate it instead of creating another."""

    code = "custody_key_exists"

    def __init__(self, merchant_id: uuid.UUID) -> None:
        super().__init__(
            f"merchant {merchant_id} already has a custodial key; rotate it instead",
            merchant_id=str(merchant_id),
        )


class CustodyKeyUnavailableError(MSCError):
    """A stored key cannot be opened: the master key that wrapped it is not configured, or the
    row was altered (moved to another merchant, swapped with another key, corrupted)."""

    code = "custody_key_unavailable"
    status_code = 500

    def __init__(self, key_id: uuid.UUID, why: str) -> None:
        super().__init__(f"custodial key {key_id} cannot be opened: {why}", key_id=str(key_id))


class CustodySigningRefusedError(ValidationError):
    """The custodial key is asked to sign something it must not (another sender, another type)."""

    code = "custody_signing_refused"

    def __init__(self, key_id: uuid.UUID, why: str) -> None:
        super().__init__(f"custodial key {key_id} does not sign this: {why}", key_id=str(key_id))
