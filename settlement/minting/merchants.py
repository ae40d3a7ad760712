"""Where each merchant is paid: its EVM address, read from the ``merchants`` table.

The settlement package never imports the API (dependencies point one way), so the table is
named here by its columns only. A caller with another source passes its own
:data:`MerchantAddresses` to the minter.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping

from sqlalchemy import String, Uuid, column, select, table
from sqlalchemy.orm import Session
from web3 import Web3

MerchantAddresses = Callable[[Session, Collection[str]], Mapping[str, str]]
"""``(session, merchant ids) -> {merchant id: EIP-55 address}``; unknown ids are left out. A
stored value that is no address is passed through as it is: the minter refuses that payment
alone (``error`` with the reason) instead of failing the whole claim."""

_merchants = table("merchants", column("id", Uuid), column("evm_address", String))


def merchant_addresses_from_table(session: Session, merchant_ids: Collection[str]) -> Mapping[str, str]:
    """The EVM addresses of the onboarded merchants among ``merchant_ids`` (UUID strings)."""
    wanted: dict[uuid.UUID, str] = {}
    for merchant_id in merchant_ids:
        try:
            wanted[uuid.UUID(merchant_id)] = merchant_id
        except ValueError:
            continue  # not an onboarded merchant's id: left out, the caller reports it
    if not wanted:
        return {}
    rows = session.execute(
        select(_merchants.c.id, _merchants.c.evm_address).where(_merchants.c.id.in_(wanted))
    )
    return {wanted[row.id]: _checksummed(str(row.evm_address)) for row in rows}


def _checksummed(address: str) -> str:
    return Web3.to_checksum_address(address) if Web3.is_address(address) else address
