"""The two columns of ``merchants`` this package reads and writes, without importing the API's
model (domain packages do not depend on ``api``; :mod:`settlement.minting.merchants` does the same)."""

from __future__ import annotations

import uuid

from sqlalchemy import String, Uuid, column, select, table, update
from sqlalchemy.orm import Session
from web3 import Web3

from common.errors import NotFoundError

_merchants = table("merchants", column("id", Uuid), column("evm_address", String))


class MerchantMissingError(NotFoundError):
    """No merchant has this id."""

    code = "merchant_not_found"

    def __init__(self, merchant_id: uuid.UUID) -> None:
        super().__init__(f"merchant {merchant_id} does not exist", merchant_id=str(merchant_id))


def address_of(session: Session, merchant_id: uuid.UUID) -> str:
    """The merchant's EIP-55 address on file (where new payments settle).

    Raises:
        MerchantMissingError: no such merchant.
    """
    found = session.scalar(select(_merchants.c.evm_address).where(_merchants.c.id == merchant_id))
    if found is None:
        raise MerchantMissingError(merchant_id)
    return Web3.to_checksum_address(str(found))


def move_address(session: Session, merchant_id: uuid.UUID, old: str, new: str) -> bool:
    """Points the merchant's address on file from ``old`` to ``new`` (conditional: False if it
    was not ``old``), in the caller's transaction."""
    result = session.execute(
        update(_merchants)
        .where(_merchants.c.id == merchant_id, _merchants.c.evm_address == old)
        .values(evm_address=new)
    )
    return bool(getattr(result, "rowcount", 0) == 1)
