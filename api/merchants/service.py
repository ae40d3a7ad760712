"""Onboarding and reading merchants."""

from __future__ import annotations

import uuid

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.auth import IssuedKey, issue_key
from api.merchants.models import Merchant
from api.merchants.schemas import MerchantCreate
from api.models import Role
from common.errors import ConflictError, NotFoundError
from common.sql.helpers import utcnow


class MerchantNotFoundError(NotFoundError):
    """No merchant with this id (or not one the caller may see)."""

    code = "merchant_not_found"

    def __init__(self, merchant_id: uuid.UUID) -> None:
        super().__init__(f"merchant {merchant_id} does not exist", merchant_id=str(merchant_id))


class MerchantExistsError(ConflictError):
    """Another merchant already uses this EVM address or Pi username."""

    code = "merchant_exists"

    def __init__(self, evm_address: str, pi_username: str) -> None:
        super().__init__(
            f"a merchant with address {evm_address} or Pi username {pi_username!r} already exists",
            evm_address=evm_address,
            pi_username=pi_username,
        )


def create(session: Session, data: MerchantCreate) -> tuple[Merchant, IssuedKey]:
    """Adds a merchant and issues its first API key, in the caller's transaction.

    Raises:
        MerchantExistsError: the address or Pi username is taken.
    """
    taken = session.scalars(
        select(Merchant.id).where(
            or_(Merchant.evm_address == data.evm_address, Merchant.pi_username == data.pi_username)
        )
    ).first()
    if taken is not None:
        raise MerchantExistsError(data.evm_address, data.pi_username)
    merchant = Merchant(id=uuid.uuid4(), created_at=utcnow(), **data.model_dump())
    session.add(merchant)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent onboarding won the unique index
        raise MerchantExistsError(data.evm_address, data.pi_username) from exc
    return merchant, issue_key(session, Role.MERCHANT, merchant.id)


def get(session: Session, merchant_id: uuid.UUID) -> Merchant:
    """The merchant with ``merchant_id``.

    Raises:
        MerchantNotFoundError: none.
    """
    merchant = session.get(Merchant, merchant_id)
    if merchant is None:
        raise MerchantNotFoundError(merchant_id)
    return merchant
