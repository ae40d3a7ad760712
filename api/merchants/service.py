"""Onboarding, reading, suspending and reinstating merchants.

A suspended merchant cannot be paid: :func:`ensure_active` is called, in the transaction that
records it, by everything that starts a payment to a merchant (quote creation for its keys,
``POST /v1/payments``, the hosted checkout's pages, quotes and approvals).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.auth import IssuedKey, issue_key
from api.merchants.models import Merchant, MerchantStatus, MerchantStatusChange
from api.merchants.schemas import MerchantCreate
from api.models import Role
from city.kelurahan import lookup as lookup_kelurahan
from common.errors import ConflictError, NotFoundError, ValidationError
from common.sql.helpers import utcnow
from custody.keystore import KeyManager

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


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


class MerchantSuspendedError(ConflictError):
    """The merchant is suspended by an operator and cannot be paid until reinstated."""

    code = "merchant_suspended"

    def __init__(self, merchant_id: uuid.UUID) -> None:
        super().__init__(
            f"merchant {merchant_id} is suspended and cannot be paid", merchant_id=str(merchant_id)
        )


class MerchantAddressRefusedError(ValidationError):
    """The address cannot be a merchant's: MSC paid there would be lost or locked."""

    code = "merchant_address_refused"

    def __init__(self, address: str, why: str) -> None:
        super().__init__(f"{address} cannot be a merchant's address: {why}", field="evm_address")


class CustodyUnavailableError(ConflictError):
    """Custodial wallets are not offered by this deployment (no custody master key configured)."""

    code = "custody_unavailable"

    def __init__(self) -> None:
        super().__init__(
            "custodial wallets are not available: set MSC_CUSTODY_MASTER_KEY, or give the merchant's own "
            "evm_address"
        )


def check_address(address: str, platform_addresses: frozenset[str]) -> None:
    """Refuses the zero address and the platform's own contracts (the MSC token, the escrow...).

    Raises:
        MerchantAddressRefusedError: it is one of them.
    """
    if address == ZERO_ADDRESS:
        raise MerchantAddressRefusedError(address, "it is the zero address (MSC sent there is burned)")
    if address in platform_addresses:
        raise MerchantAddressRefusedError(address, "it is a contract of the platform, not a wallet")


def create(
    session: Session,
    data: MerchantCreate,
    *,
    keys: KeyManager | None = None,
    platform_addresses: frozenset[str] = frozenset(),
) -> tuple[Merchant, IssuedKey]:
    """Adds a merchant and issues its first API key, in the caller's transaction.

    With ``data.custody`` the merchant's wallet is created by ``keys`` in the same transaction and
    its address becomes the merchant's: the row is inserted with a placeholder address (unique per
    merchant, never committed: the custodial key's foreign key needs the merchant row first) that
    the key's address replaces before the transaction ends.

    ``data.kelurahan`` is one of the city's kelurahan by name (any case or spacing) or Kemendagri
    code; the merchant stores its official name and its code (reports group by the code).

    Raises:
        UnknownKelurahanError: the kelurahan is not one of the city's (checked before anything is written).
        MerchantAddressRefusedError: the address is the zero address or a platform contract.
        CustodyUnavailableError: custody asked for and no key manager is configured.
        MerchantExistsError: the address or Pi username is taken.
    """
    place = lookup_kelurahan(data.kelurahan)
    if data.evm_address is not None:
        check_address(data.evm_address, platform_addresses)
    if data.custody and keys is None:
        raise CustodyUnavailableError()
    merchant_id = uuid.uuid4()
    address = data.evm_address or "0x" + merchant_id.hex + "0" * 8
    taken = session.scalars(
        select(Merchant.id).where(
            or_(Merchant.evm_address == address, Merchant.pi_username == data.pi_username)
        )
    ).first()
    if taken is not None:
        raise MerchantExistsError(address, data.pi_username)
    merchant = Merchant(
        id=merchant_id,
        created_at=utcnow(),
        evm_address=address,
        kelurahan=place.name,
        kelurahan_code=place.code,
        **data.model_dump(exclude={"evm_address", "custody", "kelurahan"}),
    )
    session.add(merchant)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent onboarding won the unique index
        raise MerchantExistsError(address, data.pi_username) from exc
    if data.custody:
        assert keys is not None  # checked above
        merchant.evm_address = keys.create_key(session, merchant_id).address
        session.flush()
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


def ensure_active(session: Session, merchant_id: uuid.UUID) -> Merchant:
    """The merchant, if it may be paid.

    Raises:
        MerchantNotFoundError: none.
        MerchantSuspendedError: it is suspended.
    """
    merchant = get(session, merchant_id)
    if merchant.status != MerchantStatus.ACTIVE:
        raise MerchantSuspendedError(merchant_id)
    return merchant


def suspend(
    session: Session, merchant_id: uuid.UUID, reason: str, api_key_id: uuid.UUID, now: datetime | None = None
) -> Merchant:
    """Stops the merchant being paid (``active -> suspended``); suspending twice is harmless.

    Payments already made are untouched: they settle, and their MSC stays the merchant's.

    Raises:
        MerchantNotFoundError: none.
    """
    return _move(
        session, merchant_id, MerchantStatus.ACTIVE, MerchantStatus.SUSPENDED, reason, api_key_id, now
    )


def reinstate(
    session: Session, merchant_id: uuid.UUID, reason: str, api_key_id: uuid.UUID, now: datetime | None = None
) -> Merchant:
    """Lets a suspended merchant be paid again (``suspended -> active``); harmless if active.

    Raises:
        MerchantNotFoundError: none.
    """
    return _move(
        session, merchant_id, MerchantStatus.SUSPENDED, MerchantStatus.ACTIVE, reason, api_key_id, now
    )


def history(session: Session, merchant_id: uuid.UUID) -> list[MerchantStatusChange]:
    """The merchant's status moves, oldest first."""
    get(session, merchant_id)
    return list(
        session.scalars(
            select(MerchantStatusChange)
            .where(MerchantStatusChange.merchant_id == merchant_id)
            .order_by(MerchantStatusChange.id)
        )
    )


def _move(
    session: Session,
    merchant_id: uuid.UUID,
    source: MerchantStatus,
    target: MerchantStatus,
    reason: str,
    api_key_id: uuid.UUID,
    now: datetime | None,
) -> Merchant:
    """One conditional move with its history row, in the caller's transaction.

    Of concurrent moves exactly one matches ``WHERE status = :source``; the others (and a move to
    the status the merchant already has) change nothing and write no history.
    """
    if not reason.strip():
        raise ValidationError("give the reason")
    now = now or utcnow()
    merchant = get(session, merchant_id)
    result = session.execute(
        update(Merchant)
        .where(Merchant.id == merchant_id, Merchant.status == source)
        .values(status=target)
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, CursorResult)
    if result.rowcount == 1:
        session.add(
            MerchantStatusChange(
                merchant_id=merchant_id,
                from_status=source,
                to_status=target,
                reason=reason.strip(),
                api_key_id=api_key_id,
                at=now,
            )
        )
        session.flush()
    session.refresh(merchant)
    return merchant
