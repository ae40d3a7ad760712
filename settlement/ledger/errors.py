"""Errors of the ledger, each built from what it is about."""

from __future__ import annotations

from common.errors import ConflictError, NotFoundError, ValidationError


class UnbalancedEntryError(ValidationError):
    """An entry's postings do not sum to zero, or it has fewer than two."""

    code = "ledger_entry_unbalanced"

    def __init__(self, key: str, currency: str, total: int, legs: int) -> None:
        super().__init__(
            f"journal entry {key!r} in {currency} must have at least 2 postings summing to 0; "
            f"it has {legs} summing to {total}",
            idempotency_key=key,
            currency=currency,
            total=total,
            postings=legs,
        )


class CurrencyMismatchError(ValidationError):
    """A posting names an account of another currency than its entry."""

    code = "ledger_currency_mismatch"

    def __init__(self, key: str, account: str, account_currency: str, entry_currency: str) -> None:
        super().__init__(
            f"journal entry {key!r} is in {entry_currency} but account {account!r} is in "
            f"{account_currency}; one entry holds one currency",
            idempotency_key=key,
            account=account,
        )


class IdempotencyConflictError(ConflictError):
    """An idempotency key was already used for an entry with different content."""

    code = "ledger_idempotency_conflict"

    def __init__(self, key: str, existing_entry_id: int) -> None:
        super().__init__(
            f"idempotency key {key!r} was already used by entry {existing_entry_id} with different "
            "postings; a replay must repeat the same content",
            idempotency_key=key,
            entry_id=existing_entry_id,
        )


class AccountNotFoundError(NotFoundError):
    """No account has this code in this currency."""

    code = "ledger_account_not_found"

    def __init__(self, code: str, currency: str) -> None:
        super().__init__(f"no ledger account {code!r} in {currency}", account=code, currency=currency)


class AccountKindConflictError(ConflictError):
    """An account exists with the same code and currency but another kind or owner."""

    code = "ledger_account_conflict"

    def __init__(self, code: str, currency: str, existing_kind: str, wanted_kind: str) -> None:
        super().__init__(
            f"ledger account {code!r} in {currency} exists as {existing_kind}, not {wanted_kind}",
            account=code,
            currency=currency,
        )
