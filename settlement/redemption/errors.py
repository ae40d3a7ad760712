"""Errors of redemptions, each built from what it is about."""

from __future__ import annotations

import uuid

from common.errors import ConflictError, NotFoundError, ValidationError


class InvalidAuthorizationError(ValidationError):
    """The EIP-3009 authorization is not the merchant's signature for this redemption."""

    code = "invalid_authorization"

    def __init__(self, why: str, **details: object) -> None:
        super().__init__(f"the redemption authorization is not valid: {why}", **details)


class InsufficientBalanceError(ValidationError):
    """The merchant holds less MSC than it asks to redeem."""

    code = "insufficient_balance"

    def __init__(self, address: str, balance: int, amount: int) -> None:
        super().__init__(
            f"{address} holds {balance} sen of MSC, less than the {amount} sen it asks to redeem",
            address=address,
            balance=balance,
            amount=amount,
        )


class AuthorizationUsedError(ConflictError):
    """The authorization's nonce was already used or cancelled on-chain."""

    code = "authorization_used"

    def __init__(self, address: str, nonce: str, payout_id: uuid.UUID | None = None) -> None:
        where = f"by payout {payout_id}" if payout_id else "on-chain"
        super().__init__(
            f"authorization nonce {nonce} of {address} was already used {where}; sign a new one",
            address=address,
            nonce=nonce,
            payout_id=str(payout_id) if payout_id else None,
        )


class RedemptionNotFoundError(NotFoundError):
    """A payout has no on-chain redemption record (it was not created by a redemption)."""

    code = "redemption_missing"

    def __init__(self, payout_id: uuid.UUID) -> None:
        super().__init__(f"payout {payout_id} has no redemption record", payout_id=str(payout_id))


class RedemptionIntentNotFoundError(NotFoundError):
    """No redemption intent has this id."""

    code = "redemption_intent_missing"

    def __init__(self, intent_id: uuid.UUID) -> None:
        super().__init__(f"redemption intent {intent_id} does not exist", intent_id=str(intent_id))


class RedemptionAbandonedError(ConflictError):
    """The redemption under this key was abandoned: its relay never happened and never will."""

    code = "redemption_abandoned"

    def __init__(self, key: str, intent_id: uuid.UUID) -> None:
        super().__init__(
            f"the redemption under key {key!r} was abandoned (nothing moved); sign a new authorization "
            "and use a new key",
            key=key,
            intent_id=str(intent_id),
        )
