"""Errors of a merchant's money, each built from what it is about (never a secret in a message)."""

from __future__ import annotations

import uuid

from common.errors import ConflictError, NotFoundError, ValidationError


class BankAccountInvalidError(ValidationError):
    """The bank account entered cannot be a payout destination (a field is malformed)."""

    code = "bank_account_invalid"

    def __init__(self, field: str, why: str) -> None:
        super().__init__(f"the bank account's {field.replace('_', ' ')} {why}", field=field)


class BankAccountMissingError(ConflictError):
    """The merchant has no bank account on file, so a payout has nowhere to go."""

    code = "bank_account_missing"

    def __init__(self, merchant_id: uuid.UUID) -> None:
        super().__init__(
            f"merchant {merchant_id} has no bank account on file; add one before redeeming",
            merchant_id=str(merchant_id),
        )


class BankAccountChangedError(ConflictError):
    """The bank account changed while the form was open (two owners at once): reload and retry."""

    code = "bank_account_changed"

    def __init__(self, merchant_id: uuid.UUID) -> None:
        super().__init__(
            f"the bank account of merchant {merchant_id} was changed meanwhile; reload the page",
            merchant_id=str(merchant_id),
        )


class NoticeNotFoundError(NotFoundError):
    """No notice with this id for this owner."""

    code = "notice_not_found"

    def __init__(self, notice_id: uuid.UUID) -> None:
        super().__init__(f"notice {notice_id} does not exist", notice_id=str(notice_id))


class AmountInvalidError(ValidationError):
    """An amount typed in Rupiah is not a positive whole number of sen the wallet can cover."""

    code = "amount_invalid"

    def __init__(self, why: str) -> None:
        super().__init__(f"the amount {why}", field="amount")


class NotCustodialError(ConflictError):
    """The action needs the merchant's platform-managed wallet, and it has none (its own wallet)."""

    code = "not_custodial"

    def __init__(self, merchant_id: uuid.UUID) -> None:
        super().__init__(
            f"merchant {merchant_id} uses its own wallet; sign with it instead", merchant_id=str(merchant_id)
        )


class DestinationRefusedError(ValidationError):
    """MSC cannot be sent to this address (a platform contract, the zero address, custody itself)."""

    code = "destination_refused"

    def __init__(self, address: str, why: str) -> None:
        super().__init__(f"MSC cannot be moved to {address}: {why}", field="destination", address=address)


class NothingToMoveError(ConflictError):
    """The custodial address holds no MSC to move."""

    code = "nothing_to_move"

    def __init__(self, address: str) -> None:
        super().__init__(f"{address} holds no MSC to move", address=address)


class WalletMoveConflictError(ConflictError):
    """The same form submission (idempotency key) was already used for another move."""

    code = "wallet_move_conflict"

    def __init__(self, key: str) -> None:
        super().__init__(f"the submission {key!r} was used for another move; reload the page", key=key)
